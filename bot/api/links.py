"""Signed resume links: the secret, the ``pause`` expression names, and deciding with a link.

``{PAUSEBOT_PUBLIC_URL}/resume/{token}`` names one paused task run (a Pause or an Approval)
and an action (resume, approve, reject). A GET shows a form and never decides (link scanners open links); a POST
decides, through :func:`resume_with_link`, whether it comes from the web form or from a system
that was handed the link and POSTs JSON (the routes are the web UI's, in ``bot/ui``).

Flows get the links in their expressions as ``pause.resumeUrl``, ``pause.approveUrl`` and
``pause.rejectUrl`` (plus ``pause.expiresAt``, ``pause.taskId``, ``pause.taskRunId``), for the
pause being waited on: the Pause's own ``description``, its ``onPause`` task, or any task that
runs while the execution has a paused task run (a sibling in a Parallel). Tokens are minted only
when a template reads them.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Iterator, Mapping
from typing import Any

from bot.config import Settings
from bot.links import LinkSigner, ResumeLink
from engine.clock import iso
from engine.engine import Engine
from engine.errors import ConflictError
from engine.executor import ContextHook
from engine.inputs import InputType
from engine.model import Execution, TaskRun
from engine.states import TERMINAL, State
from engine.tasks.approval import ApprovalTask, ReviewDecision, comment_required
from engine.tasks.pause import PauseTask

log = logging.getLogger(__name__)

Actor = dict[str, Any]
LinkTask = PauseTask | ApprovalTask  # what a link can decide
# A link's action on an Approval: approve approves, reject denies (resume cannot decide one).
APPROVAL_CHOICES = {"approve": "approve", "reject": "deny"}
LINK_ACTOR: Actor = {"id": "link", "name": "someone with the link"}


# -- the secret -----------------------------------------------------------------------------


def link_secret(settings: Settings) -> bytes:
    """PAUSEBOT_LINK_SECRET; else derived from PAUSEBOT_API_TOKEN (so replicas sharing the token
    share links); else random, which breaks every link handed out when the process restarts."""
    if settings.link_secret is not None:
        return settings.link_secret.get_secret_value().encode()
    if settings.api_token is not None:
        # Derived, not the token itself: a leaked link key must not be an API token.
        token = settings.api_token.get_secret_value().encode()
        return hashlib.sha256(b"pausebot-link-secret\x00" + token).digest()
    log.warning(
        "neither PAUSEBOT_LINK_SECRET nor PAUSEBOT_API_TOKEN is set: resume links use a random "
        "secret and stop working when this process restarts"
    )
    return secrets.token_bytes(32)


def make_link_signer(settings: Settings) -> LinkSigner:
    return LinkSigner(link_secret(settings), settings.link_ttl_delta)


def link_urls(
    engine: Engine, signer: LinkSigner, execution_id: str, task_run_id: str
) -> dict[str, str]:
    """Fresh links for one paused task run: ``resumeUrl``, ``approveUrl``, ``rejectUrl``."""
    now = engine.clock.now()
    base = engine.settings.public_url.rstrip("/")
    return {
        f"{action}Url": f"{base}/resume/{signer.mint(execution_id, task_run_id, action, now=now)}"
        for action in ("resume", "approve", "reject")
    }


# -- the expression context -----------------------------------------------------------------


class PauseLinks(Mapping[str, Any]):
    """``pause.*`` in expressions. Lazy: most renders never read it, and minting needs the flow."""

    def __init__(
        self, engine: Engine, signer: LinkSigner, execution: Execution, run: TaskRun | None
    ) -> None:
        self._engine, self._signer = engine, signer
        self._execution, self._run = execution, run
        self._values: dict[str, Any] | None = None

    def _target(self) -> TaskRun | None:
        execution, run = self._execution, self._run
        flow = self._engine.flow_of(execution)
        # The run itself while its Pause starts (rendering the description), then its parents:
        # an onPause task's parent is the paused run.
        if (
            run is not None
            and run.state.current not in TERMINAL
            and isinstance(flow.find_task(run.taskId), (PauseTask, ApprovalTask))
        ):
            return run
        candidate = run
        while candidate is not None:
            if candidate.state.current == State.PAUSED:
                return candidate
            parent = candidate.parentTaskRunId
            candidate = execution.task_run(parent) if parent else None
        for paused in execution.paused_task_runs():
            if isinstance(flow.find_task(paused.taskId), (PauseTask, ApprovalTask)):
                return paused
        return None

    def _resolve(self) -> dict[str, Any]:
        if self._values is None:
            target = self._target()
            if target is None:
                self._values = {}
            else:
                self._values = {
                    **link_urls(self._engine, self._signer, self._execution.id, target.id),
                    "expiresAt": iso(self._engine.clock.now() + self._signer.ttl),
                    "taskId": target.taskId,
                    "taskRunId": target.id,
                }
        return self._values

    def __getitem__(self, key: str) -> Any:
        return self._resolve()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._resolve())

    def __len__(self) -> int:
        return len(self._resolve())

    def __repr__(self) -> str:
        # printContext and logs must not spill live links.
        return "<pause links>"


def pause_links_hook(engine: Engine, signer: LinkSigner) -> ContextHook:
    def hook(execution: Execution, run: TaskRun | None) -> dict[str, Any]:
        return {"pause": PauseLinks(engine, signer, execution, run)}

    return hook


# -- deciding with a link -------------------------------------------------------------------


def read_link(
    state: Any, token: str
) -> tuple[ResumeLink, Execution, LinkTask | None, TaskRun | None]:
    """Verifies the token and loads what it points at, deciding nothing (for the GET page).

    Raises ``LinkError`` (403 tampered or malformed, 410 expired) and ``ExecutionNotFound``.
    The task and run are None when the execution has no such Pause or Approval task run any
    more.
    """
    engine: Engine = state.engine
    signer: LinkSigner = state.links
    link = signer.verify(token, now=engine.clock.now())
    execution = engine.get_execution(link.execution_id)
    run = execution.task_run(link.task_run_id)
    task = engine.flow_of(execution).find_task(run.taskId) if run is not None else None
    if not isinstance(task, (PauseTask, ApprovalTask)):
        return link, execution, None, None
    return link, execution, task, run


def link_inputs(task: LinkTask | None) -> list[Any]:
    """The form a link asks for: a Pause's ``onResume``, an Approval's review ``inputs``."""
    if isinstance(task, ApprovalTask):
        return list(task.inputs or [])
    return list(task.onResume or []) if task is not None else []


def link_comment_required(task: LinkTask | None, action: str) -> bool:
    """Whether this link's decision needs the reviewer's comment (an Approval's rule)."""
    if not isinstance(task, ApprovalTask) or action not in APPROVAL_CHOICES:
        return False
    decision = ReviewDecision.APPROVE if action == "approve" else ReviewDecision.DENY
    return comment_required(task.commentRequired, decision)


def _has_approved_boolean(task: PauseTask) -> bool:
    return any(
        d.id == "approved" and d.type in (InputType.BOOLEAN, InputType.BOOL)
        for d in task.onResume or []
    )


def resume_with_link(
    state: Any,
    token: str,
    values: Mapping[str, Any] | None = None,
    by: Actor | None = None,
) -> Execution:
    """Decides the pause a signed link names, with ``via="link"``; returns the execution.

    ``state`` is ``app.state`` (``.engine``, ``.links``). ``values`` are onResume values (form
    strings or JSON-typed). The link's action decides what happens:

    - ``resume``: resume with ``values``;
    - ``approve``: the same, with ``approved=true`` when the Pause has a BOOLEAN ``approved``;
    - ``reject``: ``approved=false`` when it has one, else the execution is killed with
      ``values["reason"]`` (or a default reason).

    An Approval is reviewed instead: ``approve`` approves, ``reject`` denies, with
    ``values["comment"]`` as the reviewer's comment and the other values as its ``inputs``; a
    ``resume`` link cannot decide it (409).

    Single use: the token is spent in the same transaction as the resume. Raises ``LinkError``
    (403/410), ``ExecutionNotFound`` (404), ``AlreadyDecided``/``ConflictError`` (409: already
    used or decided; says by whom and when) and ``InputValidationError`` (422, nothing spent).
    """
    engine: Engine = state.engine
    link, execution, task, run = read_link(state, token)
    actor = by or dict(LINK_ACTOR)
    if task is None or run is None:
        if execution.state.current != State.PAUSED and execution.task_run(link.task_run_id):
            raise engine.why_not_paused(execution)  # says who decided it, when and via what
        raise ConflictError(
            f"Execution '{execution.id}' has no pause this link could decide.",
            execution_id=execution.id,
            state=execution.state.current.value,
        )
    chosen = dict(values or {})
    if isinstance(task, ApprovalTask):
        if link.action not in APPROVAL_CHOICES:
            raise ConflictError(
                f"Task '{task.id}' is an Approval: it is decided with its approve or reject "
                "link, not a resume link.",
                execution_id=execution.id,
                state=execution.state.current.value,
            )
        comment = chosen.pop("comment", None)
        return engine.decide_waiting(
            execution.id,
            run.id,
            APPROVAL_CHOICES[link.action],
            values=chosen,
            comment=None if comment is None else str(comment),
            by=actor,
            via="link",
            token_id=link.token_id,
        )
    if link.action in ("approve", "reject") and _has_approved_boolean(task):
        chosen["approved"] = link.action == "approve"  # the link's action wins over the body
    elif link.action == "reject":
        reason = str(chosen.get("reason") or "").strip() or "Rejected through a resume link."
        # Only while this pause still waits: a link for a decided pause must not kill what
        # the execution went on to do (the engine checks it in the kill's transaction).
        return engine.kill_execution(
            execution.id, by=actor, via="link", reason=reason, task_run_id=run.id
        )
    return engine.resume_execution(
        execution.id, chosen, by=actor, via="link", task_run_id=run.id, token_id=link.token_id
    )


def _review_with_link(
    engine: Engine,
    link: ResumeLink,
    execution_id: str,
    task_run_id: str,
    values: dict[str, Any],
    actor: Actor,
) -> Execution:
    """An Approval decided with its link: approve, or reject (deny); ``comment`` is the
    reviewer's comment, the other values the review inputs. The token is spent with it."""
    if link.action not in ("approve", "reject"):
        raise ConflictError(
            "This link cannot decide an approval: use its approve or reject link.",
            execution_id=execution_id,
        )
    comment = values.pop("comment", None)
    return engine.review_execution(
        execution_id,
        task_run_id,
        ReviewDecision.APPROVE if link.action == "approve" else ReviewDecision.DENY,
        comment=str(comment) if comment is not None else None,
        values=values,
        by=actor,
        via="link",
        token_id=link.token_id,
    )
