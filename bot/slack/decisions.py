"""Deciding a pause or an approval from Slack: option buttons and the modal submissions.

Every step re-reads the pause from the engine (ids from Slack are only a lookup key), checks who
may decide it, builds its ``Summary`` (which options exist and what each one asks) and goes
through the engine: ``Engine.decide_waiting`` (a Pause's resume with the decision input set by
the button, or an Approval's approve/deny with its comment) or ``Engine.kill_execution`` (a
Reject of a Pause that has no decision input). Their compare-and-set makes a double click, a
second approver or a race with the API end in "Already decided: … by X", never a second
decision.

Clicks are acknowledged before this runs (Bolt's ack-first listeners); a modal is opened with the
click's ``trigger_id`` as soon as the pause is loaded, so the 3-second trigger stays valid.
Submissions answer in the ack: ``response_action: errors`` for invalid values (keyed by the
input's block_id), ``update`` with a short result otherwise.

Messages posted before options existed carry ``pausebot.approve``/``pausebot.reject`` buttons
(value without an option); they still work: approve and the first rejecting option.
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
from bot.slack.blocks import REASON_BLOCK, notice_view
from bot.slack.messages import already_text, outcome_words
from bot.slack.metrics import SlackMetrics
from bot.slack.modals import COMMENT_BLOCK, decision_modal, form_for, full_request_view
from bot.slack.pauses import BadReference, Pause, PauseGone, PauseRef, load_pause
from bot.slack.summary import Option, Summary, summarize
from engine.engine import Engine
from engine.errors import AlreadyDecided, ConflictError, InputValidationError, NotFoundError
from engine.model import Execution

log = logging.getLogger(__name__)

Ack = Callable[..., Awaitable[Any]]
Respond = Callable[..., Awaitable[Any]]

CLICK_CHECK_BUDGET = 1.5  # seconds of the trigger's 3 we may spend on Slack lookups
SUBMIT_CHECK_BUDGET = 2.0


def legacy_option(summary: Summary, rejecting: bool) -> Option | None:
    """The option an old Approve/Reject button stands for."""
    if not rejecting:
        return summary.approve
    return next((o for o in summary.options if o.tone == "reject"), None)


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
        """An old Approve/Reject button."""
        await self.choose(body, client, respond, legacy_rejecting=rejecting)

    async def choose(
        self,
        body: dict[str, Any],
        client: AsyncWebClient,
        respond: Respond,
        *,
        legacy_rejecting: bool | None = None,
    ) -> None:
        user_id = body["user"]["id"]
        tell = _Teller(body, client, respond)
        action = (body.get("actions") or [{}])[0]
        raw = action.get("value")
        if raw is None and isinstance(action.get("selected_option"), dict):
            raw = action["selected_option"].get("value")  # an overflow menu or a select
        try:
            ref, extra = PauseRef.decode(raw)
        except BadReference:
            await tell(texts.bad_button())
            return
        pause = await self._load(ref, tell)
        if pause is None:
            return
        summary = summarize(pause)
        if legacy_rejecting is not None and "o" not in extra:
            option = legacy_option(summary, legacy_rejecting)
            mode = "form" if option is not None and option.needs_modal else "now"
        else:
            option = summary.option(str(extra.get("o")))
            mode = "now" if extra.get("m") == "now" else "form"
        if option is None:
            await tell(texts.bad_button())
            return
        if mode == "now" and option.needs_modal and not summary.as_is(option):
            mode = "form"  # the button was built for another version of the flow
        at_once = mode == "now" or not option.needs_modal
        refusal = await self._check(user_id, pause, budget=None if at_once else CLICK_CHECK_BUDGET)
        if refusal is not None:
            await tell(refusal.text)
            await self._record_refusal(body, pause, refusal)
            return
        if at_once:
            await self._decide_at_once(body, tell, pause, summary, option)
            return
        view = decision_modal(pause, summary, option, form_for(pause, option))
        await self._open(client, body, tell, view)

    async def full_request(
        self, body: dict[str, Any], client: AsyncWebClient, respond: Respond
    ) -> None:
        """ "Full request": the whole description in a modal (nothing to decide there)."""
        tell = _Teller(body, client, respond)
        action = (body.get("actions") or [{}])[0]
        try:
            ref, _ = PauseRef.decode(action.get("value"))
            pause = await asyncio.to_thread(load_pause, self.engine, ref)
        except BadReference:
            await tell(texts.bad_button())
            return
        except (NotFoundError, PauseGone):
            await tell(texts.execution_gone())
            return
        await self._open(client, body, tell, full_request_view(summarize(pause)))

    async def _open(
        self, client: AsyncWebClient, body: dict[str, Any], tell: _Teller, view: dict[str, Any]
    ) -> None:
        try:
            await client.views_open(trigger_id=body["trigger_id"], view=view)
        except SlackApiError as error:
            code = error.response.get("error")
            log.warning("Slack: views.open failed: %s", code)
            if code in ("expired_trigger_id", "exchanged_trigger_id"):
                await tell(texts.trigger_expired(), modal=False)
        except (SlackClientError, OSError) as error:
            log.warning("Slack: views.open failed: %s", error)

    async def _decide_at_once(
        self, body: dict[str, Any], tell: _Teller, pause: Pause, summary: Summary, option: Option
    ) -> None:
        user = await self._user(body)
        try:
            await asyncio.to_thread(self._decide, pause, summary, option, {}, None, user)
        except AlreadyDecided:
            await tell(await self._already_text(pause.ref))
            return
        except (ConflictError, NotFoundError, InputValidationError) as error:
            await tell(texts.engine_refused(str(error)))
            return
        self._count(user, pause, option)
        if (body.get("container") or {}).get("is_ephemeral") or not body.get("response_url"):
            # From /paused or Home: that list is not the channel message, so confirm in words.
            await tell(texts.done_chosen(outcome_words(summary, option), summary.question))

    def _decide(
        self,
        pause: Pause,
        summary: Summary,
        option: Option,
        values: dict[str, Any],
        comment: str | None,
        user: SlackUser,
    ) -> Execution:
        """The engine call for one option (blocking: run it in a thread)."""
        if option.choice == "kill":
            return self.engine.kill_execution(
                pause.execution.id,
                by=user.actor(),
                via="slack",
                reason=comment,
                task_run_id=pause.run.id,
            )
        chosen = dict(values)
        if summary.decision_input is not None:
            chosen[summary.decision_input] = option.value  # the button, never a modal field
        return self.engine.decide_waiting(
            pause.execution.id,
            pause.run.id,
            option.choice,
            values=chosen,
            comment=comment if summary.kind == "approval" else None,
            by=user.actor(),
            via="slack",
        )

    def _count(self, user: SlackUser, pause: Pause, option: Option) -> None:
        action = {"approve": "approved", "reject": "rejected"}.get(option.tone, "other")
        if option.choice == "kill":
            action = "killed"
        self.metrics.inc("decisions_total", action=action)
        log.info(
            "Slack: %s chose %s on %s/%s", user.id, option.name, pause.execution.id, pause.run.id
        )

    # -- submissions (answered in the ack) ------------------------------------------------------------
    async def submit_form(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        try:
            await self._submit_form(ack, body, view)
        except Exception:
            log.exception("Slack: the decision form could not be handled")
            await ack(response_action="update", view=notice_view(texts.something_failed()))

    async def submit_reason(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        """The reason modal of an old Reject button (its reason block is ``reason``)."""
        await self.submit_form(ack, body, view)

    async def _submit_form(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        state = (view.get("state") or {}).get("values") or {}
        comment = _comment(state)
        prepared = await self._prepare_submission(ack, body, view)
        if prepared is None:
            return
        pause, summary, option, user = prepared
        if option.comment == "required" and not comment:
            block = REASON_BLOCK if REASON_BLOCK in state else COMMENT_BLOCK
            missing = texts.REASON_MISSING if option.choice == "kill" else texts.COMMENT_MISSING
            await ack(response_action="errors", errors={block: missing})
            return
        form = form_for(pause, option)
        if form.needs_web_form:
            await ack(
                response_action="update",
                view=notice_view(texts.web_form_only(len(form.web_only)), link=pause.url),
            )
            return
        values = form.read(state)
        try:
            await asyncio.to_thread(self._decide, pause, summary, option, values, comment, user)
        except InputValidationError as error:
            errors = form.errors_by_block(error)
            if summary.kind == "approval" and any(e.field == "comment" for e in error.errors):
                errors[COMMENT_BLOCK] = texts.COMMENT_MISSING
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
        done = texts.done_chosen(outcome_words(summary, option), summary.question)
        await ack(response_action="update", view=notice_view(done))
        self._count(user, pause, option)

    async def _prepare_submission(
        self, ack: Ack, body: dict[str, Any], view: dict[str, Any]
    ) -> tuple[Pause, Summary, Option, SlackUser] | None:
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
        summary = summarize(pause)
        if "o" in extra:
            option = summary.option(str(extra["o"]))
        else:  # a modal opened by an old Approve/Reject button
            option = legacy_option(summary, extra.get("d") == "reject")
        if option is None:
            await ack(response_action="update", view=notice_view(texts.bad_button()))
            return None
        refusal = await self._check(body["user"]["id"], pause, budget=SUBMIT_CHECK_BUDGET)
        if refusal is not None:
            await ack(response_action="update", view=notice_view(refusal.text))
            await self._record_refusal(body, pause, refusal)
            return None
        return pause, summary, option, await self._user(body)

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
        await tell(already_text(summarize(pause)))
        return None

    async def _already_text(self, ref: PauseRef) -> str:
        try:
            pause = await asyncio.to_thread(load_pause, self.engine, ref)
        except (NotFoundError, PauseGone):
            return texts.execution_gone()
        return already_text(summarize(pause))

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


def _comment(state: dict[str, Any]) -> str | None:
    for block in (COMMENT_BLOCK, REASON_BLOCK):
        text = str(((state.get(block) or {}).get("value") or {}).get("value") or "").strip()
        if text:
            return text
    return None
