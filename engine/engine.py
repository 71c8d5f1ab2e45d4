"""The engine's front door. Every surface (CLI, HTTP API, web UI, Slack, signed links, timers)
enters through these few methods; none of them touches the database by itself.

Each method that changes state is one database transaction with a compare-and-set on the
execution's version, so exactly one of many concurrent deciders wins; the others get
``AlreadyDecided`` saying who won and when. Events for the outside world (paused, resumed,
killed, finished) are written to the outbox in that same transaction.

Actors are plain dicts: ``{"id": "U123", "name": "Ada"}`` (plus optional "email"); ``via`` is the
surface: "cli", "api", "slack", "ui", "link", "timer", "bulk", "webhook".
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from engine.clock import Clock, SystemClock, iso, parse_iso
from engine.concurrency import admit, fill_slots
from engine.errors import (
    AlreadyDecided,
    ConflictError,
    ExecutionNotFound,
    ExpressionError,
    FieldError,
    FlowNotFound,
    InputValidationError,
    PausebotError,
    TaskFailure,
    TaskRunNotFound,
)
from engine.executor import (
    ChildRequest,
    Settings,
    Step,
    apply_result,
    close_approval,
    decide,
    decide_approval_run,
    execution_url,
    expression_context,
    kill_everything,
    resolve_pause,
    restart_if_unpaused,
)
from engine.expressions import render_condition, render_value
from engine.expressions.functions import ERROR_LOGS_KEY, FILE_READER, KV_READER
from engine.flows import Flow, parse_flow
from engine.inputs import InputType, check_text, parse_duration, parse_inputs
from engine.kv import KVError, KVStore
from engine.model import CORRELATION_ID_LABEL, Execution, TaskRun, new_id
from engine.outbox import Outbox
from engine.queries import DateRange, SortKey
from engine.secret_values import mask_secrets
from engine.services import TaskServices
from engine.states import TERMINAL, State
from engine.storage import (
    FileNotFound,
    FileStorage,
    TaskFiles,
    UploadedFile,
    execution_prefix,
    storage_from_environment,
)
from engine.store.database import (  # noqa: F401 - the public URL helpers, for bot/
    check_schema,
    default_database_url,
    normalise_url,
)
from engine.store.store import LogEntry, NewEvent, Store
from engine.tasks.approval import ApprovalTask, Decision, ReviewDecision, comment_required
from engine.tasks.base import RunContext, Task, TaskResult
from engine.tasks.for_each_item import ForEachItemTask
from engine.tasks.pause import PauseTask
from engine.tasks.subflow import SubflowTask, parent_of
from engine.tasks.working_directory import WorkingDirectoryTask, directory_for, working_directory_of
from engine.tasks.working_directory import enclosing_task as enclosing_working_directory
from engine.tasks.working_directory import prepare as prepare_working_directory
from engine.tasks.working_directory import remove as remove_working_directory
from engine.waiting import ParsedExecutions, WaitingOverview, WaitingTask, describe, manual

log = logging.getLogger(__name__)

Actor = dict[str, Any]
CommitListener = Callable[[str, Sequence[NewEvent]], None]
# Hands a step decided inside a surface's transaction (start, resume) to the local runner: the
# execution as committed, and the task runs it must execute now (their lease is the runner's).
Dispatcher = Callable[[str, Execution, list[TaskRun]], None]

# Events after which the execution has work to do now (a runner must look at it).
_WAKING_EVENTS = frozenset({"created", "resumed", "killed"})

LEASE = timedelta(seconds=30)
BULK_BATCH = 100  # executions per transaction in a bulk resume


@dataclass(frozen=True)
class DeployedFlow:
    flow: Flow
    revision: int
    created: bool
    source: str


@dataclass(frozen=True)
class PurgeOutcome:
    executions: int
    logs: int


@dataclass(frozen=True)
class BulkOutcome:
    resumed: list[str]
    refused: dict[str, str]  # execution id -> why
    # execution id -> ConflictError.as_dict() (state, by, on, via, ...) for the refusals that
    # were 409s: the same shape a single request's 409 has.
    conflicts: dict[str, dict[str, Any]] = field(default_factory=dict)


class Engine:
    def __init__(
        self,
        store: Store | str,
        *,
        clock: Clock | None = None,
        settings: Settings | None = None,
        http_timeout: float = 30.0,
        migrate: bool = True,
        storage: FileStorage | None = None,
    ) -> None:
        """``migrate=False`` (read-only use) never writes the schema: a database that is not at
        our head revision raises ``SchemaError`` instead of being created or migrated."""
        if not isinstance(store, Store) and not migrate:
            check_schema(store, f"at {_safe_url(store)}")
        self.store = store if isinstance(store, Store) else Store(store, migrate=migrate)
        self.clock = clock or SystemClock()
        self.settings = settings or Settings()
        self.http_timeout = http_timeout
        self.services = TaskServices(self.store)
        self.services.kv = KVStore(self.store, self.clock)
        self.services.storage = TaskFiles(
            storage or storage_from_environment(self.store, self.clock)
        )
        self.settings.context_hooks.append(self._kv_context)
        self.settings.new_child = self._new_child
        self.settings.read_child = self._read_child
        self.outbox = Outbox(self.store, self.clock)
        # Parsed PAUSED executions by (id, version): lists re-read at volume parse only changes.
        self._waiting_cache = ParsedExecutions(maxsize=5000)
        self.settings.read_file = lambda namespace, uri: self.services.storage.read_for(
            namespace, uri
        )
        self._listeners: list[CommitListener] = []
        self._wakers: list[Callable[[str], None]] = []
        self._schedulers: list[Callable[[datetime], None]] = []
        self._dispatcher: tuple[str, Dispatcher] | None = None
        self._outbox_wakers: list[Callable[[str, str], None]] = []
        self._worker: Any = None  # engine.worker.Worker, once this process is a worker
        self._flows = lru_cache(maxsize=512)(self._load_flow_revision)
        self._revisions: dict[tuple[str, str, int], Flow] = {}
        self._leases_held: dict[tuple[str, str], int] = {}
        self._leases_lock = threading.Lock()
        self._lease_keeper: threading.Thread | None = None
        self._closed = threading.Event()
        self._woken: set[str] = set()  # parents whose child ended, to wake after the commit

    # -- wiring -------------------------------------------------------------------------
    def add_listener(self, listener: CommitListener) -> None:
        """Called after every commit that emitted events or made work due (never inside it)."""
        self._listeners.append(listener)

    def add_waker(self, waker: Callable[[str], None]) -> None:
        """Called (after the commit) with the id of an execution that has work to do now."""
        self._wakers.append(waker)

    def add_scheduler(self, scheduler: Callable[[datetime], None]) -> None:
        """Called (after the commit) with a future moment an execution must be looked at
        (a sleep, a pause's deadline), so a runner need not poll for it."""
        self._schedulers.append(scheduler)

    def add_outbox_waker(self, waker: Callable[[str, str], None]) -> None:
        """Called with (event kind, execution id) when another process committed an outbox
        event (PostgreSQL NOTIFY) or a dead worker's claims were released (kind "released"):
        an outbox consumer looks at the outbox then instead of waiting for its poll."""
        self._outbox_wakers.append(waker)

    def start_worker(self) -> Any:
        """Makes this process a worker (engine/worker.py): registered, heartbeating, sweeping
        stalled workers' claims, and (PostgreSQL) listening for other replicas' wake-ups.
        Idempotent; the runner calls it on start, an outbox consumer may."""
        from engine.worker import Worker

        with self._leases_lock:
            if self._worker is None:
                self._worker = Worker(self)
                self._worker.start()
            return self._worker

    def set_dispatcher(self, owner: str | None, dispatcher: Dispatcher | None = None) -> None:
        """Lets start and resume decide the next step in their own transaction and hand the
        runnable tasks to this runner (which then holds their lease as ``owner``)."""
        self._dispatcher = (owner, dispatcher) if owner and dispatcher else None

    def _notify(
        self, execution_id: str, events: Sequence[NewEvent], *, wake: bool | None = None
    ) -> None:
        for listener in self._listeners:
            try:
                listener(execution_id, events)
            except Exception:
                log.exception("commit listener failed")
        if wake is None:
            wake = not events or any(event.kind in _WAKING_EVENTS for event in events)
        if wake:
            for waker in self._wakers:
                try:
                    waker(execution_id)
                except Exception:
                    log.exception("runner wake-up failed")
        with self._leases_lock:
            woken, self._woken = self._woken, set()
        for parent_id in woken:  # parents whose child ended in a commit just made
            self._notify(parent_id, [])

    def _schedule(self, wake_at: datetime | None) -> None:
        if wake_at is None:
            return
        for scheduler in self._schedulers:
            try:
                scheduler(wake_at)
            except Exception:
                log.exception("runner scheduling failed")

    def _inline_step(
        self, execution: Execution, flow: Flow, now: datetime, lease_free: bool
    ) -> Step | None:
        """The next step decided in the caller's transaction, when a local runner can take its
        runnable tasks (None: leave it to the runner, as a separate transaction)."""
        if self._dispatcher is None or not lease_free:
            return None
        try:
            return decide(execution, flow, now, self.settings)
        except Exception as error:  # the runner will meet (and record) it on its own
            raise _InlineFailed() from error

    def _save_decision(
        self,
        tx: Any,
        stored: Any,
        execution: Execution,
        flow: Flow,
        events: list[NewEvent],
        now: datetime,
        inline: bool,
    ) -> Step | None:
        """Saves a decided execution in the deciding transaction; with ``inline`` (a local
        runner) its next step too, leased to that runner (returned for ``_hand_off``)."""
        step = self._inline_step(execution, flow, now, stored.lease_free(now)) if inline else None
        if step is None:
            self._save(tx, stored.version, execution, events, now=now, wake_at=now)
            return None
        events.extend(step.events)
        owner = self._dispatch_owner()
        lease = (owner, now + LEASE) if step.dispatch and owner else (None, None)
        self._save(
            tx, stored.version, execution, events, now=now, wake_at=step.wake_at, lease=lease
        )
        tx.append_logs(step.logs)
        self._insert_children(tx, step)
        return step

    def _insert_children(self, tx: Any, step: Step) -> None:
        """Subflow executions a step starts (and the files it writes for them, e.g. a
        ForEachItem's batches), in the step's own transaction."""
        for uri, data in step.files:
            self.services.storage.backend.put_in(tx, uri, data)
        for child in step.children:
            self._insert_execution(tx, child, self.flow_of(child), by=None, via="subflow")

    def _notify_children(self, step: Step) -> None:
        for child in step.children:
            self._notify(child.id, [])

    def _dispatch_owner(self) -> str | None:
        """The local runner's lease owner (None if it stopped meanwhile: the runnable tasks
        then stay due for any runner, which runs them as after a crash)."""
        dispatcher = self._dispatcher
        return dispatcher[0] if dispatcher is not None else None

    def _hand_off(self, execution: Execution, step: Step | None) -> None:
        if step is None:
            return
        self._notify_children(step)
        dispatcher = self._dispatcher
        if step.dispatch and dispatcher is not None:
            dispatcher[1](execution.id, execution, list(step.dispatch))
        elif not step.dispatch:
            self._schedule(step.wake_at)

    def _kv_context(self, execution: Execution, run: TaskRun | None) -> dict[str, Any]:
        """The ``kv()`` expression function reads the KV store through this."""
        return {KV_READER: self._read_kv, FILE_READER: self._file_reader(execution.namespace)}

    def _file_reader(self, namespace: str) -> Callable[[str, str], Any]:
        """``read(uri)`` and ``fileSize(uri)``: files of the execution's own namespace."""

        def access(what: str, uri: str) -> Any:
            files = self.services.storage
            if what == "size":
                return files.size_for(namespace, uri)
            return files.read_for(namespace, uri).decode("utf-8", errors="replace")

        return access

    def _read_kv(self, key: str, namespace: str, error_on_missing: bool) -> Any:
        record = self.services.kv.entry(namespace, key)
        if record is None:
            if error_on_missing:
                raise KVError(f"The key '{key}' does not exist in the namespace '{namespace}'.")
            return None
        return record.value

    def ping(self) -> bool:
        """Whether the database answers (for health checks)."""
        return self.store.ping()

    def url_of(self, execution: Execution) -> str:
        return execution_url(self.settings.public_url, execution)

    def close(self) -> None:
        self._closed.set()
        if self._worker is not None:
            self._worker.stop()
        self.store.close()

    def _remote(self, items: list[dict[str, Any]]) -> None:
        """What another process's NOTIFY said (engine/store/notify.py)."""
        for item in items:
            kind, execution_id = item.get("k"), str(item.get("id") or "")
            if kind == "hello":  # another worker started: it needs our notifications
                self.store.hellos += 1
                self.store.peers = True
            elif kind == "run" and execution_id:
                for waker in self._wakers:
                    waker(execution_id)
            elif kind == "at" and item.get("at"):
                self._schedule(parse_iso(str(item["at"])))
            elif kind == "event":
                for outbox_waker in self._outbox_wakers:
                    outbox_waker(str(item.get("kind") or ""), execution_id)

    def _released(self, executions: list[str]) -> None:
        for execution_id in executions:
            for waker in self._wakers:
                waker(execution_id)
        for outbox_waker in self._outbox_wakers:
            outbox_waker("released", "")

    # -- flows --------------------------------------------------------------------------
    def validate_flow(self, source: str, source_name: str = "flow") -> Flow:
        return parse_flow(source, source_name)

    def deploy_flow(self, source: str, source_name: str = "flow") -> DeployedFlow:
        flow = parse_flow(source, source_name)
        revision, created = self.store.save_flow(flow.namespace, flow.id, source, self.clock.now())
        return DeployedFlow(flow, revision, created, source)

    def get_flow(self, namespace: str, flow_id: str, revision: int | None = None) -> DeployedFlow:
        if revision is None:
            latest = self.store.latest_flow_revision(namespace, flow_id)
            if latest is None:
                raise FlowNotFound(namespace, flow_id)
            revision, source, _ = latest
        else:
            found = self.store.flow_revision(namespace, flow_id, revision)
            if found is None:
                raise FlowNotFound(namespace, flow_id, revision)
            source = found
        return DeployedFlow(
            self._flows(namespace, flow_id, revision, source), revision, False, source
        )

    def list_flows(self) -> list[DeployedFlow]:
        return [
            DeployedFlow(self._flows(ns, fid, rev, src), rev, False, src)
            for ns, fid, rev, src in self.store.list_flows()
        ]

    def delete_flow(self, namespace: str, flow_id: str) -> None:
        if not self.store.delete_flow(namespace, flow_id, self.clock.now()):
            raise FlowNotFound(namespace, flow_id)

    def flow_of(self, execution: Execution) -> Flow:
        # Revisions never change once written, so a parsed revision is cached for good.
        key = (execution.namespace, execution.flowId, execution.flowRevision)
        flow = self._revisions.get(key)
        if flow is None:
            flow = self.get_flow(*key).flow
            self._remember_revision(*key, flow)
        return flow

    def _remember_revision(self, namespace: str, flow_id: str, revision: int, flow: Flow) -> None:
        key = (namespace, flow_id, revision)
        if key not in self._revisions:
            if len(self._revisions) > 1024:
                self._revisions.clear()
            self._revisions[key] = flow

    @staticmethod
    def _load_flow_revision(namespace: str, flow_id: str, revision: int, source: str) -> Flow:
        return parse_flow(source, f"{namespace}.{flow_id} revision {revision}")

    # -- starting -----------------------------------------------------------------------
    def parse_start_inputs(self, flow: Flow, inputs: Mapping[str, Any] | None) -> dict[str, Any]:
        """The typed inputs an execution of ``flow`` would start with; raises
        ``InputValidationError`` (every field at once) without touching the database, so a caller
        can check values before deploying a flow."""
        return parse_inputs(
            flow.inputs,
            inputs or {},
            evaluate_condition=self._condition_evaluator(flow),
            reject_unknown=True,
        )

    def start_execution(
        self,
        namespace: str,
        flow_id: str,
        inputs: Mapping[str, Any] | None = None,
        *,
        labels: Mapping[str, str] | None = None,
        by: Actor | None = None,
        via: str = "api",
        trigger: dict[str, Any] | None = None,
        revision: int | None = None,
        record: Callable[[Any, Execution], None] | None = None,
    ) -> Execution:
        """``record(tx, execution)`` writes what belongs with the new execution in the same
        transaction (an approval request's row); if it raises, nothing is written."""
        deployed = self.get_flow(namespace, flow_id, revision)
        execution = self._new_execution(
            deployed, inputs, labels=labels, by=by, via=via, trigger=trigger
        )
        flow, now = deployed.flow, self.clock.now()
        # Inline first step (one transaction: a flow that starts with a Pause is PAUSED when this
        # commits) unless the flow's concurrency limit must admit it first.
        if self._dispatcher is not None and flow.concurrency is None:
            try:  # on a copy: a step that fails to decide leaves the execution as created
                return self._start_inline(
                    execution.model_copy(deep=True), flow, now, by, via, record
                )
            except _InlineFailed:
                log.warning("could not decide the first step of %s inline", execution.id)
        with self.store.transaction(now) as tx:
            self._insert_execution(tx, execution, flow, by=by, via=via)
            if record is not None:
                record(tx, execution)
        self._notify(execution.id, [])
        return execution

    def _start_inline(
        self,
        execution: Execution,
        flow: Flow,
        now: datetime,
        by: Actor | None,
        via: str,
        record: Callable[[Any, Execution], None] | None = None,
    ) -> Execution:
        step = self._inline_step(execution, flow, now, True)
        assert step is not None and self._dispatcher is not None
        created = NewEvent(
            "created",
            execution.id,
            None,
            {"namespace": execution.namespace, "flowId": execution.flowId, "by": by, "via": via},
        )
        with self.store.transaction(now) as tx:
            owner = self._dispatch_owner()
            lease = (owner, now + LEASE) if step.dispatch and owner else None
            tx.insert_execution(execution, wake_at=step.wake_at, lease=lease)
            if record is not None:
                record(tx, execution)
            tx.emit([created, *step.events])
            tx.append_logs(step.logs)
            self._insert_children(tx, step)
        self._notify(execution.id, [created, *step.events], wake=False)
        self._hand_off(execution, step)
        return execution

    def _new_execution(
        self,
        deployed: DeployedFlow,
        inputs: Mapping[str, Any] | None,
        *,
        labels: Mapping[str, str] | None,
        by: Actor | None,
        via: str,
        trigger: dict[str, Any] | None,
    ) -> Execution:
        """A CREATED execution with validated inputs, not yet stored."""
        flow = deployed.flow
        self._remember_revision(flow.namespace, flow.id, deployed.revision, flow)
        if flow.disabled:
            raise ConflictError(f"Flow '{flow.namespace}.{flow.id}' is disabled.")
        values = self.parse_start_inputs(flow, inputs)
        execution_id = new_id()
        # Kestra labels every execution with its correlation id (the caller may pass one on).
        given = {**flow.labels, **(labels or {})}
        given.setdefault(CORRELATION_ID_LABEL, execution_id)
        execution = Execution(
            id=execution_id,
            namespace=flow.namespace,
            flowId=flow.id,
            flowRevision=deployed.revision,
            inputs=values,
            labels=[{"key": k, "value": v} for k, v in given.items()],
            trigger=trigger,
            startedBy=by,
            startedVia=via,
            secretInputs=[d.id for d in flow.inputs if d.type == InputType.SECRET],
        )
        execution.move(State.CREATED, self.clock.now())
        base = execution_prefix(execution.namespace, execution.flowId, execution.id) + "/inputs"
        execution.inputs = self._store_uploads(execution.inputs, base)
        return execution

    def _store_uploads(
        self, values: Mapping[str, Any], base: str, prefix: str = ""
    ) -> dict[str, Any]:
        """FILE inputs received as uploads go to the file storage, before the transaction that
        uses them; the values keep their ``kestra:///…/<input id>/<name>`` URIs (as in Kestra)."""
        from engine.storage import StorageError, safe_name

        stored: dict[str, Any] = {}
        for key, value in values.items():
            input_id = f"{prefix}{key}"
            if isinstance(value, dict):
                stored[key] = self._store_uploads(value, base, f"{input_id}.")
            elif isinstance(value, UploadedFile):
                uri = f"{base}/{input_id}/{safe_name(value.name)}"
                try:
                    stored[key] = self.services.storage.backend.put(uri, value.data)
                except StorageError as error:
                    raise InputValidationError([FieldError(input_id, str(error))]) from None
            else:
                stored[key] = value
        return stored

    def _insert_execution(
        self, tx: Any, execution: Execution, flow: Flow, *, by: Actor | None, via: str
    ) -> None:
        """Stores a new execution (inside the caller's transaction) with its ``created`` event,
        queued, cancelled or failed at once when the flow's concurrency limit is reached."""
        ended = admit(tx, execution, flow, tx.now)
        due = execution.state.current == State.CREATED
        tx.insert_execution(execution, wake_at=tx.now if due else None)
        tx.emit(
            [
                NewEvent(
                    "created",
                    execution.id,
                    None,
                    {
                        "namespace": execution.namespace,
                        "flowId": execution.flowId,
                        "by": by,
                        "via": via,
                    },
                ),
                *ended,
            ]
        )
        if ended:
            self._saved_terminal(tx, execution)

    # -- subflows (the executor asks through Settings.new_child / read_child) -------------
    def _new_child(self, request: ChildRequest) -> Execution:
        try:
            deployed = self.get_flow(request.namespace, request.flow_id, request.revision)
        except FlowNotFound as error:
            raise TaskFailure(f"Unable to find the subflow: {error}") from None
        try:
            return self._new_execution(
                deployed,
                request.inputs,
                labels=request.labels,
                by=None,
                via="subflow",
                trigger=request.trigger,
            )
        except InputValidationError as error:
            raise TaskFailure(
                f"Invalid inputs for subflow {request.namespace}.{request.flow_id}: {error}"
            ) from None

    def _read_child(self, execution_id: str) -> tuple[Execution, Flow] | None:
        try:
            child = self.store.get_execution(execution_id).execution
        except ExecutionNotFound:
            return None
        return child, self.flow_of(child)

    def _child_ids(self, execution: Execution) -> list[str]:
        """The executions this one started with Subflow and ForEachItem tasks."""
        flow = self.flow_of(execution)
        ids: list[str] = []
        for run in execution.taskRunList:
            task = flow.find_task(run.taskId)
            if isinstance(task, SubflowTask) and run.outputs.get("executionId"):
                ids.append(str(run.outputs["executionId"]))
            elif isinstance(task, ForEachItemTask):
                ids.extend(str(i) for i in run.outputs.get("executions") or [])
        return ids

    def _cascade(self, execution: Execution, action: str, by: Actor | None, via: str) -> None:
        """Kills or pauses the running children of a killed or paused parent (each in its own
        transaction, after the parent's: a child finishing meanwhile is simply left as it is)."""
        for child_id in self._child_ids(execution):
            try:
                child = self.store.get_execution(child_id).execution
                if child.state.current in TERMINAL:
                    continue
                if action == "kill":
                    self.kill_execution(
                        child_id, by=by, via=via, reason=f"parent execution {execution.id} killed"
                    )
                elif child.state.current == State.RUNNING:
                    self.pause_execution(child_id, by=by, via=via)
            except PausebotError as error:
                log.info("cascading %s to %s: %s", action, child_id, error)

    def _condition_evaluator(self, flow: Flow) -> Callable[[str, dict], bool]:
        def evaluate(condition: str, values: dict) -> bool:
            return render_condition(
                condition, {"inputs": values, "flow": {"id": flow.id, "namespace": flow.namespace}}
            )

        return evaluate

    # -- reading ------------------------------------------------------------------------
    def get_execution(self, execution_id: str) -> Execution:
        return self.store.get_execution(execution_id).execution

    def search_executions(
        self,
        *,
        states: Sequence[str] = (),
        namespace: str | None = None,
        flow_id: str | None = None,
        text: str | None = None,
        labels: Mapping[str, str] | None = None,
        dates: DateRange | None = None,
        sort: Sequence[SortKey] = (),
        page: int = 1,
        size: int = 25,
    ) -> tuple[list[Execution], int]:
        """Executions matching every filter (text matched literally, see engine.queries)."""
        size = max(1, min(size, 500))
        page = max(1, min(page, 1_000_000))  # an offset any database can take
        return self.store.search_executions(
            states=[s.upper() for s in states],
            namespace=namespace,
            flow_id=flow_id,
            text=text,
            labels=labels,
            dates=dates,
            sort=sort,
            offset=(page - 1) * size,
            limit=size,
        )

    def count_executions_by_state(self) -> dict[str, int]:
        return self.store.count_executions_by_state()

    def execution_file(self, execution_id: str, uri: str) -> tuple[str, bytes]:
        """A file of an execution's storage (its FILE inputs, task outputs): (name, content).
        A URI outside the execution is a 422 naming ``path``; a missing file a 404."""
        from engine.storage import StorageError, check_uri

        execution = self.get_execution(execution_id)
        prefix = execution_prefix(execution.namespace, execution.flowId, execution.id) + "/"
        try:
            check_uri(uri)
        except StorageError as error:
            raise InputValidationError([FieldError("path", str(error), uri)]) from None
        if not uri.startswith(prefix):
            raise InputValidationError(
                [FieldError("path", f"is not a file of execution {execution_id}", uri)]
            )
        try:
            return uri.rsplit("/", 1)[-1], self.services.storage.backend.get(uri)
        except StorageError:
            raise FileNotFound(uri) from None

    def logs(self, execution_id: str, *, min_level: str | None = None) -> list[LogEntry]:
        self.store.get_execution(execution_id)  # 404 for unknown ids, not an empty list
        return self.store.list_logs(execution_id, min_level=min_level)

    def paused_task(
        self, execution: Execution, task_run_id: str | None = None
    ) -> tuple[PauseTask, TaskRun] | None:
        """The Pause a resume would decide: the given task run, else the first PAUSED one."""
        flow = self.flow_of(execution)
        runs = execution.paused_task_runs()
        if task_run_id is not None:
            runs = [r for r in execution.taskRunList if r.id == task_run_id]
        for run in runs:
            task = flow.find_task(run.taskId)
            if isinstance(task, PauseTask):
                return task, run
        return None

    def context_for(self, execution: Execution, run: TaskRun | None = None) -> dict[str, Any]:
        flow = self.flow_of(execution)
        task = flow.find_task(run.taskId) if run else None
        return expression_context(execution, flow, task, run, self.settings)

    # -- deciding -----------------------------------------------------------------------
    def _store_decision_uploads(
        self, execution_id: str, values: Mapping[str, Any] | None
    ) -> Mapping[str, Any] | None:
        """Files an approver attached (FILE onResume / Approval inputs), stored before the
        decision's transaction under ``…/executions/<id>/resume/<random>/<input id>/<name>``."""
        if not values or not any(_holds_upload(v) for v in values.values()):
            return values
        execution = self.get_execution(execution_id)
        base = (
            f"{execution_prefix(execution.namespace, execution.flowId, execution.id)}"
            f"/resume/{new_id()[:12]}"
        )
        return self._store_uploads(values, base)

    def resume_execution(
        self,
        execution_id: str,
        values: Mapping[str, Any] | None = None,
        *,
        by: Actor | None = None,
        via: str = "api",
        task_run_id: str | None = None,
        token_id: str | None = None,
    ) -> Execution:
        """Resumes the first paused task run (or ``task_run_id``) with typed onResume values.

        Exactly-once: the state is re-read under a lock; a pause decided meanwhile raises
        ``AlreadyDecided`` naming who decided. Invalid values raise ``InputValidationError``
        and change nothing. ``token_id`` spends a single-use token in the same transaction.
        """
        values = self._store_decision_uploads(execution_id, values)
        if self._dispatcher is not None:
            try:
                return self._resume(execution_id, values, by, via, task_run_id, token_id, True)
            except _InlineFailed:
                log.warning("could not decide the step after resuming %s inline", execution_id)
        return self._resume(execution_id, values, by, via, task_run_id, token_id, False)

    def _resume(
        self,
        execution_id: str,
        values: Mapping[str, Any] | None,
        by: Actor | None,
        via: str,
        task_run_id: str | None,
        token_id: str | None,
        inline: bool,
    ) -> Execution:
        """The resume, and with a local runner the next step in the same transaction (the
        runner then only executes the next task and commits its result)."""
        now = self.clock.now()
        with self.store.transaction(now) as tx:
            execution, events, step = self._resume_in(
                tx, now, execution_id, values, by, via, task_run_id, token_id, inline
            )
        self._notify(execution.id, events, wake=None if step is None else False)
        self._hand_off(execution, step)
        return execution

    def _resume_in(
        self,
        tx: Any,
        now: datetime,
        execution_id: str,
        values: Mapping[str, Any] | None,
        by: Actor | None,
        via: str,
        task_run_id: str | None,
        token_id: str | None,
        inline: bool,
    ) -> tuple[Execution, list[NewEvent], Step | None]:
        stored = tx.load_execution(execution_id)
        execution = stored.execution
        flow = self.flow_of(execution)
        run = self._run_to_resume(execution, task_run_id)
        events: list[NewEvent] = []
        if run is None:
            if execution.state.current != State.PAUSED:
                raise self._not_paused(execution)
            # A manual pause: nothing to fill in, just let it run again.
            execution.pausedManually = False
            restart_if_unpaused(execution, now)
            events.append(
                NewEvent(
                    "resumed",
                    execution.id,
                    None,
                    {
                        "namespace": execution.namespace,
                        "flowId": execution.flowId,
                        "taskId": None,
                        "by": by,
                        "via": via,
                        "on": iso(now),
                        "to": "SUCCESS",
                        "values": {},
                        "manual": True,
                    },
                )
            )
        else:
            task = flow.find_task(run.taskId)
            if isinstance(task, ApprovalTask):
                run = self._pause_instead_of(execution, flow, run, task_run_id)
                task = flow.find_task(run.taskId)
            assert isinstance(task, PauseTask)
            parsed = parse_inputs(
                task.onResume or [],
                values or {},
                evaluate_condition=self._condition_evaluator(flow),
                reject_unknown=True,
            )
            events.append(
                resolve_pause(
                    execution,
                    task,
                    run,
                    to=State.SUCCESS,
                    values=parsed,
                    by=by,
                    via=via,
                    now=now,
                )
            )
            if not execution.paused_task_runs():
                execution.pausedManually = False
            restart_if_unpaused(execution, now)
        if token_id is not None and not tx.spend_token(token_id, execution.id):
            raise ConflictError("This link was already used.", execution_id=execution.id)
        step = self._save_decision(tx, stored, execution, flow, events, now, inline)
        return execution, events, step

    def _run_to_resume(self, execution: Execution, task_run_id: str | None) -> TaskRun | None:
        if task_run_id is not None:
            run = execution.task_run(task_run_id)
            if run is None:
                raise TaskRunNotFound(execution.id, task_run_id)
            if run.state.current != State.PAUSED:
                raise self._decided(execution, run)
            return run
        paused = execution.paused_task_runs()
        return paused[0] if paused else None

    def _pause_instead_of(
        self, execution: Execution, flow: Flow, approval: TaskRun, task_run_id: str | None
    ) -> TaskRun:
        """A resume names no decision, so it never decides an Approval (as in Kestra): without
        a task run id it takes the first paused Pause, else it is refused."""
        if task_run_id is None:
            for run in execution.paused_task_runs():
                if isinstance(flow.find_task(run.taskId), PauseTask):
                    return run
        raise ConflictError(
            f"Execution '{execution.id}' is waiting for a decision on Approval "
            f"'{approval.taskId}' (task run '{approval.id}'): approve or deny it "
            "(POST /api/v1/executions/{id}/actions/review) instead of resuming it.",
            execution_id=execution.id,
            state=execution.state.current.value,
        )

    def _decided(self, execution: Execution, run: TaskRun) -> ConflictError:
        resumed = run.outputs.get("resumed")
        if resumed:
            action = _DECIDED_ACTIONS.get(resumed.get("to"), "resumed")
            to = resumed.get("to")
            if to == "KILLING":  # what the pause recorded; the execution ended KILLED
                to = State.KILLED.value
            return AlreadyDecided(
                execution.id,
                by=resumed.get("by"),
                on=resumed.get("on"),
                via=resumed.get("via"),
                to=to,
                action=action,
                state=execution.state.current.value,
            )
        if execution.state.current == State.KILLED:
            return _killed(execution)
        return ConflictError(
            f"Task run '{run.id}' of execution '{execution.id}' is {run.state.current.value}, not PAUSED.",
            execution_id=execution.id,
            state=execution.state.current.value,
        )

    def why_not_paused(self, execution: Execution) -> ConflictError:
        """The 409 for deciding ``execution`` when nothing of it waits: who decided (or killed)
        it, when and via what, else its state. For surfaces that check before acting."""
        return self._not_paused(execution)

    def _not_paused(self, execution: Execution) -> ConflictError:
        # Say who decided the most recent pause, if one was decided.
        for run in reversed(execution.taskRunList):
            if run.outputs.get("resumed"):
                return self._decided(execution, run)
        if execution.state.current == State.KILLED:
            return _killed(execution)
        return ConflictError(
            f"Execution '{execution.id}' is not paused, can't resume it (state {execution.state.current.value}).",
            execution_id=execution.id,
            state=execution.state.current.value,
        )

    def resume_many(
        self, execution_ids: Sequence[str], *, by: Actor | None = None, via: str = "bulk"
    ) -> BulkOutcome:
        """Bulk resume with defaults, reasons for the ones refused. Each execution is decided on
        its own (a savepoint: one refusal changes nothing else), ``BULK_BATCH`` of them per
        transaction, so ten thousand cost a hundred commits rather than ten thousand."""
        resumed: list[str] = []
        refused: dict[str, str] = {}
        conflicts: dict[str, dict[str, Any]] = {}
        unique = list(dict.fromkeys(execution_ids))
        for start in range(0, len(unique), BULK_BATCH):
            batch = unique[start : start + BULK_BATCH]
            if self._dispatcher is not None:
                try:
                    done = self._resume_batch(batch, by, via, inline=True)
                except _InlineFailed:
                    done = self._resume_batch(batch, by, via, inline=False)
            else:
                done = self._resume_batch(batch, by, via, inline=False)
            for execution_id, outcome in done.items():
                if isinstance(outcome, PausebotError):
                    refused[execution_id] = str(outcome)
                    if isinstance(outcome, ConflictError):
                        conflicts[execution_id] = outcome.as_dict()
                else:
                    resumed.append(execution_id)
        return BulkOutcome(resumed, refused, conflicts)

    def _resume_batch(
        self, batch: Sequence[str], by: Actor | None, via: str, *, inline: bool
    ) -> dict[str, tuple[Execution, list[NewEvent], Step | None] | PausebotError]:
        """One transaction for the batch: the rows loaded (and locked) with one query, each
        resume decided on its own. A refusal always comes before its execution's first write
        (no tokens, no values here), so it changes nothing; were it ever otherwise, the batch
        is rolled back and redone one execution at a time."""
        now = self.clock.now()
        outcomes: dict[str, tuple[Execution, list[NewEvent], Step | None] | PausebotError] = {}
        try:
            with self.store.transaction(now) as tx:
                tx.preload(batch)
                for execution_id in batch:
                    writes = tx.writes
                    try:
                        outcomes[execution_id] = self._resume_in(
                            tx, now, execution_id, {}, by, via, None, None, inline
                        )
                    except PausebotError as error:
                        if tx.writes != writes:
                            raise _BatchBroken() from error
                        outcomes[execution_id] = error
        except _BatchBroken:
            return self._resume_one_by_one(batch, by, via)
        for outcome in outcomes.values():
            if not isinstance(outcome, PausebotError):
                execution, events, step = outcome
                self._notify(execution.id, events, wake=None if step is None else False)
                self._hand_off(execution, step)
        return outcomes

    def _resume_one_by_one(
        self, batch: Sequence[str], by: Actor | None, via: str
    ) -> dict[str, tuple[Execution, list[NewEvent], Step | None] | PausebotError]:
        outcomes: dict[str, tuple[Execution, list[NewEvent], Step | None] | PausebotError] = {}
        for execution_id in batch:
            try:
                execution = self.resume_execution(execution_id, {}, by=by, via=via)
                outcomes[execution_id] = (execution, [], None)
            except PausebotError as error:
                outcomes[execution_id] = error
        return outcomes

    def pause_execution(
        self, execution_id: str, *, by: Actor | None = None, via: str = "api"
    ) -> Execution:
        now = self.clock.now()
        with self.store.transaction(now) as tx:
            stored = tx.load_execution(execution_id)
            execution = stored.execution
            if execution.state.current == State.KILLED:
                raise _killed(execution)
            if execution.state.current not in (State.RUNNING, State.CREATED, State.RESTARTED):
                raise ConflictError(
                    f"Execution '{execution_id}' is not running (state {execution.state.current.value}), can't pause it.",
                    execution_id=execution_id,
                    state=execution.state.current.value,
                )
            if execution.state.current != State.RUNNING:
                execution.move(State.RUNNING, now)
            execution.move(State.PAUSED, now)
            execution.pausedManually = True
            events = [
                NewEvent(
                    "paused",
                    execution.id,
                    None,
                    {
                        "namespace": execution.namespace,
                        "flowId": execution.flowId,
                        "taskId": None,
                        "description": None,
                        "deadline": None,
                        "manual": True,
                        "by": by,
                        "via": via,
                    },
                )
            ]
            self._save(tx, stored.version, execution, events, now=now, wake_at=None)
            tx.append_logs(
                [
                    LogEntry(
                        execution.id,
                        None,
                        None,
                        "INFO",
                        f"Execution paused by {_who(by)} via {via}.",
                        now,
                    )
                ]
            )
        self._notify(execution.id, events)
        self._cascade(execution, "pause", by, via)
        return execution

    def kill_execution(
        self,
        execution_id: str,
        *,
        by: Actor | None = None,
        via: str = "api",
        reason: str | None = None,
        task_run_id: str | None = None,
    ) -> Execution:
        """Kills the execution. With ``task_run_id`` (a Reject of that one pause, e.g. from
        Slack) only while that task run is still PAUSED; else ``AlreadyDecided`` says who won.
        A reason with a control character (other than tab and newline) is refused first
        (``InputValidationError`` on ``reason``)."""
        check_text("reason", reason)
        now = self.clock.now()
        with self.store.transaction(now) as tx:
            stored = tx.load_execution(execution_id)
            execution = stored.execution
            if task_run_id is not None:
                self._run_to_resume(execution, task_run_id)  # raises unless still PAUSED
            if execution.state.current in TERMINAL:
                if execution.state.current == State.KILLED:
                    raise _killed(execution)
                raise ConflictError(
                    f"Execution '{execution_id}' already ended with {execution.state.current.value}.",
                    execution_id=execution_id,
                    state=execution.state.current.value,
                )
            flow = self.flow_of(execution)
            execution.killedBy = by
            execution.killedVia = via
            execution.killReason = reason
            execution.move(State.KILLING, now)
            events: list[NewEvent] = []
            for run in execution.paused_task_runs():
                task = flow.find_task(run.taskId)
                if isinstance(task, PauseTask):
                    events.append(
                        resolve_pause(
                            execution,
                            task,
                            run,
                            to=State.KILLING,
                            values=None,
                            by=by,
                            via=via,
                            now=now,
                        )
                    )
                elif isinstance(task, ApprovalTask):
                    events.append(
                        close_approval(execution, run, to=State.KILLING, by=by, via=via, now=now)
                    )
            kill_everything(execution, now)
            execution.finalState = State.KILLED
            execution.move(State.KILLED, now)
            if reason:
                for event in events:
                    event.payload["reason"] = reason
            events.append(
                NewEvent(
                    "finished",
                    execution.id,
                    None,
                    {
                        "namespace": execution.namespace,
                        "flowId": execution.flowId,
                        "state": "KILLED",
                        "by": by,
                        "via": via,
                        "reason": reason,
                    },
                )
            )
            message = f"Execution killed by {_who(by)} via {via}" + (
                f": {reason}" if reason else "."
            )
            tx.append_logs([LogEntry(execution.id, None, None, "WARN", message, now)])
            self._save(tx, stored.version, execution, events, now=now, wake_at=None)
        self._notify(execution.id, events)
        self._cascade(execution, "kill", by, via)
        return execution

    def review_execution(
        self,
        execution_id: str,
        task_run_id: str | None,
        decision: ReviewDecision | str,
        *,
        comment: str | None = None,
        values: Mapping[str, Any] | None = None,
        by: Actor | None = None,
        via: str = "api",
        token_id: str | None = None,
    ) -> Execution:
        """Approves or denies a PAUSED Approval task run (the first one without
        ``task_run_id``), with its review ``inputs`` and the reviewer's ``comment``.

        Exactly-once like a resume: re-read under a lock; a run decided meanwhile (by a
        reviewer, the expiry timer or a kill) raises ``AlreadyDecided`` naming who; a request
        whose ``timeout`` has passed is refused (the timer records EXPIRED). A comment the
        ``commentRequired`` rule asks for, or invalid inputs, raise ``InputValidationError``
        and change nothing; a task run that is not an Approval too (path ``taskRunId``).
        """
        values = self._store_decision_uploads(execution_id, values)
        choice = _review_decision(decision)
        check_text("comment", comment)
        comment = (comment or "").strip() or None
        args = (execution_id, task_run_id, choice, comment, values, by, via, token_id)
        if self._dispatcher is not None:
            try:
                return self._review(*args, inline=True)
            except _InlineFailed:
                log.warning("could not decide the step after reviewing %s inline", execution_id)
        return self._review(*args, inline=False)

    def _review(
        self,
        execution_id: str,
        task_run_id: str | None,
        choice: ReviewDecision,
        comment: str | None,
        values: Mapping[str, Any] | None,
        by: Actor | None,
        via: str,
        token_id: str | None,
        *,
        inline: bool,
    ) -> Execution:
        now = self.clock.now()
        with self.store.transaction(now) as tx:
            stored = tx.load_execution(execution_id)
            execution = stored.execution
            flow = self.flow_of(execution)
            run, task = self._approval_run(execution, flow, task_run_id)
            if run.deadline is not None and parse_iso(run.deadline) <= now:
                raise ConflictError(
                    f"The approval request '{run.taskId}' of execution '{execution.id}' expired "
                    f"at {run.deadline}; the decision was not recorded.",
                    execution_id=execution.id,
                    state=execution.state.current.value,
                )
            context = expression_context(execution, flow, task, run, self.settings)
            rule = str(render_value(task.commentRequired, context)).strip().upper()
            if comment is None and comment_required(rule, choice):
                raise InputValidationError(
                    [FieldError("comment", f"a comment is required to {choice.value.lower()}")]
                )
            parsed = parse_inputs(
                task.inputs or [],
                values or {},
                evaluate_condition=self._condition_evaluator(flow),
                reject_unknown=True,
            )
            events = [
                decide_approval_run(
                    execution,
                    task,
                    run,
                    decision=choice.decision,
                    comment=comment,
                    values=parsed,
                    by=by,
                    via=via,
                    now=now,
                )
            ]
            restart_if_unpaused(execution, now)
            if token_id is not None and not tx.spend_token(token_id, execution.id):
                raise ConflictError("This link was already used.", execution_id=execution.id)
            step = self._save_decision(tx, stored, execution, flow, events, now, inline)
        self._notify(execution.id, events, wake=None if step is None else False)
        self._hand_off(execution, step)
        return execution

    def _approval_run(
        self, execution: Execution, flow: Flow, task_run_id: str | None
    ) -> tuple[TaskRun, ApprovalTask]:
        if task_run_id is None:
            for paused in execution.paused_task_runs():
                task = flow.find_task(paused.taskId)
                if isinstance(task, ApprovalTask):
                    return paused, task
            if execution.state.current == State.PAUSED:
                raise ConflictError(
                    f"Execution '{execution.id}' has no Approval waiting for a decision: "
                    "resume it instead.",
                    execution_id=execution.id,
                    state=execution.state.current.value,
                )
            raise self._not_paused(execution)
        run = execution.task_run(task_run_id)
        if run is None:
            raise TaskRunNotFound(execution.id, task_run_id)
        task = flow.find_task(run.taskId)
        if not isinstance(task, ApprovalTask):
            raise InputValidationError(
                [
                    FieldError(
                        "taskRunId",
                        f"task run '{task_run_id}' is task '{run.taskId}', not an Approval"
                        + (": resume it instead" if isinstance(task, PauseTask) else ""),
                        task_run_id,
                    )
                ]
            )
        if run.state.current != State.PAUSED:
            raise self._decided(execution, run)
        return run, task

    def review_many(
        self,
        execution_ids: Sequence[str],
        decision: ReviewDecision | str,
        *,
        comment: str | None = None,
        by: Actor | None = None,
        via: str = "bulk",
    ) -> BulkOutcome:
        """Bulk approve or deny: the first waiting Approval of each execution, with its
        inputs' defaults; the ones refused (not waiting, comment required, ...) say why."""
        decided: list[str] = []
        refused: dict[str, str] = {}
        for execution_id in dict.fromkeys(execution_ids):
            try:
                self.review_execution(
                    execution_id, None, decision, comment=comment, values={}, by=by, via=via
                )
                decided.append(execution_id)
            except PausebotError as error:
                refused[execution_id] = str(error)
        return BulkOutcome(decided, refused)

    def decide_waiting(
        self,
        execution_id: str,
        task_run_id: str | None,
        choice: str,
        *,
        values: Mapping[str, Any] | None = None,
        comment: str | None = None,
        by: Actor | None = None,
        via: str = "api",
        token_id: str | None = None,
    ) -> Execution:
        """One entry point for a ``WaitingTask`` choice: ``resume`` resumes a Pause (or a
        manual pause), ``approve``/``deny`` review an Approval."""
        if choice == "resume":
            return self.resume_execution(
                execution_id, values, by=by, via=via, task_run_id=task_run_id, token_id=token_id
            )
        if choice in ("approve", "deny"):
            return self.review_execution(
                execution_id,
                task_run_id,
                choice,
                comment=comment,
                values=values,
                by=by,
                via=via,
                token_id=token_id,
            )
        raise InputValidationError(
            [FieldError("decision", f"choose resume, approve or deny, not {choice!r}", choice)]
        )

    def waiting_tasks(self, execution: Execution) -> list[WaitingTask]:
        """Everything in this execution waiting for a person (see engine/waiting.py)."""
        flow = self.flow_of(execution)
        url = self.url_of(execution)
        found: list[WaitingTask] = []
        for run in execution.paused_task_runs():
            task = flow.find_task(run.taskId)
            if task is None:
                continue
            described = describe(execution, run, task, self._renderer(execution, flow), url)
            if described is not None:
                found.append(described)
        if not found and execution.state.current == State.PAUSED and execution.pausedManually:
            found.append(manual(execution, url))
        return found

    def waiting_overview(
        self,
        *,
        namespace: str | None = None,
        flow_id: str | None = None,
        text: str | None = None,
        limit: int = 1000,
    ) -> WaitingOverview:
        """Every PAUSED execution matching the filter, most urgent first (see engine/waiting.py),
        with per-flow counts: two queries whatever the number of pauses."""
        rows, by_flow = self.store.waiting_executions(
            namespace=namespace,
            flow_id=flow_id,
            text=text,
            limit=max(1, min(limit, 5000)),
            known=self._waiting_cache.get,
        )
        for execution, version in rows:
            self._waiting_cache.put(execution.id, version, execution)
        return WaitingOverview([execution for execution, _ in rows], by_flow)

    def waiting_task(self, execution: Execution, task_run_id: str) -> WaitingTask | None:
        for waiting in self.waiting_tasks(execution):
            if waiting.task_run_id == task_run_id:
                return waiting
        return None

    def described_task(self, execution: Execution, task_run_id: str) -> WaitingTask | None:
        """The ``WaitingTask`` view of a Pause/Approval task run in any state: a decided one
        keeps its rendered title and decision labels for the surfaces showing its outcome."""
        run = execution.task_run(task_run_id)
        if run is None:
            return None
        flow = self.flow_of(execution)
        task = flow.find_task(run.taskId)
        if task is None:
            return None
        return describe(
            execution, run, task, self._renderer(execution, flow), self.url_of(execution)
        )

    def _renderer(self, execution: Execution, flow: Flow) -> Callable[[Task, TaskRun, Any], Any]:
        def render(task: Task, run: TaskRun, value: Any) -> Any:
            context = expression_context(execution, flow, task, run, self.settings)
            return render_value(value, context)

        return render

    def set_labels(self, execution_id: str, labels: Mapping[str, str]) -> Execution:
        """Adds or replaces labels (Kestra's POST .../labels), in any state, in one
        transaction; labels not named are kept."""
        now = self.clock.now()
        with self.store.transaction(now) as tx:
            stored = tx.load_execution(execution_id)
            execution = stored.execution
            merged = {**execution.label_map(), **labels}
            execution.labels = [{"key": k, "value": v} for k, v in merged.items()]
            self._save(tx, stored.version, execution, [], now=now, wake_at=None)
        return execution

    def fail_execution(self, execution_id: str, reason: str) -> None:
        """Ends an execution the engine cannot advance (a bug or data it cannot store), so it
        fails visibly with the reason in its log instead of being retried forever."""
        now = self.clock.now()
        with self.store.transaction(now) as tx:
            stored = tx.load_execution(execution_id)
            execution = stored.execution
            if execution.state.current in TERMINAL:
                return
            for run in execution.taskRunList:
                if run.state.current not in TERMINAL:
                    run.move(
                        State.KILLED if run.state.current == State.CREATED else State.FAILED, now
                    )
            if execution.state.current in (State.RESTARTED, State.KILLING):
                execution.move(
                    State.RUNNING if execution.state.current == State.RESTARTED else State.KILLED,
                    now,
                )
            if execution.state.current not in TERMINAL:
                execution.move(State.FAILED, now)
            execution.finalState = execution.state.current
            message = f"pausebot could not advance this execution and stopped it: {reason}"[:4000]
            events = [
                NewEvent(
                    "finished",
                    execution.id,
                    None,
                    {
                        "namespace": execution.namespace,
                        "flowId": execution.flowId,
                        "state": execution.state.current.value,
                    },
                )
            ]
            self._save(tx, stored.version, execution, events, now=now, wake_at=None)
            tx.append_logs([LogEntry(execution.id, None, None, "ERROR", message, now)])
        self._notify(execution_id, events)

    def _save(
        self,
        tx: Any,
        version: int,
        execution: Execution,
        events: list[NewEvent],
        *,
        now: datetime,
        wake_at: datetime | None,
        lease: tuple[str | None, datetime | None] | None = None,
    ) -> None:
        if not tx.save_execution(execution, version, wake_at=wake_at, lease=lease):
            # Only reachable without row locks; the caller's read is stale, so nothing is written.
            raise ConflictError(
                f"Execution '{execution.id}' changed meanwhile; try again.",
                execution_id=execution.id,
            )
        tx.emit(events)
        if execution.state.current in TERMINAL:
            self._saved_terminal(tx, execution)

    def _saved_terminal(self, tx: Any, execution: Execution) -> None:
        """What an execution's end does in its own transaction: a waiting parent is woken, and
        a queued execution of the same flow takes the freed concurrency slot."""
        woken: list[str] = []
        parent = parent_of(execution.trigger)
        if parent and parent.get("wait"):
            tx.wake_execution(str(parent["executionId"]))
            woken.append(str(parent["executionId"]))
        try:
            flow: Flow | None = self.flow_of(execution)
        except PausebotError:  # its revision is gone (fail_execution's case): no slots to free
            flow = None
        if flow is not None and flow.concurrency is not None:
            woken.extend(fill_slots(tx, flow, tx.now))
        if woken:
            with self._leases_lock:
                self._woken.update(woken)

    # -- advancing (the runner's side) --------------------------------------------------
    def advance(
        self,
        execution_id: str,
        owner: str,
        *,
        max_steps: int = 10_000,
        handoff: tuple[Execution, list[TaskRun]] | None = None,
    ) -> Execution | None:
        """Claims the execution and advances it until it waits (pause, sleep, retry) or ends.
        Runnable tasks execute here, outside any transaction. Returns None if not claimed.

        The claim rides in the first transaction and the release in the last, so a resumed
        execution whose next task is quick costs two commits. ``handoff`` is a step that start
        or resume already decided (and leased to ``owner``) in their own transaction: its task
        runs execute at once, so such a resume costs the runner one commit."""
        execution: Execution | None = None
        results: list[tuple[str, TaskResult | None, str | None]] = []
        claimed = False
        first = 0
        try:
            if handoff is not None:
                execution, runs = handoff
                claimed = True
                first = 1
                flow = self.flow_of(execution)
                with self._heartbeat(execution_id, owner):
                    results = self._execute(execution, flow, runs)
            for index in range(first, max_steps):
                now = self.clock.now()
                with self.store.transaction(now) as tx:
                    if index == 0:
                        if not tx.claim_execution(execution_id, owner, LEASE):
                            return None
                        claimed = True
                    stored = tx.load_execution(execution_id)
                    execution = stored.execution
                    flow = self.flow_of(execution)
                    logs: list[LogEntry] = []
                    for run_id, result, error in results:
                        logs.extend(apply_result(execution, flow, run_id, result, error, now))
                    step: Step = decide(execution, flow, now, self.settings, orphans=index == 0)
                    lease = (owner, now + LEASE) if step.dispatch else (None, None)
                    if step.changed or results or logs:
                        self._save(
                            tx,
                            stored.version,
                            execution,
                            step.events,
                            now=now,
                            wake_at=step.wake_at,
                            lease=lease,
                        )
                    elif not step.dispatch:
                        tx.release_execution(execution_id, owner)
                    else:
                        tx.extend_lease(execution_id, owner, LEASE)
                    tx.append_logs([*logs, *step.logs])
                    self._insert_children(tx, step)
                    claimed = bool(step.dispatch)
                results = []
                self._remove_finished_working_dirs(execution, flow)
                if step.events:
                    self._notify(execution_id, step.events, wake=False)
                self._notify_children(step)
                if not step.dispatch:
                    self._schedule(step.wake_at)
                    break
                with self._heartbeat(execution_id, owner):
                    results = self._execute(execution, flow, step.dispatch)
        finally:
            if claimed:
                self.store.release_execution(execution_id, owner)
        return execution

    @contextmanager
    def _heartbeat(self, execution_id: str, owner: str) -> Iterator[None]:
        """Keeps the lease alive while tasks run, so a slow task is not taken over (and run
        twice) by another runner; a runner that dies stops renewing and loses it. One shared
        thread renews every lease held, so the hot path only touches a set."""
        key = (execution_id, owner)
        with self._leases_lock:
            self._leases_held[key] = self._leases_held.get(key, 0) + 1
            if self._lease_keeper is None:
                self._lease_keeper = threading.Thread(
                    target=self._keep_leases, name="pausebot-leases", daemon=True
                )
                self._lease_keeper.start()
        try:
            yield
        finally:
            with self._leases_lock:
                self._leases_held[key] -= 1
                if not self._leases_held[key]:
                    del self._leases_held[key]

    def _keep_leases(self) -> None:
        while not self._closed.wait(LEASE.total_seconds() / 3):
            with self._leases_lock:
                held = list(self._leases_held)
            for execution_id, owner in held:
                try:
                    self.store.extend_lease(execution_id, owner, self.clock.now(), LEASE)
                except Exception:  # the next beat tries again
                    log.warning("could not renew the lease of %s", execution_id, exc_info=True)

    def _execute(
        self, execution: Execution, flow: Flow, runs: list[TaskRun]
    ) -> list[tuple[str, TaskResult | None, str | None]]:
        if len(runs) == 1:
            return [self._execute_one(execution, flow, runs[0])]
        with ThreadPoolExecutor(max_workers=min(8, len(runs))) as pool:
            return list(pool.map(lambda run: self._execute_one(execution, flow, run), runs))

    def _execute_one(
        self, execution: Execution, flow: Flow, run: TaskRun
    ) -> tuple[str, TaskResult | None, str | None]:
        task = flow.find_task(run.taskId)
        assert task is not None
        context = RunContext(
            variables=expression_context(execution, flow, task, run, self.settings),
            http_timeout=self.http_timeout,
            task_id=task.id,
        )
        self._equip_context(context, execution, flow, run)
        secrets = execution.secret_input_values()  # SECRET values a Log or script may print: masked
        timeout = parse_duration(task.timeout).total_seconds() if task.timeout else None
        if task.handles_timeout:
            timeout = None  # the task enforces it itself (a script kills its process group)
        try:
            if timeout is not None:
                # Python cannot stop a thread: on timeout the task's thread is abandoned (its
                # result ignored) and the execution moves on at once.
                pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"task-{task.id}")
                future = pool.submit(task.run, context)
                pool.shutdown(wait=False)
                try:
                    result = future.result(timeout=timeout)
                except TimeoutError:
                    return (
                        run.id,
                        TaskResult(logs=_masked_lines(context.logs, secrets)),
                        f"Task '{task.id}' timed out after {task.timeout}.",
                    )
            else:
                result = task.run(context)
            result.logs = _masked_lines([*context.logs, *result.logs], secrets)
            return run.id, result, None
        except (TaskFailure, ExpressionError, InputValidationError) as error:
            masked = _masked_lines(context.logs, secrets)
            return run.id, TaskResult(logs=masked), mask_secrets(str(error), secrets)
        except Exception as error:
            log.exception("task %s crashed", task.id)
            return (
                run.id,
                TaskResult(logs=_masked_lines(context.logs, secrets)),
                mask_secrets(f"Task '{task.id}' crashed: {type(error).__name__}: {error}", secrets),
            )

    def _equip_context(
        self, context: RunContext, execution: Execution, flow: Flow, run: TaskRun
    ) -> None:
        """What tasks doing more than their own I/O get: streamed logs, the shared directory
        of an enclosing WorkingDirectory, and the engine's services (files, KV store)."""
        secrets = execution.secret_input_values()
        context.log_sink = lambda lines: self._stream_logs(
            execution.id, run, _masked_lines(lines, secrets)
        )
        context.variables[ERROR_LOGS_KEY] = lambda: [  # errorLogs(): read when called
            entry.to_api() for entry in self.logs(execution.id, min_level="ERROR")
        ]
        context.services = self.services
        context.working_dir = working_directory_of(execution, flow, run)
        enclosing = enclosing_working_directory(execution, flow, run)
        if context.working_dir is not None and enclosing is not None:
            prepare_working_directory(context.working_dir, enclosing, context)

    @staticmethod
    def _remove_finished_working_dirs(execution: Execution, flow: Flow) -> None:
        if not any(isinstance(t, WorkingDirectoryTask) for t in flow.all_tasks()):
            return
        for run in execution.taskRunList:
            if run.state.current in TERMINAL and isinstance(
                flow.find_task(run.taskId), WorkingDirectoryTask
            ):
                remove_working_directory(directory_for(run))

    def _stream_logs(self, execution_id: str, run: TaskRun, lines: Sequence[Any]) -> None:
        now = self.clock.now()
        entries = [
            LogEntry(execution_id, run.id, run.taskId, line.level, line.message, now)
            for line in lines
        ]
        try:
            with self.store.transaction(now) as tx:
                tx.append_logs(entries)
        except Exception:  # noqa: BLE001 - a log line is never worth failing the task for
            log.warning("could not stream %d log lines of %s", len(entries), execution_id)

    def run_until_blocked(
        self,
        execution_id: str,
        *,
        owner: str | None = None,
        wait_sleeps: bool = True,
        poll: float = 0.05,
        timeout: float | None = None,
    ) -> Execution:
        """Advances in this thread until the execution pauses or ends (the CLI's `run`).
        Sleep tasks and retries are waited for; a paused execution returns at once."""
        owner = owner or f"inline-{new_id()[:8]}"
        started = time.monotonic()
        while True:
            advanced = self.advance(execution_id, owner)
            execution = advanced or self.get_execution(execution_id)
            if execution.state.current in TERMINAL or execution.state.current == State.PAUSED:
                return execution
            if self._run_children(execution, owner, wait_sleeps=wait_sleeps, poll=poll):
                return execution  # waiting for a child that waits for a decision
            if not wait_sleeps or (timeout is not None and time.monotonic() - started > timeout):
                return execution
            time.sleep(poll if advanced is not None else min(poll * 4, 0.5))

    def _run_children(self, execution: Execution, owner: str, **options: Any) -> bool:
        """Inline runs (the CLI, tests) advance the children a parent waits for too. True when
        every child still running waits for a decision (so the parent is blocked as well)."""
        waiting = [
            child_id
            for child_id in self._child_ids(execution)
            if self.get_execution(child_id).state.current not in TERMINAL
        ]
        blocked = bool(waiting)
        for child_id in waiting:
            child = self.run_until_blocked(child_id, owner=owner, timeout=None, **options)
            if (
                child.state.current in TERMINAL
                or child.state.current != State.PAUSED
                and not self._blocked_on_children(child)
            ):
                blocked = False
        if blocked:
            latest = self.advance(execution.id, owner)  # a child may have ended meanwhile
            return latest is None or latest.state.current not in TERMINAL
        return False

    def _blocked_on_children(self, execution: Execution) -> bool:
        ids = self._child_ids(execution)
        states = [self.get_execution(i).state.current for i in ids]
        live = [s for s in states if s not in TERMINAL]
        return bool(live) and all(s == State.PAUSED for s in live)

    def due_executions(self, limit: int = 100) -> list[str]:
        return self.store.due_execution_ids(self.clock.now(), limit)

    # -- retention ------------------------------------------------------------------------
    def purge_executions(
        self,
        *,
        end_date: datetime,
        start_date: datetime | None = None,
        namespace: str | None = None,
        flow_id: str | None = None,
        states: Sequence[str] = (),
        purge_execution: bool = True,
        purge_log: bool = True,
        batch_size: int = 100,
        keep: Sequence[str] = (),
    ) -> PurgeOutcome:
        """Kestra's PurgeExecutions: deletes the matching executions (with their outbox
        events, notices and spent tokens) and/or their logs; ``keep`` is never touched (the
        execution running the purge). No ``states``: every state, as in Kestra."""
        executions, logs = self.store.purge_executions(
            end_date=end_date,
            start_date=start_date,
            namespace=namespace,
            flow_id=flow_id,
            states=[State(s).value for s in states],
            purge_execution=purge_execution,
            purge_log=purge_log,
            batch_size=batch_size,
            keep=keep,
        )
        return PurgeOutcome(executions, logs)

    def prune_outbox(self, before: datetime) -> tuple[int, int]:
        """Deletes outbox events created before ``before`` that every consumer settled, and
        their deliveries (an event still owed is kept). Returns (events, deliveries)."""
        return self.store.prune_outbox(before)

    def housekeeping(self) -> dict[str, int]:
        """Applies the retention settings (the worker runs it periodically)."""
        done: dict[str, int] = {}
        if self.settings.outbox_retention is not None:
            cutoff = self.clock.now() - self.settings.outbox_retention
            done["events"], done["deliveries"] = self.prune_outbox(cutoff)
        if self.settings.execution_retention is not None:
            purged = self.purge_executions(
                end_date=self.clock.now() - self.settings.execution_retention,
                states=[s.value for s in TERMINAL],
            )
            done["executions"], done["logs"] = purged.executions, purged.logs
        return done

    def database_size(self) -> int:
        return self.store.database_size()

    # -- for bot/slack (surfaces report on an execution without writing SQL) -------------
    def log_on_execution(self, execution_id: str, level: str, message: str) -> None:
        """Appends a line to the execution's log, e.g. "Slack: could not post ... channel_not_found"
        or a refused click, so that people reading the execution see it."""
        now = self.clock.now()
        with self.store.transaction(now) as tx:
            tx.load_execution(execution_id, lock=False)  # unknown ids raise ExecutionNotFound
            tx.append_logs([LogEntry(execution_id, None, None, level.upper(), message, now)])


