"""Kestra's ``Approval`` task: a pause that ends with a reviewer's decision.

``onWait`` runs first (the notification), then the task run pauses until someone approves or
denies it (``Engine.decide_approval``, the API's ``/actions/review``) or its ``timeout`` expires.
The decision picks the branch: ``onApprove``, ``onDeny``, or nothing when expired; ``errors`` and
``finally`` wrap it as in any flowable. Once the branch is done, the behaviour for that decision
says what happens to the execution: ``CONTINUE`` (the branch's own state), ``WARN``, ``FAIL``,
``SUCCEED`` (the execution ends SUCCESS), ``CANCEL`` (it ends CANCELLED: running tasks finish,
nothing new starts) or ``KILL`` (everything still running is killed). A branch that genuinely
failed is never hidden by a behaviour: the task fails.

With ``autoApprove`` true nothing pauses and ``onWait`` does not run: ``onApprove`` runs at once
with ``auto: true`` in the outputs.

Outputs (Kestra's): ``decision`` (APPROVED/DENIED/EXPIRED), ``auto``, ``by`` (the reviewer's
name), ``on`` (when), ``comment``, ``inputs`` (the review form's typed values), ``due`` (the
expiry, from ``timeout``) and ``url`` (the execution's page). ``title`` and ``assignment`` are
Kestra EE properties, honoured here: the title heads every surface's request, the assignment
restricts who may decide where a surface knows people (Slack).
"""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from engine.inputs import InputDefinition
from engine.states import State
from engine.tasks.base import Task, register
from engine.tasks.pause import Assignment

if TYPE_CHECKING:  # resolved by engine.tasks once every type is registered
    from engine.tasks import AnyTask


class Decision(str, Enum):
    APPROVED = "APPROVED"
    DENIED = "DENIED"
    EXPIRED = "EXPIRED"


class ReviewDecision(str, Enum):
    """What a reviewer chooses (Kestra's ``ReviewDecision`` query parameter)."""

    APPROVE = "APPROVE"
    DENY = "DENY"

    @property
    def decision(self) -> Decision:
        return Decision.APPROVED if self is ReviewDecision.APPROVE else Decision.DENIED


COMMENT_RULES = ("NEVER", "ALWAYS", "ON_DENY", "ON_APPROVE")
BEHAVIORS = ("CONTINUE", "WARN", "FAIL", "SUCCEED", "CANCEL", "KILL")


def comment_required(rule: str, decision: ReviewDecision) -> bool:
    return rule == "ALWAYS" or (
        rule == ("ON_APPROVE" if decision is ReviewDecision.APPROVE else "ON_DENY")
    )


def behavior_state(behavior: str, branch: State) -> State:
    """The task run's state once its branch ended without error (a failed branch stays failed)."""
    return {
        "CONTINUE": branch,
        "WARN": State.WARNING,
        "FAIL": State.FAILED,
        "SUCCEED": State.SUCCESS,
        "CANCEL": State.CANCELLED,
        "KILL": State.KILLED,
    }[behavior]


# The behaviours that end the whole execution, and how.
EXECUTION_ENDINGS = {"SUCCEED": State.SUCCESS, "CANCEL": State.CANCELLED, "KILL": State.KILLED}


class Decisions(BaseModel):
    """The labels of the two choices (templated), e.g. "Ship it" / "Hold"."""

    model_config = ConfigDict(extra="forbid")
    approve: str = "Approve"
    deny: str = "Deny"


def _literal_choice(value: str, allowed: tuple[str, ...], name: str) -> str:
    if "{{" not in value and value.strip().upper() not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    return value


@register
class ApprovalTask(Task):
    kind: ClassVar[Literal["runnable", "flowable"]] = "flowable"
    type_names = ("io.kestra.plugin.core.flow.Approval",)

    inputs: list[InputDefinition] | None = None
    decisions: Decisions = Field(default_factory=Decisions)
    commentRequired: str = "NEVER"
    autoApprove: bool | str = False
    approveBehavior: str = "CONTINUE"
    denyBehavior: str = "CANCEL"
    expireBehavior: str = "CANCEL"
    onWait: list[AnyTask] = Field(default_factory=list)
    onApprove: list[AnyTask] = Field(default_factory=list)
    onDeny: list[AnyTask] = Field(default_factory=list)
    errors: list[AnyTask] = Field(default_factory=list)
    finally_: list[AnyTask] = Field(default_factory=list, alias="finally")
    # Kestra EE properties
    title: str | None = None
    assignment: Assignment | None = None

    @field_validator("commentRequired")
    @classmethod
    def _comment_rule(cls, value: str) -> str:
        return _literal_choice(value, COMMENT_RULES, "commentRequired")

    @field_validator("approveBehavior", "denyBehavior", "expireBehavior")
    @classmethod
    def _behavior(cls, value: str) -> str:
        return _literal_choice(value, BEHAVIORS, "the behavior")

    @field_validator("inputs")
    @classmethod
    def _unique_inputs(cls, value: list[InputDefinition] | None) -> list[InputDefinition] | None:
        seen: set[str] = set()
        for definition in value or []:
            if definition.id in seen:
                raise ValueError(f"duplicate input id '{definition.id}'")
            if definition.id == "comment":
                raise ValueError(
                    "input id 'comment' is reserved: the reviewer's comment is its own field"
                )
            seen.add(definition.id)
        return value

    def behavior_for(self, decision: Decision) -> str:
        return {
            Decision.APPROVED: self.approveBehavior,
            Decision.DENIED: self.denyBehavior,
            Decision.EXPIRED: self.expireBehavior,
        }[decision]

    def branch(self, decision: Decision) -> list[Task]:
        if decision is Decision.APPROVED:
            return list(self.onApprove)
        if decision is Decision.DENIED:
            return list(self.onDeny)
        return []

    def child_blocks(self) -> dict[str, list[Any]]:
        return {
            "onWait": list(self.onWait),
            "onApprove": list(self.onApprove),
            "onDeny": list(self.onDeny),
            "errors": list(self.errors),
            "finally": list(self.finally_),
        }
