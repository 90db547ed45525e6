"""E-mail evidence for the worker tests, recorded OUTSIDE the database: the "mail server".

`RecordingBackend` appends one JSON line per message it accepts to the file named by
`FOLLOWUP_TEST_MAIL_LOG` (one `write` on an O_APPEND descriptor: a line is in the kernel
before `send_messages` returns, so a SIGKILL or a rollback afterwards cannot erase it). A test
counts e-mails there, never in PostgreSQL.

Switches, each a file whose presence the backend checks (so a test flips them while the
worker runs):
- `FOLLOWUP_TEST_MAIL_HOLD`: after accepting a message, the backend appends its Message-ID to
  `<hold>.held` and waits while the hold file exists: the window between the server's
  acceptance and the sender's mark, where a test kills the worker.
- `FOLLOWUP_TEST_MAIL_BROKEN`: `open()` raises, as an unreachable or misconfigured server does.
`FOLLOWUP_TEST_MAIL_DELAY` (seconds per message) slows sending so a kill lands mid-dispatch.

`HoldingEmailChannel` is the e-mail channel whose `compose` waits while
`FOLLOWUP_TEST_COMPOSE_HOLD` exists: inside the delivery transaction, before anything commits.
"""

import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import EmailMessage

from monitoring.outbox.channels import REFS_HEADER, Draft, EmailChannel, Notification


def _flag(name: str) -> Path | None:
    value = os.environ.get(name, "")
    return Path(value) if value else None


def _hold_while(flag: Path | None, message_id: str) -> None:
    if flag is None or not flag.exists():
        return
    with Path(f"{flag}.held").open("a") as held:
        held.write(f"{os.getpid()} {message_id}\n")
    while flag.exists():
        time.sleep(0.05)


class RecordingBackend(BaseEmailBackend):
    def open(self) -> bool:
        broken = _flag("FOLLOWUP_TEST_MAIL_BROKEN")
        if broken is not None and broken.exists():
            raise ConnectionRefusedError("test mail server unreachable")
        return True

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        log = _flag("FOLLOWUP_TEST_MAIL_LOG")
        assert log is not None, "FOLLOWUP_TEST_MAIL_LOG is not set"
        delay = float(os.environ.get("FOLLOWUP_TEST_MAIL_DELAY", "0"))
        sent = 0
        for message in email_messages:
            if delay:
                time.sleep(delay)
            line = json.dumps(
                {
                    "message_id": message.extra_headers["Message-ID"],
                    "refs": message.extra_headers[REFS_HEADER].split(","),
                    "to": message.to[0],
                    "pid": os.getpid(),
                    "at": time.time(),
                }
            )
            fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, (line + "\n").encode())
            finally:
                os.close(fd)
            sent += 1
            _hold_while(_flag("FOLLOWUP_TEST_MAIL_HOLD"), message.extra_headers["Message-ID"])
        return sent


class HoldingEmailChannel(EmailChannel):
    def compose(self, notifications: Sequence[Notification]) -> list[Draft]:
        _hold_while(_flag("FOLLOWUP_TEST_COMPOSE_HOLD"), "compose")
        return super().compose(notifications)


def mail_log(path: Path) -> list[dict[str, Any]]:
    """Every message the recorder accepted, in order."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def held(flag: Path) -> list[tuple[int, str]]:
    """(pid, Message-ID) of every send that waited on this hold flag."""
    path = Path(f"{flag}.held")
    if not path.exists():
        return []
    return [(int(pid), mid) for pid, mid in (line.split(" ", 1) for line in path.read_text().splitlines() if line)]