_DECIDED_ACTIONS = {
    "KILLING": "killed",
    Decision.APPROVED.value: "approved",
    Decision.DENIED.value: "denied",
    Decision.EXPIRED.value: "expired",
    "CANCELLED": "cancelled",
}


def _holds_upload(value: Any) -> bool:
    if isinstance(value, UploadedFile):
        return True
    if isinstance(value, dict):
        return any(_holds_upload(v) for v in value.values())
    return isinstance(value, list) and any(_holds_upload(v) for v in value)


def _masked_lines(lines: Sequence[Any], secrets: list[str]) -> list[Any]:
    if not secrets:
        return list(lines)
    return [replace(line, message=mask_secrets(line.message, secrets)) for line in lines]


class _BatchBroken(Exception):
    """A refusal in a bulk batch came after that execution's first write."""


class _InlineFailed(Exception):
    """Deciding a step inside a surface's transaction failed: redo it without (the runner
    decides that step on its own and records what went wrong)."""


def _killed(execution: Execution) -> AlreadyDecided:
    """The answer to anyone deciding an execution that was killed: who killed it, and when."""
    via = execution.killedVia
    if via is None:  # recorded before killedVia existed: a killed pause remembers it
        for run in execution.taskRunList:
            resumed = run.outputs.get("resumed") or {}
            if resumed.get("to") == "KILLING":
                via = resumed.get("via")
    return AlreadyDecided(
        execution.id,
        by=execution.killedBy,
        on=execution.state.entered(State.KILLED),
        via=via,
        to=State.KILLED.value,
        action="killed",
        state=execution.state.current.value,
    )


def _review_decision(decision: ReviewDecision | str) -> ReviewDecision:
    if isinstance(decision, ReviewDecision):
        return decision
    text = str(decision).strip().upper()
    aliases = {"APPROVE": "APPROVE", "APPROVED": "APPROVE", "DENY": "DENY", "DENIED": "DENY"}
    if text not in aliases:
        raise InputValidationError(
            [FieldError("decision", f"must be APPROVE or DENY, got {decision!r}", decision)]
        )
    return ReviewDecision(aliases[text])


def _safe_url(url: str) -> str:
    """The database URL for a message: without its password."""
    from sqlalchemy import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return "(unparsable URL)"


def _who(by: Actor | None) -> str:
    if not by:
        return "someone"
    return str(by.get("name") or by.get("id") or "someone")
