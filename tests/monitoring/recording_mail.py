"""An e-mail backend for the worker tests: each message becomes a row of `SENT_MAIL_TABLE`,
written on the sending process's database connection (so inside the delivery transaction,
like the delivery row: the "send mark"). `FOLLOWUP_TEST_MAIL_DELAY` (seconds per message)
slows sending down so that a test can kill a worker in the middle of a batch."""

import os
import time
from collections.abc import Sequence

from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import EmailMessage
from django.db import connection

SENT_MAIL_TABLE = "followup_test_sent_mail"
CREATE_SQL = f"""
CREATE TABLE IF NOT EXISTS {SENT_MAIL_TABLE} (
    id bigserial PRIMARY KEY,
    followup_id bigint NOT NULL,
    round integer NOT NULL,
    recipient text NOT NULL,
    pid integer NOT NULL,
    sent_at timestamptz NOT NULL DEFAULT now()
)
"""


class RecordingBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        delay = float(os.environ.get("FOLLOWUP_TEST_MAIL_DELAY", "0"))
        sent = 0
        with connection.cursor() as cursor:
            for message in email_messages:
                if delay:
                    time.sleep(delay)
                # One row per follow-up the message covers (a digest covers several).
                for item in message.extra_headers["X-Followup-Ids"].split(","):
                    followup_id, round_ = item.split(":")
                    cursor.execute(
                        f"INSERT INTO {SENT_MAIL_TABLE} (followup_id, round, recipient, pid) "  # noqa: S608
                        "VALUES (%s, %s, %s, %s)",
                        [int(followup_id), int(round_), message.to[0], os.getpid()],
                    )
                sent += 1
        return sent
