"""Who may decide a pause in Slack.

A Pause's ``assignment`` (Kestra EE's HumanTask shape) lists ``users`` and ``groups``:

- users: Slack user ids (``U…``/``W…``) or e-mail addresses (compared with the clicker's Slack
  profile e-mail, which needs the ``users:read.email`` scope);
- groups: Slack user group ids (``S…``, members from ``usergroups.users.list``) or user group
  handles (``sre`` or ``@sre``, resolved with ``usergroups.list``).

Anything else never matches (fail closed). With ``PAUSEBOT_FORBID_SELF_APPROVAL`` the person who
started the execution (``startedBy`` id or e-mail) may not decide it. Lookups are cached for a
few minutes; a lookup that fails refuses rather than guesses.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack import texts
from bot.slack.mrkdwn import assignee, is_group_id, is_user_id
from bot.slack.pauses import Pause

log = logging.getLogger(__name__)

USER_TTL = 300.0
GROUP_TTL = 60.0


@dataclass(frozen=True)
class SlackUser:
    id: str
    name: str
    email: str | None = None

    def actor(self) -> dict[str, Any]:
        """``outputs.<pause>.resumed.by``: the Slack user's id and name."""
        return {"id": self.id, "name": self.name}


@dataclass(frozen=True)
class Refusal:
    code: str  # not_assigned | self_approval | lookup_failed
    text: str  # mrkdwn, for the person refused
    log_text: str  # plain, for the execution's log


class LookupFailed(Exception):
    def __init__(self, error: str) -> None:
        self.error = error
        super().__init__(error)


class Directory:
    """Cached users.info / usergroups lookups."""

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client
        self._users: dict[str, tuple[float, SlackUser]] = {}
        self._groups: dict[str, tuple[float, frozenset[str]]] = {}
        self._handles: tuple[float, dict[str, str]] | None = None
        self._emails: dict[str, tuple[float, str | None]] = {}

    async def user(
        self, user_id: str, *, fallback_name: str | None = None, strict: bool = False
    ) -> SlackUser:
        """The user's name (and e-mail). ``strict`` raises ``LookupFailed`` instead of
        falling back to ``fallback_name`` when Slack cannot say."""
        cached = self._users.get(user_id)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        try:
            response = await self.client.users_info(user=user_id)
        except (SlackApiError, SlackClientError, OSError) as error:
            log.warning("users.info %s failed: %s", user_id, _error_code(error))
            if strict:
                raise LookupFailed(_error_code(error)) from None
            # A name is still needed to record the decision; the id stays authoritative.
            return SlackUser(user_id, fallback_name or user_id)
        data = response.get("user") or {}
        profile = data.get("profile") or {}
        name = (
            profile.get("display_name")
            or profile.get("real_name")
            or data.get("real_name")
            or data.get("name")
            or fallback_name
            or user_id
        )
        user = SlackUser(user_id, str(name), profile.get("email"))
        self._users[user_id] = (time.monotonic() + USER_TTL, user)
        return user

    async def user_id_by_email(self, email: str) -> str | None:
        """The Slack id of the profile with this e-mail (``users.lookupByEmail``), or None."""
        key = email.strip().lower()
        cached = self._emails.get(key)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        try:
            response = await self.client.users_lookupByEmail(email=key)
            user_id: str | None = str((response.get("user") or {}).get("id") or "") or None
        except (SlackApiError, SlackClientError, OSError) as error:
            if _error_code(error) != "users_not_found":
                log.warning("users.lookupByEmail failed: %s", _error_code(error))
                return None  # not cached: a passing failure
            user_id = None
        self._emails[key] = (time.monotonic() + USER_TTL, user_id)
        return user_id

    async def people(self, emails: list[str]) -> dict[str, str]:
        """E-mail (lower case) -> Slack id, for the addresses Slack knows."""
        found = {}
        for email in dict.fromkeys(emails):
            user_id = await self.user_id_by_email(email)
            if user_id:
                found[email.lower()] = user_id
        return found

    async def group_members(self, group: str) -> frozenset[str]:
        """Member ids of a user group given by id or handle. Raises ``LookupFailed``."""
        group_id = group if is_group_id(group) else await self._group_id(group)
        if group_id is None:
            return frozenset()
        cached = self._groups.get(group_id)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        try:
            response = await self.client.usergroups_users_list(usergroup=group_id)
        except (SlackApiError, SlackClientError, OSError) as error:
            raise LookupFailed(_error_code(error)) from None
        members = frozenset(str(u) for u in response.get("users") or [])
        self._groups[group_id] = (time.monotonic() + GROUP_TTL, members)
        return members

    async def _group_id(self, handle: str) -> str | None:
        if self._handles is None or self._handles[0] <= time.monotonic():
            try:
                response = await self.client.usergroups_list()
            except (SlackApiError, SlackClientError, OSError) as error:
                raise LookupFailed(_error_code(error)) from None
            handles = {
                str(g.get("handle", "")).lower(): str(g.get("id"))
                for g in response.get("usergroups") or []
                if g.get("id")
            }
            self._handles = (time.monotonic() + GROUP_TTL, handles)
        return self._handles[1].get(handle.lstrip("@").lower())


class Gatekeeper:
    def __init__(self, directory: Directory, *, forbid_self_approval: bool) -> None:
        self.directory = directory
        self.forbid_self_approval = forbid_self_approval

    async def check(self, user_id: str, pause: Pause) -> Refusal | None:
        """None when ``user_id`` may decide ``pause``, else why not."""
        try:
            if self._needs_email(pause):
                user = await self.directory.user(user_id, strict=True)
            else:
                user = SlackUser(user_id, user_id)
        except LookupFailed as failure:
            return _lookup_refusal(failure)
        if self.forbid_self_approval and _started_by(pause, user):
            return Refusal(
                "self_approval", texts.refused_self_approval(), "they started the execution"
            )
        users, groups = pause.assignees
        if not users and not groups:
            return None
        if user_id in users:
            return None
        if user.email and user.email.lower() in {u.lower() for u in users if "@" in u}:
            return None
        for group in groups:
            try:
                if user_id in await self.directory.group_members(group):
                    return None
            except LookupFailed as failure:
                return _lookup_refusal(failure)
        named = [assignee(entry) for entry in [*users, *groups]]
        return Refusal("not_assigned", texts.refused_not_assigned(named), "not among the assignees")

    def _needs_email(self, pause: Pause) -> bool:
        users, _ = pause.assignees
        started = pause.execution.startedBy or {}
        return any("@" in u for u in users) or (
            self.forbid_self_approval and bool(started.get("email"))
        )


def _lookup_refusal(failure: LookupFailed) -> Refusal:
    return Refusal(
        "lookup_failed",
        texts.refused_lookup_failed(failure.error),
        f"the assignment could not be checked ({failure.error})",
    )


def _started_by(pause: Pause, user: SlackUser) -> bool:
    started = pause.execution.startedBy or {}
    if str(started.get("id") or "") == user.id:
        return True
    email = started.get("email")
    return bool(email and user.email and str(email).lower() == user.email.lower())


def _error_code(error: BaseException) -> str:
    if isinstance(error, SlackApiError):
        return str(error.response.get("error") or error.response.status_code)
    return type(error).__name__


__all__ = ["Directory", "Gatekeeper", "LookupFailed", "Refusal", "SlackUser", "is_user_id"]
