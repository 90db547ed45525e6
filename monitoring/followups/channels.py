"""How a follow-up reaches a person: one small interface, a registry in settings.

The rules (who is told, when, escalation) never name a channel; they hand a list of
`Notification`s to every channel in `settings.FOLLOWUP_CHANNELS`. Adding SMS means writing
one class with `name`, `accepts` and `send`, and adding its dotted path to that setting.

A channel's `send` runs inside the delivery transaction, after the delivery rows are
written: what it reports as delivered is committed with them; what it reports as failed
is rolled back and retried. Messages carry no patient data (kind, due time and a link).
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.utils.module_loading import import_string

from clinic.models import User
from monitoring.models import InboxMessage

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Notification:
    followup_id: int
    round: int
    recipient: User
    title: str
    body: str
    due_at: datetime


@runtime_checkable
class Channel(Protocol):
    name: str

    def accepts(self, user: User) -> bool:
        """Whether this person can be reached on this channel (e.g. has an e-mail address)."""
        ...

    def send(self, notifications: Sequence[Notification]) -> Sequence[Notification]:
        """Send them all; return those delivered (the rest are retried later)."""
        ...


class InboxChannel:
    """The in-app inbox: a row per notification, in the delivery transaction (exactly once)."""

    name = "inbox"

    def accepts(self, user: User) -> bool:
        return True

    def send(self, notifications: Sequence[Notification]) -> Sequence[Notification]:
        InboxMessage.objects.bulk_create(
            [
                InboxMessage(
                    user=n.recipient, followup_id=n.followup_id, round=n.round, title=n.title[:200], body=n.body
                )
                for n in notifications
            ],
            batch_size=1000,
        )
        return notifications


class EmailChannel:
    """E-mail through Django's backend (`EMAIL_BACKEND`, SMTP settings from the environment).

    One connection per batch; a message the server refuses is reported as failed, so only it
    is retried. If the process dies after the server accepted a message and before the
    delivery transaction commits, that one message is sent again: the window is the commit.
    """

    name = "email"

    def accepts(self, user: User) -> bool:
        return bool(user.email)

    def send(self, notifications: Sequence[Notification]) -> Sequence[Notification]:
        if not notifications:
            return []
        delivered: list[Notification] = []
        connection = get_connection(fail_silently=False)
        try:
            connection.open()
            for n in notifications:
                message = EmailMessage(
                    subject=n.title,
                    body=n.body,
                    to=[n.recipient.email],
                    connection=connection,
                    headers={"X-Followup-Id": str(n.followup_id), "X-Followup-Round": str(n.round)},
                )
                try:
                    sent = connection.send_messages([message])
                except Exception:  # one refused message must not fail the batch
                    logger.warning("E-mail for follow-up %s refused; it will be retried.", n.followup_id, exc_info=True)
                    continue
                if sent:
                    delivered.append(n)
        finally:
            connection.close()
        return delivered


def channels_get() -> list[Channel]:
    """The channels named in `settings.FOLLOWUP_CHANNELS` (dotted paths), in order."""
    paths: Sequence[str] = getattr(
        settings,
        "FOLLOWUP_CHANNELS",
        ("monitoring.followups.channels.InboxChannel", "monitoring.followups.channels.EmailChannel"),
    )
    out: list[Channel] = []
    for path in paths:
        channel = import_string(path)()
        if not isinstance(channel, Channel):
            raise TypeError(f"{path} is not a follow-up Channel (name, accepts, send).")
        out.append(channel)
    return out
