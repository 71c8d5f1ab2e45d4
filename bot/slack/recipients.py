"""Who is sent a direct message about a pause: its assignees, as Slack user ids.

A Pause's or Approval's ``assignment`` lists ``users`` (Slack user ids, or e-mail addresses,
resolved with ``users.lookupByEmail``) and ``groups`` (user group ids or handles, expanded with
``usergroups.users.list``). Direct messages are on by default when there is an assignment;
``PAUSEBOT_SLACK_DM_ASSIGNEES=false`` turns them off everywhere, and a flow (or execution) label
``slack-dm-assignees: false`` for one flow (``true`` turns them on for a flow when the setting
is off).

What cannot be resolved (an unknown address, a group Slack cannot list) is skipped and logged:
the channel message still reaches everyone, and a direct message is a convenience on top.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.authorization import Directory, LookupFailed
from bot.slack.mrkdwn import is_user_id
from bot.slack.pauses import Pause

log = logging.getLogger(__name__)

DM_LABEL = "slack-dm-assignees"
MAX_RECIPIENTS = 50  # a group of hundreds is a channel's job, not a burst of direct messages
EMAIL_TTL = 300.0

_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})


def direct_messages_wanted(pause: Pause, *, default: bool) -> bool:
    users, groups = pause.assignees
    if not users and not groups:
        return False
    label = (pause.execution.label_map().get(DM_LABEL) or "").strip().lower()
    if label in _FALSE:
        return False
    if label in _TRUE:
        return True
    return default


@dataclass(frozen=True)
class Recipients:
    user_ids: tuple[str, ...]
    skipped: tuple[str, ...] = ()  # entries that could not be resolved, with why


class RecipientFinder:
    def __init__(self, client: AsyncWebClient, directory: Directory) -> None:
        self.client = client
        self.directory = directory
        self._emails: dict[str, tuple[float, str | None]] = {}

    async def assignees(self, pause: Pause) -> Recipients:
        users, groups = pause.assignees
        found: list[str] = []
        skipped: list[str] = []
        for entry in users:
            entry = entry.strip()
            if is_user_id(entry):
                found.append(entry)
            elif "@" in entry:
                user_id = await self._by_email(entry)
                if user_id:
                    found.append(user_id)
                else:
                    skipped.append(f"{entry} (no Slack user with this e-mail)")
            else:
                skipped.append(f"{entry} (neither a Slack user id nor an e-mail)")
        for group in groups:
            try:
                members = await self.directory.group_members(group.strip())
            except LookupFailed as failure:
                skipped.append(f"{group} (user group lookup failed: {failure.error})")
                continue
            if not members:
                skipped.append(f"{group} (no such user group, or it is empty)")
            found.extend(sorted(members))
        unique = list(dict.fromkeys(found))
        if len(unique) > MAX_RECIPIENTS:
            skipped.append(f"{len(unique) - MAX_RECIPIENTS} more assignees (over {MAX_RECIPIENTS})")
            unique = unique[:MAX_RECIPIENTS]
        return Recipients(tuple(unique), tuple(skipped))

    async def _by_email(self, email: str) -> str | None:
        key = email.lower()
        cached = self._emails.get(key)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        try:
            response = await self.client.users_lookupByEmail(email=email)
        except SlackApiError as error:
            code = str(error.response.get("error") or "")
            if code != "users_not_found":
                log.warning("users.lookupByEmail failed: %s", code)
                return None  # not cached: it may work next time
            user_id = None
        except (SlackClientError, OSError) as error:
            log.warning("users.lookupByEmail failed: %s", type(error).__name__)
            return None
        else:
            user_id = str((response.get("user") or {}).get("id") or "") or None
        self._emails[key] = (time.monotonic() + EMAIL_TTL, user_id)
        return user_id
