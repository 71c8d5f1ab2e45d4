"""Every sentence the Slack bot says, as named functions (Bolt's habit: one module of texts).

Functions returning mrkdwn escape the raw text they are given (flow names, descriptions, user
names, reasons); arguments documented as *mrkdwn* (``who``, ``when``) are already formatted by
``bot.slack.mrkdwn`` and are inserted as they are. Plain-text functions (labels, titles, buttons)
return text Slack shows literally.
"""

from __future__ import annotations

from bot.slack.mrkdwn import escape, value, value_truncated

# -- buttons and titles (plain text; buttons <= 75, modal titles and submits <= 24) ------------

APPROVE = "Approve"
REJECT = "Reject"
DENY = "Deny"
OPEN_IN_PAUSEBOT = "Open in pausebot"
OPEN_WEB_FORM = "Open the web form"
ATTACH_IN_PAUSEBOT = "Attach the file in pausebot"
CANCEL = "Cancel"
CLOSE = "Close"
YES = "Yes"
NO = "No"
MODAL_TITLE_NOTICE = "pausebot"
REASON_LABEL = "Why are you rejecting it?"
REASON_HINT = "The execution is stopped (killed); your reason is recorded with your name."
REASON_MISSING = "Please say why you are rejecting it."
SECRET_MASK = "••••••"


# -- message fields (mrkdwn) -------------------------------------------------------------------


def more_values(count: int) -> str:
    return f"… and {count} more in pausebot."


# -- outcomes (mrkdwn; ``who`` and ``when`` are mrkdwn) --------------------------------------------


def execution_ended(state: str) -> str:
    emoji = {"SUCCESS": ":large_green_circle:", "WARNING": ":large_yellow_circle:"}.get(
        state, ":red_circle:"
    )
    return f"{emoji} The execution ended: *{escape(state)}*."


def _via(via: str | None) -> str:
    return f" via {escape(SURFACES.get(via, via))}" if via else ""


def via_words(via: str | None) -> str:
    """mrkdwn: " via the API", or nothing."""
    return _via(via)


# What an ENUM/SELECT option of a decision input is called: its button, and its outcome.
OPTION_WORDS = {
    "approve": ("Approve", "Approved"),
    "approved": ("Approve", "Approved"),
    "yes": ("Yes", "Approved"),
    "accept": ("Accept", "Accepted"),
    "reject": ("Reject", "Rejected"),
    "rejected": ("Reject", "Rejected"),
    "deny": ("Deny", "Denied"),
    "denied": ("Deny", "Denied"),
    "no": ("No", "Rejected"),
    "decline": ("Decline", "Declined"),
    "changes": ("Request changes", "Changes requested"),
    "request_changes": ("Request changes", "Changes requested"),
    "request-changes": ("Request changes", "Changes requested"),
    "hold": ("Hold", "Put on hold"),
    "defer": ("Defer", "Deferred"),
    "escalate": ("Escalate", "Escalated"),
}


def _humane(value: object) -> str:
    text = " ".join(str(value).replace("_", " ").split())
    return text[:1].upper() + text[1:] if text else "(empty)"


def option_label(value: object, tone: str) -> str:
    """Plain: the button of an ENUM/SELECT option, e.g. "changes" -> "Request changes"."""
    known = OPTION_WORDS.get(str(value).strip().lower())
    return (known[0] if known else _humane(value))[:75]


SURFACES = {
    "slack": "Slack",
    "api": "the API",
    "ui": "the web UI",
    "cli": "the CLI",
    "link": "a signed link",
    "bulk": "a bulk resume",
    "webhook": "a webhook",
    "timer": "the timer",
}


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " or " + items[-1]


# -- modals (plain text unless said otherwise) -------------------------------------------------


def web_form_only(count: int) -> str:
    """mrkdwn."""
    return (
        f"This pause asks for {count} value{'s' if count != 1 else ''} Slack cannot show "
        "(files, secrets or very large fields). Please decide in pausebot's web form."
    )


def web_form_rest(count: int) -> str:
    """mrkdwn."""
    return (
        f"{count} more field{'s' if count != 1 else ''} keep their defaults here; "
        "to change them, use the web form."
    )


def hint_range(low: str | None, high: str | None) -> str | None:
    if low is not None and high is not None:
        return f"Between {low} and {high}."
    if low is not None:
        return f"At least {low}."
    if high is not None:
        return f"At most {high}."
    return None


def hint_dates(after: str | None, before: str | None) -> str | None:
    if after is not None and before is not None:
        return f"Between {after} and {before}."
    if after is not None:
        return f"On or after {after}."
    if before is not None:
        return f"On or before {before}."
    return None


