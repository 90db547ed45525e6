"""How a follow-up reaches a person: one small interface, a registry in settings.

The rules (who is told, when, escalation) never name a channel; they hand a list of
`Notification`s to every channel in `settings.FOLLOWUP_CHANNELS`. Adding SMS means writing
one class with `name`, `accepts` and `send`, and adding its dotted path to that setting.

A channel's `send` runs inside the delivery transaction, after the delivery rows are
written: what it reports as delivered is committed with them; what it reports as failed
is rolled back and retried. Messages carry no patient data (kind, due time and a link).
"""

import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple, Protocol, runtime_checkable

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.utils.module_loading import import_string

from clinic.models import User

logger = logging.getLogger(__name__)


class Notification(NamedTuple):
    """One message to one person about one follow-up (immutable; a tuple because a batch
    builds thousands, and a frozen dataclass costs several times as much to create)."""

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
    """The in-app inbox. Its delivery rows are the inbox entries (`GET /api/v1/inbox/`),
    written in the delivery transaction: exactly once, and nothing more to send."""

    name = "inbox"

    def accepts(self, user: User) -> bool:
        return True

    def send(self, notifications: Sequence[Notification]) -> Sequence[Notification]:
        return notifications


class EmailChannel:
    """E-mail through Django's backend (`EMAIL_BACKEND`, SMTP settings from the environment).

    One message per recipient per batch: a single follow-up is one e-mail about it; several
    that come due together (a busy morning, beat catching up) are one digest listing each,
    never a burst of e-mails. Header `X-Followup-Ids` lists `id:round` of what it covers.
    One connection per batch; a message the server refuses is reported as failed, so only it
    is retried. If the process dies after the server accepted a message and before the
    delivery transaction commits, that message is sent again: the window is the commit.
    """

    name = "email"

    def accepts(self, user: User) -> bool:
        return bool(user.email)

    def send(self, notifications: Sequence[Notification]) -> Sequence[Notification]:
        if not notifications:
            return []
        by_recipient: dict[int, list[Notification]] = defaultdict(list)
        for n in notifications:
            by_recipient[n.recipient.pk].append(n)
        delivered: list[Notification] = []
        connection = get_connection(fail_silently=False)
        try:
            connection.open()
            for items in by_recipient.values():
                message = self._message(items, connection)
                try:
                    sent = connection.send_messages([message])
                except Exception:  # one refused message must not fail the batch
                    logger.warning("A follow-up e-mail was refused; it will be retried.", exc_info=True)
                    continue
                if sent:
                    delivered.extend(items)
        finally:
            connection.close()
        return delivered

    @staticmethod
    def _message(items: Sequence[Notification], connection: Any) -> EmailMessage:
        if len(items) == 1:
            subject, body = items[0].title, items[0].body
        else:
            subject = f"{len(items)} follow-ups need you"
            body = "\n\n".join(f"- {n.title}\n  {n.body}" for n in items)
        return EmailMessage(
            subject=subject,
            body=body,
            to=[items[0].recipient.email],
            connection=connection,
            headers={"X-Followup-Ids": ",".join(f"{n.followup_id}:{n.round}" for n in items)},
        )


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
