"""Celery tasks for follow-ups: thin, idempotent, ids only (never patient data in Redis).

Global settings give every task `acks_late`, `reject_on_worker_lost` and prefetch 1
(config/settings/base.py); they are repeated here so the guarantees do not depend on them.
"""

from typing import Any

from celery import shared_task

from clinic.core.tasks import TRANSIENT
from monitoring.followups import dispatch, planner

TASK_OPTIONS: dict[str, Any] = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "ignore_result": True,
    "soft_time_limit": 60,
    "time_limit": 120,
    "retry_backoff": 5,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 12,
}


@shared_task(
    name="monitoring.followups_dispatch_due",
    autoretry_for=TRANSIENT,
    **TASK_OPTIONS,
)
def followups_dispatch_due_task() -> int:
    """The beat tick: claim due follow-ups and hand their ids to the delivery task."""
    return len(dispatch.followups_claim_due().ids)


@shared_task(
    name="monitoring.followups_deliver",
    autoretry_for=TRANSIENT,
    **TASK_OPTIONS,
)
def followups_deliver_task(followup_ids: list[int]) -> int:
    """Write the deliveries of these queued follow-ups (the outbox sends them after commit)."""
    return len(dispatch.followups_deliver(followup_ids=[int(i) for i in followup_ids]).notified)


@shared_task(
    name="monitoring.followups_plan",
    autoretry_for=TRANSIENT,
    **TASK_OPTIONS,
)
def followups_plan_task() -> dict[str, int]:
    """Create the follow-ups the data calls for, reschedule and cancel the rest (idempotent)."""
    return planner.followups_plan().as_dict()
