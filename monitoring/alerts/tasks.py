"""Celery tasks of the bedside: the minute scans (CLINICAL.md §3). Thin and idempotent: the
services claim rows with FOR UPDATE SKIP LOCKED, so two workers (or a redelivered task) never
raise or escalate twice. No arguments, nothing about patients travels through Redis.

Registered by `config/celery.py` (autodiscovery of `bedside_tasks`); scheduled in
`CELERY_BEAT_SCHEDULE` (config/settings/base.py).
"""

from typing import Any

from celery import shared_task

from clinic.core.tasks import TRANSIENT
from monitoring.alerts.notify import deliveries_due, deliveries_send
from monitoring.alerts.services import alerts_escalate, vitals_overdue_raise

TASK_OPTIONS: dict[str, Any] = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "ignore_result": True,
    "soft_time_limit": 50,
    "time_limit": 90,
    "autoretry_for": TRANSIENT,
    "retry_backoff": 2,
    "retry_backoff_max": 30,
    "retry_jitter": True,
    "max_retries": 5,
}


@shared_task(name="monitoring.vitals_overdue_scan", **TASK_OPTIONS)
def vitals_overdue_scan_task() -> int:
    """Raise `vitals_overdue` for every set more than the grace late (once per due time)."""
    return len(vitals_overdue_raise())


@shared_task(name="monitoring.alerts_escalate_scan", **TASK_OPTIONS)
def alerts_escalate_scan_task() -> int:
    """Take the due escalation steps (once each), then send the e-mail and webhook deliveries
    that are due (these steps' and any a dead worker left: monitoring.alerts.notify)."""
    escalated = alerts_escalate()
    deliveries_send(delivery_ids=deliveries_due())
    return len(escalated)
