"""Celery tasks of the outbox: thin, idempotent, ids only (never message contents in Redis)."""

from typing import Any

from celery import shared_task

from clinic.core.tasks import TRANSIENT
from monitoring.outbox import dispatch, services

TASK_OPTIONS: dict[str, Any] = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "ignore_result": True,
    "soft_time_limit": 120,
    "time_limit": 240,
    "retry_backoff": 5,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 12,
}


@shared_task(name="monitoring.outbox_send", autoretry_for=TRANSIENT, **TASK_OPTIONS)
def outbox_send_task(message_ids: list[int]) -> int:
    """Send these messages (those still pending and free; the rest are skipped). The
    dispatch hands each channel's messages to a task of their own."""
    return len(services.outbox_send(message_ids=[int(i) for i in message_ids]).sent)


@shared_task(name="monitoring.outbox_sweep", autoretry_for=TRANSIENT, **TASK_OPTIONS)
def outbox_sweep_task() -> int:
    """The beat tick: re-enqueue failed messages whose backoff passed and those whose sender died."""
    return dispatch.outbox_sweep()
