"""Deciding a pause from Slack: Approve/Reject clicks and the modal submissions.

Every step re-reads the pause from the engine (ids from Slack are only a lookup key), checks who
may decide it, and goes through ``Engine.resume_execution`` / ``Engine.kill_execution``, whose
compare-and-set makes a double click, a second approver or a race with the API end in
"already approved by X", never a second decision.

Clicks are acknowledged before this runs (Bolt's ack-first listeners); a modal is opened with the
click's ``trigger_id`` as soon as the pause is loaded, so the 3-second trigger stays valid.
Submissions answer in the ack: ``response_action: errors`` for invalid values (keyed by the
input's block_id), ``update`` with a short result otherwise.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack import texts
from bot.slack.authorization import Directory, Gatekeeper, Refusal, SlackUser
from bot.slack.blocks import (
    REASON_BLOCK,
    already_decided_text,
    decision_modal,
    notice_view,
    reason_modal,
)
from bot.slack.forms import Form, build_form
from bot.slack.metrics import SlackMetrics
from bot.slack.pauses import BadReference, Pause, PauseGone, PauseRef, load_pause, pause_of
from engine.engine import Engine
from engine.errors import AlreadyDecided, ConflictError, InputValidationError, NotFoundError

log = logging.getLogger(__name__)

Ack = Callable[..., Awaitable[Any]]
Respond = Callable[..., Awaitable[Any]]

CLICK_CHECK_BUDGET = 1.5  # seconds of the trigger's 3 we may spend on Slack lookups
SUBMIT_CHECK_BUDGET = 2.0


def form_for(pause: Pause, *, rejecting: bool) -> Form:
    """The same form for opening and for reading back: the decision input preset per button."""
    decision = pause.decision_input
    initial = (
        {}
        if decision is None
        else {decision.definition.id: decision.reject if rejecting else decision.approve}
    )
    return build_form(pause.inputs, initial)


class Decider:
    def __init__(
        self, engine: Engine, gatekeeper: Gatekeeper, directory: Directory, metrics: SlackMetrics
    ) -> None:
        self.engine = engine
        self.gatekeeper = gatekeeper
        self.directory = directory
        self.metrics = metrics

    # -- clicks (already acknowledged) --------------------------------------------------------------
    async def click(
        self, body: dict[str, Any], client: AsyncWebClient, respond: Respond, *, rejecting: bool
    ) -> None:
        user_id = body["user"]["id"]
        tell = _Teller(body, client, respond)
        try:
            ref, _ = PauseRef.decode((body.get("actions") or [{}])[0].get("value"))
        except BadReference:
            await tell(texts.bad_button())
            return
        pause = await self._load(ref, tell)
        if pause is None:
            return
        refusal = await self._check(
            user_id,
            pause,
            budget=None if self._decides_at_once(pause, rejecting) else CLICK_CHECK_BUDGET,
        )
        if refusal is not None:
            await tell(refusal.text)
            await self._record_refusal(body, pause, refusal)
            return
        if self._decides_at_once(pause, rejecting):
            await self._approve_at_once(body, tell, pause)
            return
        if rejecting and pause.decision_input is None:
            view = reason_modal(pause)
        else:
            view = decision_modal(pause, form_for(pause, rejecting=rejecting), rejecting=rejecting)
        try:
            await client.views_open(trigger_id=body["trigger_id"], view=view)
        except SlackApiError as error:
            code = error.response.get("error")
            log.warning("Slack: views.open failed: %s", code)
            if code in ("expired_trigger_id", "exchanged_trigger_id"):
                await tell(texts.trigger_expired(), modal=False)
        except (SlackClientError, OSError) as error:
            log.warning("Slack: views.open failed: %s", error)

    @staticmethod
    def _decides_at_once(pause: Pause, rejecting: bool) -> bool:
        return not rejecting and not pause.inputs

    async def _approve_at_once(self, body: dict[str, Any], tell: _Teller, pause: Pause) -> None:
        user = await self._user(body)
        try:
            await asyncio.to_thread(
                self.engine.resume_execution,
                pause.execution.id,
                {},
                by=user.actor(),
                via="slack",
                task_run_id=pause.run.id,
            )
        except AlreadyDecided:
            await tell(await self._already_text(pause.ref))
            return
        except (ConflictError, NotFoundError, InputValidationError) as error:
            await tell(texts.engine_refused(str(error)))
            return
        self.metrics.inc("decisions_total", action="approved")
        log.info("Slack: %s approved %s/%s", user.id, pause.execution.id, pause.run.id)
        if (body.get("container") or {}).get("is_ephemeral"):
            # From /paused: the ephemeral list cannot be updated, so confirm in words.
            await tell(texts.done_approved(pause.flow_name))

    # -- submissions (answered in the ack) ------------------------------------------------------------
    async def submit_form(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        try:
            await self._submit_form(ack, body, view)
        except Exception:
            log.exception("Slack: the decision form could not be handled")
            await ack(response_action="update", view=notice_view(texts.something_failed()))

    async def _submit_form(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        prepared = await self._prepare_submission(ack, body, view)
        if prepared is None:
            return
        pause, rejecting, user = prepared
        form = form_for(pause, rejecting=rejecting)
        if form.needs_web_form:
            await ack(
                response_action="update",
                view=notice_view(texts.web_form_only(len(form.web_only)), link=pause.url),
            )
            return
        values = form.read((view.get("state") or {}).get("values") or {})
        try:
            execution = await asyncio.to_thread(
                self.engine.resume_execution,
                pause.execution.id,
                values,
                by=user.actor(),
                via="slack",
                task_run_id=pause.run.id,
            )
        except InputValidationError as error:
            errors = form.errors_by_block(error)
            if errors:
                await ack(response_action="errors", errors=errors)
            else:
                await ack(
                    response_action="update",
                    view=notice_view(texts.engine_refused(str(error)), link=pause.url),
                )
            return
        except AlreadyDecided:
            await ack(
                response_action="update", view=notice_view(await self._already_text(pause.ref))
            )
            return
        except (ConflictError, NotFoundError) as error:
            await ack(response_action="update", view=notice_view(texts.engine_refused(str(error))))
            return
        decided = (await asyncio.to_thread(pause_of, self.engine, execution, pause.run.id)).decision
        rejected = bool(decided and decided.rejected)
        done = (
            texts.done_rejected_with_answer(pause.flow_name)
            if rejected
            else texts.done_approved(pause.flow_name)
        )
        await ack(response_action="update", view=notice_view(done))
        self.metrics.inc("decisions_total", action="rejected" if rejected else "approved")
        log.info(
            "Slack: %s %s %s/%s",
            user.id,
            "rejected" if rejected else "approved",
            pause.execution.id,
            pause.run.id,
        )

    async def submit_reason(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        try:
            await self._submit_reason(ack, body, view)
        except Exception:
            log.exception("Slack: the reject form could not be handled")
            await ack(response_action="update", view=notice_view(texts.something_failed()))

    async def _submit_reason(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        values = (view.get("state") or {}).get("values") or {}
        reason = str(
            ((values.get(REASON_BLOCK) or {}).get("value") or {}).get("value") or ""
        ).strip()
        if not reason:
            await ack(response_action="errors", errors={REASON_BLOCK: texts.REASON_MISSING})
            return
        prepared = await self._prepare_submission(ack, body, view)
        if prepared is None:
            return
        pause, _, user = prepared
        try:
            await asyncio.to_thread(
                self.engine.kill_execution,
                pause.execution.id,
                by=user.actor(),
                via="slack",
                reason=reason,
                task_run_id=pause.run.id,
            )
        except AlreadyDecided:
            await ack(
                response_action="update", view=notice_view(await self._already_text(pause.ref))
            )
            return
        except (ConflictError, NotFoundError) as error:
            await ack(response_action="update", view=notice_view(texts.engine_refused(str(error))))
            return
        await ack(response_action="update", view=notice_view(texts.done_killed(pause.flow_name)))
        self.metrics.inc("decisions_total", action="killed")
        log.info("Slack: %s rejected (killed) %s/%s", user.id, pause.execution.id, pause.run.id)

    async def _prepare_submission(
        self, ack: Ack, body: dict[str, Any], view: dict[str, Any]
    ) -> tuple[Pause, bool, SlackUser] | None:
        """Re-checks everything a submission claims; answers the ack itself when it must stop."""
        try:
            ref, extra = PauseRef.decode(view.get("private_metadata"))
        except BadReference:
            await ack(response_action="update", view=notice_view(texts.bad_button()))
            return None
        refused_text: list[str] = []

        async def say(text: str, **_: Any) -> None:
            refused_text.append(text)

        pause = await self._load(ref, say)
        if pause is None:
            await ack(response_action="update", view=notice_view(refused_text[0]))
            return None
        refusal = await self._check(body["user"]["id"], pause, budget=SUBMIT_CHECK_BUDGET)
        if refusal is not None:
            await ack(response_action="update", view=notice_view(refusal.text))
            await self._record_refusal(body, pause, refusal)
            return None
        return pause, extra.get("d") == "reject", await self._user(body)

    # -- shared steps ---------------------------------------------------------------------------------
    async def _load(self, ref: PauseRef, tell: Callable[..., Awaitable[None]]) -> Pause | None:
        """The pause, if it can still be decided; otherwise tells why and returns None."""
        try:
            pause = await asyncio.to_thread(load_pause, self.engine, ref)
        except NotFoundError:
            await tell(texts.execution_gone())
            return None
        except PauseGone:
            await tell(texts.not_a_pause())
            return None
        if pause.is_waiting:
            return pause
        decision = pause.decision
        await tell(already_decided_text(decision) if decision else texts.not_a_pause())
        return None

    async def _already_text(self, ref: PauseRef) -> str:
        try:
            pause = await asyncio.to_thread(load_pause, self.engine, ref)
        except (NotFoundError, PauseGone):
            return texts.execution_gone()
        decision = pause.decision
        return already_decided_text(decision) if decision else texts.not_a_pause()

    async def _check(self, user_id: str, pause: Pause, *, budget: float | None) -> Refusal | None:
        check = asyncio.ensure_future(self.gatekeeper.check(user_id, pause))
        if budget is None:
            return await check
        try:
            # Shielded: a slow lookup still fills the cache for the submission's re-check.
            return await asyncio.wait_for(asyncio.shield(check), budget)
        except TimeoutError:
            if budget >= SUBMIT_CHECK_BUDGET:
                return Refusal(
                    "lookup_failed",
                    texts.refused_lookup_failed("timeout"),
                    "the assignment check timed out",
                )
            return None  # opening the form must not wait longer; the submission checks again

    async def _user(self, body: dict[str, Any]) -> SlackUser:
        user = body.get("user") or {}
        return await self.directory.user(
            user["id"], fallback_name=user.get("name") or user.get("username")
        )

    async def _record_refusal(self, body: dict[str, Any], pause: Pause, refusal: Refusal) -> None:
        user = body.get("user") or {}
        user_id = str(user.get("id"))
        name = str(user.get("name") or user.get("username") or user_id)
        self.metrics.inc("refusals_total", reason=refusal.code)
        log.info(
            "Slack: refused %s on %s/%s: %s",
            user_id,
            pause.execution.id,
            pause.run.id,
            refusal.code,
        )
        try:
            await asyncio.to_thread(
                self.engine.log_on_execution,
                pause.execution.id,
                "WARN",
                texts.log_refusal(name, user_id, refusal.log_text),
            )
        except Exception:
            log.exception("could not log the refusal on execution %s", pause.execution.id)


class _Teller:
    """Tells the clicker something only they see: ephemerally where the click came from a
    message (its response_url), else (App Home) in a small modal."""

    def __init__(self, body: dict[str, Any], client: AsyncWebClient, respond: Respond) -> None:
        self.body, self.client, self.respond = body, client, respond
        self._trigger_used = False

    async def __call__(self, text: str, *, modal: bool = True) -> None:
        try:
            if self.body.get("response_url"):
                await self.respond(text=text, response_type="ephemeral", replace_original=False)
            elif modal and self.body.get("trigger_id") and not self._trigger_used:
                self._trigger_used = True
                await self.client.views_open(
                    trigger_id=self.body["trigger_id"], view=notice_view(text)
                )
        except (SlackApiError, SlackClientError, OSError) as error:
            log.warning(
                "Slack: could not tell user %s: %s", (self.body.get("user") or {}).get("id"), error
            )
