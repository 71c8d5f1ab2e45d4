"""Approval requests for any program: an execution of a small built-in flow whose one task is an
``Approval``, so every surface (Slack, web UI, signed links, bulk, timers) and every guarantee
(exactly once, outbox, audit) applies without a second code path.

The built-in flow lives in the namespace ``pausebot.approvals``. The request's texts (title,
description, decision labels, timeout) are the execution's ``trigger``, rendered by the
Approval's templates (``{{ trigger.title }}``; a value is never rendered again, so a ``{{`` in a
title stays text); what a template cannot carry (the review ``inputs``, the ``assignment``, the
comment rule and the expiry behaviour) picks the flow: ``request`` for the defaults, else
``request-<hash of them>``, deployed on first use. So a thousand requests with the same form
share one flow.

A request's ``id`` is its execution's id. ``approval_requests`` holds what only the request has:
the client (the token's name), the idempotency key (unique per client, enforced by the
database: two requests racing with one key create one execution, so one Slack message), the
callback URL and the state, which moves with the Approval in the transaction that decides it.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)
from sqlalchemy.exc import IntegrityError

from engine.clock import iso
from engine.errors import ConflictError, FieldError, InputValidationError, NotFoundError
from engine.inputs import InputDefinition, parse_duration
from engine.model import Execution, TaskRun
from engine.store.approval_requests import (  # outcome_of: for bot/ (callbacks, long polls)
    STATES,
    ApprovalRequestQueries,
    ApprovalRequestRecord,
    outcome_of,
)
from engine.store.store import NewEvent, OutboxEvent
from engine.tasks.approval import BEHAVIORS, COMMENT_RULES, Decisions
from engine.tasks.pause import Assignment

NAMESPACE = "pausebot.approvals"
TASK_ID = "approval"
CHANNEL_LABEL = "slack-channel"
MAX_TITLE = 300
MAX_DESCRIPTION = 20_000
TRIGGER_TYPE = "approval-request"
# Labels a request may not set: one would let a program name someone else as the requester.
RESERVED_LABELS = {"slack-requester": "who asked is the token that asks"}
DEFAULT_RULES = {"commentRequired": "NEVER", "expireBehavior": "CANCEL"}

Actor = dict[str, Any]

__all__ = [
    "ApprovalRequestNotFound",
    "ApprovalRequestSpec",
    "ApprovalRequests",
    "ApprovalView",
    "NewEvent",
    "OutboxEvent",
    "outcome_of",
]


class ApprovalRequestNotFound(NotFoundError):
    def __init__(self, request_id: str) -> None:
        super().__init__(f"Approval request '{request_id}' not found.")
        self.request_id = request_id


def _printable(value: str, name: str) -> str:
    if any(not ch.isprintable() for ch in value):
        raise ValueError(f"{name} must not contain control characters")
    return value


class ApprovalRequestSpec(BaseModel):
    """What a program asks for (the body of ``POST /api/v1/approvals``)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    title: str = Field(min_length=1, max_length=MAX_TITLE)
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION)
    inputs: list[InputDefinition] = Field(default_factory=list, max_length=50)
    decisions: Decisions = Field(default_factory=Decisions)
    commentRequired: str = "NEVER"
    assignment: Assignment | None = None
    timeout: str | None = None
    expireBehavior: str = "CANCEL"
    labels: dict[str, str] = Field(default_factory=dict, max_length=50)
    slack_channel: str | None = Field(default=None, alias="slack-channel", max_length=80)
    idempotencyKey: str | None = Field(default=None, min_length=1, max_length=255)
    callbackUrl: str | None = Field(default=None, max_length=2000)

    @field_validator("title")
    @classmethod
    def _title(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the title must not be blank")
        return _printable(value, "the title")

    @field_validator("decisions")
    @classmethod
    def _decisions(cls, value: Decisions) -> Decisions:
        for label in (value.approve, value.deny):
            if not label.strip() or len(label) > 75:  # a Slack button's text is 75 at most
                raise ValueError("each decision label must be 1 to 75 characters")
            _printable(label, "a decision label")
            if "{{" in label or "{%" in label:
                raise ValueError("a decision label is text, not a template")
        return value

    # The definitions as the client wrote them, for the built-in flow's YAML.
    _raw_inputs: list[dict[str, Any]] = PrivateAttr(default_factory=list)

    @model_validator(mode="wrap")
    @classmethod
    def _keep_raw_inputs(cls, data: Any, handler: Any) -> Any:
        model = handler(data)
        if isinstance(data, dict) and isinstance(model, ApprovalRequestSpec):
            model._raw_inputs = [dict(d) for d in data.get("inputs") or []]
        return model

    @property
    def raw_inputs(self) -> list[dict[str, Any]]:
        return self._raw_inputs

    @field_validator("inputs")
    @classmethod
    def _inputs(cls, value: list[InputDefinition]) -> list[InputDefinition]:
        seen: set[str] = set()
        for definition in value:
            if definition.id in seen:
                raise ValueError(f"duplicate input id '{definition.id}'")
            if definition.id == "comment":
                raise ValueError("input id 'comment' is reserved: the comment is its own field")
            seen.add(definition.id)
        return value

    @field_validator("commentRequired")
    @classmethod
    def _comment_rule(cls, value: str) -> str:
        if value.strip().upper() not in COMMENT_RULES:
            raise ValueError(f"must be one of {', '.join(COMMENT_RULES)}")
        return value.strip().upper()

    @field_validator("expireBehavior")
    @classmethod
    def _expire(cls, value: str) -> str:
        if value.strip().upper() not in BEHAVIORS:
            raise ValueError(f"must be one of {', '.join(BEHAVIORS)}")
        return value.strip().upper()

    @field_validator("timeout")
    @classmethod
    def _timeout(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            duration = parse_duration(value)
        except ValueError:
            raise ValueError(f"must be an ISO-8601 duration such as PT1H, got {value!r}") from None
        if duration <= timedelta(0) or duration > timedelta(days=366):
            raise ValueError("must be longer than 0 and at most a year")
        return value

    @field_validator("labels")
    @classmethod
    def _labels(cls, value: dict[str, str]) -> dict[str, str]:
        for key, text in value.items():
            if not key or len(key) > 100 or len(text) > 255:
                raise ValueError("label keys are 1 to 100 characters, values at most 255")
            if "=" in key:
                raise ValueError(f"label key {key!r} must not contain '='")
            if key in RESERVED_LABELS:
                raise ValueError(f"label {key!r} is not for requests: {RESERVED_LABELS[key]}")
            _printable(key, "a label key")
            _printable(text, "a label value")
        return value

    @field_validator("slack_channel", "idempotencyKey")
    @classmethod
    def _plain(cls, value: str | None) -> str | None:
        return _printable(value, "the value") if value is not None else None

    @field_validator("callbackUrl")
    @classmethod
    def _callback(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")) or len(value) < 10:
            raise ValueError("must be an http:// or https:// URL")
        return _printable(value, "the URL")

    @classmethod
    def parse(cls, data: Any) -> ApprovalRequestSpec:
        """Validates a JSON body; every problem is a ``FieldError`` with its path."""
        if not isinstance(data, dict):
            raise InputValidationError([FieldError("body", "must be a JSON object")])
        try:
            return cls.model_validate(data)
        except ValidationError as error:
            raise InputValidationError(
                [
                    FieldError(
                        ".".join(str(p) for p in item.get("loc", ())) or "body",
                        str(item.get("msg", "invalid")).removeprefix("Value error, "),
                    )
                    for item in error.errors(include_url=False, include_input=False)
                ]
            ) from None

    def all_labels(self) -> dict[str, str]:
        labels = dict(self.labels)
        if self.slack_channel:
            labels[CHANNEL_LABEL] = self.slack_channel
        return labels

    def fingerprint(self) -> str:
        """The same request sent twice has the same fingerprint (for the idempotency key)."""
        canonical = json.dumps(
            self.model_dump(by_alias=True, exclude={"idempotencyKey"}, mode="json"),
            sort_keys=True,
            separators=(",", ":"),
        )
        return hashlib.sha256(canonical.encode()).hexdigest()

    def trigger(self) -> dict[str, Any]:
        """The request's texts, as its execution's ``trigger`` (read by the Approval's
        templates as ``trigger.title`` ...; they are not inputs, so no surface lists them as
        values someone filled in)."""
        return {
            "type": TRIGGER_TYPE,
            "title": self.title,
            "description": self.description or "",
            "approveLabel": self.decisions.approve,
            "denyLabel": self.decisions.deny,
            "timeout": self.timeout or "",
        }


def flow_source(spec: ApprovalRequestSpec) -> tuple[str, str]:
    """The built-in flow for this request's form: (flow id, YAML). The form is what a template
    cannot carry: the review inputs, the assignment, the comment rule and the expiry behaviour."""
    shape: dict[str, Any] = {
        "inputs": spec.raw_inputs,
        "assignment": spec.assignment.model_dump() if spec.assignment else None,
        "commentRequired": spec.commentRequired,
        "expireBehavior": spec.expireBehavior,
    }
    if shape == {"inputs": [], "assignment": None, **DEFAULT_RULES}:
        flow_id = "request"
    else:
        digest = hashlib.sha256(json.dumps(shape, sort_keys=True).encode()).hexdigest()[:16]
        flow_id = f"request-{digest}"
    approval: dict[str, Any] = {
        "id": TASK_ID,
        "type": "io.kestra.plugin.core.flow.Approval",
        "title": "{{ trigger.title }}",
        "description": "{{ trigger.description }}",
        "decisions": {"approve": "{{ trigger.approveLabel }}", "deny": "{{ trigger.denyLabel }}"},
        "commentRequired": spec.commentRequired,
        "timeout": "{{ trigger.timeout }}",
        "approveBehavior": "CONTINUE",
        "denyBehavior": "CONTINUE",
        "expireBehavior": spec.expireBehavior,
    }
    if spec.raw_inputs:
        approval["inputs"] = spec.raw_inputs
    if spec.assignment:
        approval["assignment"] = shape["assignment"]
    flow = {"id": flow_id, "namespace": NAMESPACE, "tasks": [approval]}
    header = "# Built in: the flow behind POST /api/v1/approvals (do not edit).\n"
    return flow_id, header + yaml.safe_dump(flow, sort_keys=False, allow_unicode=True)


@dataclass(frozen=True)
class ApprovalView:
    """A request as its client sees it: the row, its execution and its Approval task run."""

    record: ApprovalRequestRecord
    execution: Execution
    run: TaskRun | None
    url: str

    @property
    def state(self) -> str:
        """The row's state, which the deciding transaction wrote; PENDING until then."""
        return self.record.state

    @property
    def is_final(self) -> bool:
        return self.state != "PENDING"

    def outputs(self) -> dict[str, Any]:
        return dict(self.run.outputs) if self.run is not None else {}

    def to_api(self) -> dict[str, Any]:
        outputs = self.outputs()
        asked = self.execution.trigger or {}
        resumed = outputs.get("resumed") or {}
        decided = self.state in ("APPROVED", "DENIED", "EXPIRED")
        return {
            "id": self.record.id,
            "state": self.state,
            "title": self.record.title,
            "description": asked.get("description") or None,
            "decision": outputs.get("decision") if decided else None,
            "by": outputs.get("by") if decided else (resumed.get("by") or {}).get("name"),
            "on": outputs.get("on") if decided else resumed.get("on"),
            "via": resumed.get("via"),
            "actor": resumed.get("by"),
            "comment": outputs.get("comment") if decided else None,
            "inputs": outputs.get("inputs") or {} if decided else {},
            "labels": self.record.labels,
            "idempotencyKey": self.record.idempotency_key,
            "callbackUrl": self.record.callback_url,
            "createdAt": iso(self.record.created_at),
            "expiresAt": self.run.deadline if self.run is not None and not decided else None,
            "executionId": self.execution.id,
            "taskRunId": self.run.id if self.run is not None else None,
            "url": self.url,
        }


class ApprovalRequests:
    """Create, read, list and cancel approval requests, through the engine's own methods."""

    def __init__(self, engine: Any) -> None:
        from engine.engine import Engine

        self.engine: Engine = engine
        self.queries = ApprovalRequestQueries(engine.store)
        self._deployed: set[str] = set()
        self._deploying = threading.Lock()

    def _ensure_flow(self, spec: ApprovalRequestSpec) -> str:
        flow_id, source = flow_source(spec)
        if flow_id in self._deployed:
            return flow_id
        with self._deploying:
            for attempt in (1, 2):
                try:
                    self.engine.deploy_flow(source, f"built-in approval flow {flow_id}")
                    break
                except IntegrityError:
                    # Another process deployed the same flow at the same moment: it is there now.
                    if attempt == 2:
                        raise
            self._deployed.add(flow_id)
        return flow_id

    def create(
        self, spec: ApprovalRequestSpec, *, client: str, by: Actor | None
    ) -> tuple[ApprovalView, bool]:
        """The request, and whether it is new. With an idempotency key already used by this
        client: the first request (a ``ConflictError`` when its body differed)."""
        fingerprint = spec.fingerprint()
        if spec.idempotencyKey is not None:
            existing = self.queries.by_key(client, spec.idempotencyKey)
            if existing is not None:
                return self._replay(existing, fingerprint), False
        flow_id = self._ensure_flow(spec)
        labels = spec.all_labels()

        def record(tx: Any, execution: Execution) -> None:
            tx.insert_approval_request(
                ApprovalRequestRecord(
                    id=execution.id,
                    client=client,
                    idempotency_key=spec.idempotencyKey,
                    request_hash=fingerprint,
                    state="PENDING",
                    title=spec.title,
                    labels=labels,
                    callback_url=spec.callbackUrl,
                    created_at=tx.now,
                    decided_at=None,
                )
            )

        try:
            execution = self.engine.start_execution(
                NAMESPACE,
                flow_id,
                {},
                labels=labels,
                by=by,
                via="api",
                trigger=spec.trigger(),
                record=record,
            )
        except IntegrityError:
            # Another request with this key committed first: nothing of ours was written.
            assert spec.idempotencyKey is not None
            existing = self.queries.by_key(client, spec.idempotencyKey)
            if existing is None:
                raise
            return self._replay(existing, fingerprint), False
        return self.get(execution.id, client=None), True

    def _replay(self, existing: ApprovalRequestRecord, fingerprint: str) -> ApprovalView:
        if existing.request_hash != fingerprint:
            raise ConflictError(
                f"The idempotency key '{existing.idempotency_key}' was used for another request "
                f"('{existing.id}') with different parameters; use a new key for a new request.",
                execution_id=existing.id,
                state=existing.state,
            )
        return self.get(existing.id, client=None)

    def get(self, request_id: str, *, client: str | None) -> ApprovalView:
        """``client`` None: any client's (an admin token); else only that client's (a request
        of another client is as unknown as a missing one)."""
        record = self.queries.by_id(request_id)
        if record is None or (client is not None and record.client != client):
            raise ApprovalRequestNotFound(request_id)
        return self._view(record)

    def _view(self, record: ApprovalRequestRecord) -> ApprovalView:
        execution = self.engine.get_execution(record.id)
        run = next((r for r in execution.taskRunList if r.taskId == TASK_ID), None)
        return ApprovalView(record, execution, run, self.engine.url_of(execution))

    def search(
        self,
        *,
        client: str | None,
        states: Sequence[str] = (),
        labels: dict[str, str] | None = None,
        page: int = 1,
        size: int = 25,
    ) -> tuple[list[ApprovalView], int]:
        unknown = [s for s in states if s not in STATES]
        if unknown:
            raise InputValidationError(
                [FieldError("state", f"must be one of {', '.join(STATES)}", unknown[0])]
            )
        size = max(1, min(size, 500))
        page = max(1, min(page, 1_000_000))
        records, total = self.queries.search(
            client=client, states=states, labels=labels, offset=(page - 1) * size, limit=size
        )
        return [self._view(r) for r in records], total

    def cancel(
        self, request_id: str, *, client: str | None, by: Actor | None, reason: str | None
    ) -> ApprovalView:
        """Withdraws a pending request: its execution is killed (every surface stops asking);
        a request already decided is a 409 saying who decided it."""
        view = self.get(request_id, client=client)
        # Naming the task run makes the engine refuse a decided request with who decided it.
        task_run_id = view.run.id if view.run is not None else None
        self.engine.kill_execution(
            request_id,
            by=by,
            via="api",
            reason=reason or "The approval request was cancelled.",
            task_run_id=task_run_id,
        )
        return self.get(request_id, client=None)

    def wait_until_asked(self, request_id: str, timeout: float = 10.0) -> None:
        """Advances the new execution to its Approval here, so the answer to the request can
        carry the task run and its links (the runner may get there first: that is fine)."""
        self.engine.run_until_blocked(request_id, timeout=timeout, poll=0.02)
