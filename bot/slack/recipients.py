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
from dataclasses import dataclass

from bot.slack.authorization import Directory, LookupFailed
from bot.slack.mrkdwn import is_user_id
from bot.slack.pauses import Pause

log = logging.getLogger(__name__)

DM_LABEL = "slack-dm-assignees"
MAX_RECIPIENTS = 50  # a group of hundreds is a channel's job, not a burst of direct messages

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
    def __init__(self, directory: Directory) -> None:
        self.directory = directory

    async def assignees(self, pause: Pause) -> Recipients:
        users, groups = pause.assignees
        found: list[str] = []
        skipped: list[str] = []
        for entry in users:
            entry = entry.strip()
            if is_user_id(entry):
                found.append(entry)
            elif "@" in entry:
                user_id = await self.directory.user_id_by_email(entry)
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
