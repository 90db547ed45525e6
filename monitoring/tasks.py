"""Celery tasks of the monitoring app (found by `autodiscover_tasks`)."""

from monitoring.followups.tasks import (  # noqa: F401
    followups_deliver_task,
    followups_dispatch_due_task,
    followups_plan_task,
)
