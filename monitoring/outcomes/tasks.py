"""Celery tasks of outcomes: the proactive worsening check (thin, idempotent, no arguments)."""

from typing import Any

from celery import shared_task
from django.conf import settings

from clinic.core.tasks import TRANSIENT
from monitoring.outcomes.services import worsening_check

TASK_OPTIONS: dict[str, Any] = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "ignore_result": True,
    "soft_time_limit": 240,
    "time_limit": 300,
    "autoretry_for": TRANSIENT,
    "retry_backoff": 5,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 5,
}


@shared_task(name="monitoring.outcomes_worsening_check", **TASK_OPTIONS)
def outcomes_worsening_check_task() -> int:
    """A worsening score becomes a clinician follow-up the same day, whoever opens the page."""
    return len(worsening_check(lookback_hours=settings.WORSENING_LOOKBACK_HOURS))
