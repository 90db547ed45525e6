"""History for every write, the set-based ones included, with who or what caused it.

- `history_snapshot(model, ids, ...)`: after a bulk write (`.update()`, `bulk_create`, raw
  SQL) of an audited model, one `INSERT ... SELECT` copies the rows as they now are into
  its historical table, with the acting user and a reason: the same record a `save()` makes.
- `audit_cause(user=..., rule=...)`: while it is open, every historical record that has no
  user of its own gets this user, and its change reason names the rule (and the Celery
  task, when a task is running: `task_prerun` opens a cause with the task's name and id).
  So a change made by a task is attributed to the task and the user or rule behind it,
  never to a bare "system".
"""

import contextlib
import contextvars
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import Model
from django.utils import timezone

from clinic.models import User

REASON_MAX = 100  # simple_history's history_change_reason is a CharField(100)
HISTORY_OWN = {"history_id", "history_date", "history_change_reason", "history_type", "history_user"}


@dataclass(frozen=True)
class Cause:
    user: User | None = None
    rule: str = ""
    task: str = ""

    @property
    def reason(self) -> str:
        parts = [f"task {self.task}" if self.task else "", f"rule {self.rule}" if self.rule else ""]
        return "; ".join(p for p in parts if p)[:REASON_MAX]


_cause: contextvars.ContextVar[Cause | None] = contextvars.ContextVar("audit_cause", default=None)


def current_cause() -> Cause:
    return _cause.get() or Cause()


@contextlib.contextmanager
def audit_cause(*, user: User | None = None, rule: str = "", task: str = "") -> Iterator[Cause]:
    """Attribute the writes made inside to `user` and `rule` (an outer task is kept)."""
    outer = current_cause()
    cause = replace(outer, user=user or outer.user, rule=rule or outer.rule, task=task or outer.task)
    token = _cause.set(cause)
    try:
        yield cause
    finally:
        _cause.reset(token)


def history_snapshot(
    model: type[Model],
    ids: Sequence[int],
    *,
    history_type: str = "~",
    user: User | None = None,
    rule: str = "",
    at: datetime | None = None,
) -> int:
    """Copy these rows, as they now are, into the model's historical table (one statement)."""
    if not ids:
        return 0
    historical: Any = model.history.model  # type: ignore[attr-defined]
    columns = [
        f.column for f in historical._meta.concrete_fields if f.name not in HISTORY_OWN and f.attname not in HISTORY_OWN
    ]
    with audit_cause(user=user, rule=rule) as cause:
        quoted = ", ".join(f'"{c}"' for c in columns)
        with connection.cursor() as cursor:
            cursor.execute(
                f'INSERT INTO "{historical._meta.db_table}" ({quoted}, "history_date", "history_type", '  # noqa: S608
                f'"history_user_id", "history_change_reason") SELECT {quoted}, %s, %s, %s, %s '
                f'FROM "{model._meta.db_table}" WHERE "id" = ANY(%s::bigint[]) ORDER BY "id"',
                [
                    at or timezone.now(),
                    history_type,
                    cause.user.pk if cause.user is not None else None,
                    cause.reason or None,
                    "{" + ",".join(str(int(i)) for i in ids) + "}",
                ],
            )
            return int(cursor.rowcount)


def _fill_cause(sender: Any, history_instance: Any, **kwargs: Any) -> None:
    """simple_history's pre_create_historical_record: the cause fills what the save lacks."""
    cause = _cause.get()
    if cause is None:
        return
    if history_instance.history_user_id is None and cause.user is not None:
        history_instance.history_user = cause.user
    if not history_instance.history_change_reason and cause.reason:
        history_instance.history_change_reason = cause.reason


_task_tokens: dict[str, contextvars.Token[Cause | None]] = {}


def _task_started(task_id: str | None = None, task: Any = None, **kwargs: Any) -> None:
    if task_id is None or task is None:
        return
    _task_tokens[task_id] = _cause.set(Cause(task=f"{task.name}[{task_id[:8]}]"))


def _task_finished(task_id: str | None = None, **kwargs: Any) -> None:
    token = _task_tokens.pop(task_id or "", None)
    if token is not None:
        _cause.reset(token)


def history_connect() -> None:
    """Called once from `MonitoringConfig.ready`."""
    from celery.signals import task_postrun, task_prerun
    from simple_history.signals import pre_create_historical_record

    pre_create_historical_record.connect(_fill_cause, dispatch_uid="monitoring.audit.cause")
    task_prerun.connect(_task_started, dispatch_uid="monitoring.audit.task_started", weak=False)
    task_postrun.connect(_task_finished, dispatch_uid="monitoring.audit.task_finished", weak=False)