HINT_DURATION = "An ISO-8601 duration, such as PT30M (30 minutes) or P1DT2H."
HINT_JSON = "JSON."
HINT_YAML = "YAML."
HINT_ARRAY = 'A JSON array, such as ["a", "b"].'
HINT_DATETIME = "In your time zone; stored in UTC."
PLACEHOLDER_DURATION = "PT30M"


def hint_pattern(pattern: str) -> str:
    return f"Must match {pattern}"


def hint_choices(choices: list[str], custom: bool) -> str:
    listed = ", ".join(choices)
    return f"One of: {listed}" + (" (or a value of your own)." if custom else ".")


def hint_depends(inputs: list[str]) -> str:
    return "Only needed depending on " + ", ".join(inputs) + "; leave it empty otherwise."


# -- answers to the clicker (mrkdwn, ephemeral or in a small modal) ----------------------------


def execution_gone() -> str:
    return "This execution no longer exists."


def not_a_pause() -> str:
    return "This pause can no longer be decided."


def bad_button() -> str:
    return "This button is no longer valid."


def trigger_expired() -> str:
    return "Slack took too long to open the form. Please click again."


def refused_not_assigned(who: list[str]) -> str:
    """``who`` are mrkdwn mentions or escaped addresses."""
    return "You may not decide this pause: only " + _join(who) + " may."


def refused_self_approval() -> str:
    return "You started this execution, so someone else has to decide it."


def refused_lookup_failed(error: str) -> str:
    return (
        f"I could not check who may decide this pause (Slack said `{escape(error)}`). "
        "Please try again in a moment."
    )


def engine_refused(message: str) -> str:
    return escape(message)


def something_failed() -> str:
    return "Something went wrong on pausebot's side; the pause was not decided. Please try again."


# -- /paused (mrkdwn) ----------------------------------------------------------------------------


def page_of(page: int, pages: int) -> str:
    return f"Page {page} of {pages}"


# -- App Home ----------------------------------------------------------------------------------


def home_empty() -> str:
    return "Nothing is waiting for you. :tada:"


def home_more(count: int) -> str:
    return f"{count} more: use `/paused` or the web UI."


# -- the execution's log (plain) -----------------------------------------------------------------


def log_delivery_failed(what: str, channel: str, error: str) -> str:
    return f"Slack: could not {what} in {channel}: {error}. Invite the bot or fix the channel."


def log_refusal(name: str, user_id: str, why: str) -> str:
    return f"Slack: {name} ({user_id}) was refused: {why}."


# ==================================================================================================
# Direct messages, reminders, /paused and the Home tab at volume (bot/slack/notifier.py,
# recipients.py, reminders.py, lists.py, home.py).
# ==================================================================================================


def reminder_line(number: int, asked: str) -> str:
    """mrkdwn, above a reminder's copy of the message; ``asked`` is a ``<!date^…^{ago}>`` token."""
    nth = "" if number <= 1 else f" ({ordinal(number)})"
    return f":alarm_clock: *Reminder{nth}:* this is still waiting for a decision, asked {asked}."


def reminder_fallback(text: str) -> str:
    return f"Reminder: {text}"


