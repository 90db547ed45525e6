"""Handing outbox messages to the send task: after commit, and on the sweep tick.

`outbox_enqueue` runs after the transaction that wrote the messages committed; a broker
failure is logged and the messages wait in PostgreSQL for the sweep (`outbox_sweep`, a beat
tick), which also picks up failed messages whose backoff passed and those whose sender died.
"""

import logging
from collections.abc import Sequence

from django.conf import settings

from monitoring.outbox.services import outbox_due

logger = logging.getLogger(__name__)


def send_batch_size() -> int:
    return int(getattr(settings, "OUTBOX_SEND_BATCH_SIZE", 100))


def outbox_enqueue(channel: str, message_ids: Sequence[int]) -> None:
    from monitoring.outbox.tasks import outbox_send_task

    size = send_batch_size()
    for start in range(0, len(message_ids), size):
        chunk = [int(i) for i in message_ids[start : start + size]]
        try:
            outbox_send_task.delay(chunk)
        except Exception:
            logger.exception("Could not enqueue %d %s messages; the sweep sends them.", len(chunk), channel)
            return


def outbox_sweep() -> int:
    """Enqueue every message that is due and not held (one query). Returns how many."""
    due = outbox_due()
    for channel, ids in due.items():
        outbox_enqueue(channel, ids)
    return sum(len(ids) for ids in due.values())