def ordinal(number: int) -> str:
    suffix = (
        "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    )
    return f"{number}{suffix}"


def log_dm_skipped(skipped: tuple[str, ...] | list[str]) -> str:
    return "Slack: no direct message to " + "; ".join(skipped) + "."


def log_dm_failed(user_id: str, error: str) -> str:
    return f"Slack: could not send a direct message to {user_id}: {error}."


# -- /paused and Home at volume (mrkdwn unless noted) ------------------------------------------

LIST_NEXT = "Next"  # plain, buttons
LIST_PREVIOUS = "Previous"
_THEN = {
    "RESUME": "it continues",
    "SUCCESS": "it continues",
    "WARN": "it continues with a warning",
    "WARNING": "it continues with a warning",
    "FAIL": "it fails",
    "FAILED": "it fails",
    "CANCEL": "it is cancelled",
    "CANCELLED": "it is cancelled",
}


def list_asked(ago_token: str) -> str:
    return f"asked {ago_token}"


def list_deadline(when_token: str, on_deadline: str | None) -> str:
    """``when_token`` is mrkdwn (a ``<!date^…>``); what happens then, in words."""
    then = _THEN.get((on_deadline or "RESUME").upper())
    if then is None:
        then = f"it ends {escape(str(on_deadline).lower())}"
    return f":hourglass: {when_token}, then {then}"


def list_group(flow_name_mrkdwn: str, count: int) -> str:
    return f"*{flow_name_mrkdwn}* · {count} waiting"


def list_cut(count: int) -> str:
    return f"…and {count} more that did not fit: narrow it with a filter."


def list_show_all(count: int) -> str:
    """Plain: the button of a flow's group."""
    return f"Show all {count}"


def list_more_flows(count: int) -> str:
    return f"…and {count} more flow{'s' if count != 1 else ''}: narrow it with `/paused flow:<id>`."


def paused_heading_at_volume(count: int, query: str, *, mine: bool, flows: int) -> str:
    what = f"*{count} waiting{' for you' if mine else ''}*"
    if query:
        what += f" matching `{value(query)}`"
    if flows > 1:
        what += f" in {flows} flows"
    return what + ", the nearest deadline first"


def paused_none_at_volume(query: str, *, mine: bool) -> str:
    if mine and not query:
        return "Nothing is waiting for you. :tada:"
    if query:
        return f"Nothing waiting matches `{value(query)}`."
    return "Nothing is waiting. :tada:"


def paused_usage_at_volume() -> str:
    return (
        "`/paused mine` lists what you may decide. Filter with `namespace:company.team`, "
        "`flow:deploy_approval` or any text (ids, namespaces, flows). ⋯ on an entry decides it."
    )


def list_scanned(shown: int, total: int) -> str:
    return f"Sorted among the {shown} most urgent of {total} paused executions."


def home_mine_header(count: int) -> str:
    """Plain (a header)."""
    return f"Waiting for you ({count})"


def home_others_header(count: int) -> str:
    """Plain (a header)."""
    return f"Everything else waiting ({count})"


def home_intro_at_volume() -> str:
    return (
        "What you may decide, the nearest deadline first; then what others decide. "
        "⋯ on an entry decides it. `/paused mine` lists them all."
    )


# -- the approval message (issue 9: lead with the question) -------------------------------------
# ``who``/``when`` arguments are mrkdwn from bot.slack.mrkdwn; other text is escaped here.

FULL_REQUEST = "Full request"
FIELD_REQUESTED_BY = "*Requested by*"
FIELD_WAITING_SINCE = "*Asked*"
FIELD_DECIDES_ITSELF = "*Deadline*"
FIELD_ASSIGNED = "*Who may decide*"
CONFIRM_TITLE = "Are you sure?"
CONFIRM_NO = "Not yet"
CHOOSE = "Choose…"
CHOOSE_CONFIRM = "Choose it"


def as_is(label: str) -> str:
    """Plain: the one-tap button of an option whose modal has defaults ("Approve as is")."""
    return f"{label[:60]} as is"


def with_changes(label: str) -> str:
    """Plain: the same option's modal button ("Approve with changes…")."""
    return f"{label[:55]} with changes…"


def with_dialog(label: str) -> str:
    """A button that opens a modal says so with an ellipsis ("Reject…")."""
    return label if label.endswith("…") else label[:74] + "…"


def context_line(flow: str, url: str, execution_id: str, task_id: str) -> str:
    """mrkdwn: the small line with the flow id, execution id and link."""
    return f"`{escape(flow)}` · execution <{url}|{escape(execution_id)}> · task `{escape(task_id)}`"


def for_iteration(iteration: str) -> str:
    """mrkdwn: which ForEach iteration a pause belongs to (a value: shown as typed)."""
    return f"for value *{value_truncated(iteration, 200)}*"


def for_parent(flow_id: str, url: str, execution_id: str) -> str:
    """mrkdwn: the parent execution a Subflow child serves."""
    return f"for `{escape(flow_id)}` · execution <{url}|{escape(execution_id)}>"


def deadline_then(when: str, behavior: str | None, approval: bool) -> str:
    """mrkdwn: "<date>: then it is cancelled"."""
    return f"{when}, then {_waiting_then(behavior, approval)}"


def _waiting_then(behavior: str | None, approval: bool) -> str:
    if approval:
        return {
            "CONTINUE": "it continues without a decision",
            "WARN": "it continues with a warning",
            "FAIL": "it fails",
            "SUCCEED": "the execution succeeds",
            "CANCEL": "it is cancelled",
            "KILL": "it is killed",
        }.get(behavior or "CANCEL", f"{escape(str(behavior))}")
    return {
        "RESUME": "it continues with the defaults",
        "WARN": "it continues with the defaults and a warning",
        "FAIL": "it fails",
        "CANCEL": "it is cancelled",
    }.get(behavior or "RESUME", escape(str(behavior)))


def as_is_keeps(option: str, values: list[tuple[str, str]]) -> str:
    """mrkdwn; ``option`` plain, ``values`` are (plain label, mrkdwn value)."""
    shown = " · ".join(f"{value(label)}: *{shown}*" for label, shown in values)
    return f"*{value(as_is(option))}* keeps {shown}"


def may_decide(who: list[str]) -> str:
    """``who`` are mrkdwn mentions."""
    return "Only " + _join(who) + " may decide."


def confirm_text(option: str, question: str) -> str:
    """Plain (a confirm dialog's text)."""
    return f"{option}: {question}"[:300]


def more_key_inputs(count: int) -> str:
    return f"… and {count} more input{'s' if count != 1 else ''} in pausebot."


# -- outcomes: always true ------------------------------------------------------------------------

_DONE_EMOJI = {
    "approve": ":white_check_mark:",
    "reject": ":no_entry_sign:",
    "other": ":leftwards_arrow_with_hook:",
    "unknown": ":ballot_box_with_check:",  # a value that is none of the options (an API's own)
}


def chosen_words(option_name: str, option_label: str, tone: str, kind: str) -> str:
    """Plain: what choosing an option is called afterwards ("Changes requested")."""
    if kind == "approval":
        return "Approved" if tone == "approve" else "Denied"
    known = OPTION_WORDS.get(option_name.strip().lower())
    if known:
        return known[1]
    if tone == "approve":
        return "Approved"
    if tone == "reject":
        return "Rejected"
    return f"“{option_label}” chosen"


def decided_line(
    tone: str, words: str, who: str, via: str | None, when: str, *, stopped: bool = False
) -> str:
    line = f"{_DONE_EMOJI.get(tone, ':ballot_box_with_check:')} *{value(words)}* by {who}{_via(via)} · {when}"
    return line + (" · the execution was stopped" if stopped else "")


def nobody_decided(
    nobody: str, *, who: str | None, via: str | None, when: str, then: str | None, approval: bool
) -> str:
    """mrkdwn: "Nobody decided; <what happened>"."""
    if nobody == "timed_out":
        return f":hourglass: *Nobody decided*; it timed out {when}: {_then_done(then, False)}."
    if nobody == "expired":
        return (
            f":hourglass: *Nobody decided*; the request expired {when}: {_then_done(then, True)}."
        )
    if nobody == "killed":
        by = f" by {who}{_via(via)}" if who else _via(via)
        return f":no_entry: *Nobody decided*; the execution was killed{by} · {when}."
    if nobody == "bulk":
        by = f" by {who}" if who else ""
        return (
            f":fast_forward: *Nobody decided*; it was resumed in bulk{by}, with the defaults "
            f"· {when}."
        )
    if nobody == "ended":
        return ":grey_question: *Nobody decided*; the execution ended before anyone did."
    return ":grey_question: *Nobody decided*; it is no longer waiting."


def _then_done(behavior: str | None, approval: bool) -> str:
    if approval:
        return {
            "CONTINUE": "it continued without a decision",
            "WARN": "it continued with a warning",
            "FAIL": "it failed",
            "SUCCEED": "the execution succeeded",
            "CANCEL": "it was cancelled",
            "KILL": "it was killed",
        }.get(behavior or "CANCEL", escape(str(behavior)))
    return {
        "RESUME": "it continued with the defaults",
        "WARN": "it continued with the defaults and a warning",
        "FAIL": "it failed",
        "CANCEL": "it was cancelled",
    }.get(behavior or "RESUME", escape(str(behavior)))


def quoted(text: str) -> str:
    """mrkdwn: a comment or reason as a quote, escaped."""
    return ">" + value(text.strip()).replace("\n", "\n>")


FIELD_KEY_INPUTS = "*Inputs*"


def outcome_plain(words: str, who: str) -> str:
    return f"{words} by {who}"


def nobody_plain(nobody: str) -> str:
    return {
        "timed_out": "Nobody decided; it timed out",
        "expired": "Nobody decided; the request expired",
        "killed": "Nobody decided; the execution was killed",
        "bulk": "Nobody decided; resumed in bulk with the defaults",
        "ended": "Nobody decided; the execution ended",
    }.get(nobody, "Nobody decided; no longer waiting")


def already_chosen(words: str, who: str, via: str | None, when: str) -> str:
    """mrkdwn: the late clicker's answer."""
    return f"Already decided: *{value(words)}* by {who}{_via(via)} · {when}."


def already_nobody(line: str) -> str:
    """mrkdwn: a late click on something nobody decided."""
    return "This is no longer waiting. " + line


def done_chosen(words: str, question: str) -> str:
    """mrkdwn: what the person who decided is told."""
    return f"*{value(words)}*: {value(question)}"


def modal_choosing(words: str, question: str) -> str:
    """mrkdwn: the first line of a modal."""
    return f"You are choosing *{value(words)}* for *{value(question)}*."


COMMENT_LABEL = "Comment"
COMMENT_HINT_REQUIRED = "This flow asks for a comment with this decision."
COMMENT_MISSING = "Please add a comment: this flow asks for one."
