"""How a notification reaches a person: one small interface, a registry in settings.

The rules (who is told, when, escalation) never name a channel; they hand `Notification`s to
every channel in `settings.NOTIFICATION_CHANNELS`. A channel either *stores* its deliveries
(the in-app inbox: the delivery row is the inbox entry, committed with the decision) or
*sends* them through the outbox (`monitoring.outbox.models.OutboxMessage`): it composes the
messages, which are committed with the decision, and sends each one after commit, on its
own, so one channel failing delays only itself. Adding SMS means one class with `name`,
`stored`, `accepts`, `compose` and `send`, and its dotted path in that setting.

Messages carry no patient data (what is due, when, and a link).
"""

import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from typing import NamedTuple, Protocol, runtime_checkable

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.utils.module_loading import import_string

from clinic.models import User

logger = logging.getLogger(__name__)

DEFAULT_CHANNELS = ("monitoring.outbox.channels.InboxChannel", "monitoring.outbox.channels.EmailChannel")
REFS_HEADER = "X-Clinic-Refs"


class Notification(NamedTuple):
    """One notice to one person about one thing (`ref`, e.g. `followup:12:0`: follow-up 12,
    round 0). A tuple because a batch builds thousands."""

    ref: str
    recipient: User
    title: str
    body: str


class Draft(NamedTuple):
    """One message a channel will send, covering one or more notifications (`refs`)."""

    recipient: User
    subject: str
    body: str
    refs: list[str]


class Outgoing(NamedTuple):
    """One claimed outbox row, as its channel sends it."""

    id: int
    message_id: str
    recipient: User
    subject: str
    body: str
    refs: list[str]
    attempt: int


SendResult = tuple[Outgoing, BaseException | None]


@runtime_checkable
class Channel(Protocol):
    name: str
    stored: bool  # True: the delivery row is the delivery (nothing to send)

    def accepts(self, user: User) -> bool:
        """Whether this person can be reached on this channel (e.g. has an e-mail address)."""
        ...

    def compose(self, notifications: Sequence[Notification]) -> list[Draft]:
        """The messages to send for these notifications (committed before anything is sent)."""
        ...

    def send(self, messages: Iterable[Outgoing]) -> Iterator[SendResult]:
        """Send each message, yielding it with None once its transport accepted it, or with the
        error; the caller marks each one before the next is sent. `messages` is lazy: each is
        claimed as it is taken. Raising (e.g. no connection) fails the one taken and not
        yet yielded."""
        ...


class InboxChannel:
    """The in-app inbox. Its delivery rows are the inbox entries (`GET /api/v1/inbox/`),
    written with the decision: exactly once, and nothing more to send."""

    name = "inbox"
    stored = True

    def accepts(self, user: User) -> bool:
        return True

    def compose(self, notifications: Sequence[Notification]) -> list[Draft]:
        return []

    def send(self, messages: Iterable[Outgoing]) -> Iterator[SendResult]:
        return iter(())


class EmailChannel:
    """E-mail through Django's backend (`DJANGO_EMAIL_BACKEND` and every `EMAIL_*` setting
    from the environment).

    One message per recipient per batch: a single notification is one e-mail about it; several
    that come due together (a busy morning, beat catching up) are one digest listing each,
    never a burst. Each carries the Message-ID fixed in its outbox row and the header
    `X-Clinic-Refs` listing what it covers. One connection per batch; a message the server
    refuses is reported alone, so only it is retried.
    """

    name = "email"
    stored = False

    def accepts(self, user: User) -> bool:
        return bool(user.email)

    def compose(self, notifications: Sequence[Notification]) -> list[Draft]:
        by_recipient: dict[int, list[Notification]] = defaultdict(list)
        for n in notifications:
            by_recipient[n.recipient.pk].append(n)
        drafts = []
        for items in by_recipient.values():
            if len(items) == 1:
                subject, body = items[0].title, items[0].body
            else:
                subject = f"{len(items)} follow-ups need you"
                body = "\n\n".join(f"- {n.title}\n  {n.body}" for n in items)
            drafts.append(Draft(recipient=items[0].recipient, subject=subject, body=body, refs=[n.ref for n in items]))
        return drafts

    def send(self, messages: Iterable[Outgoing]) -> Iterator[SendResult]:
        connection = None
        try:
            for message in messages:
                if connection is None:  # opened for the first message, kept for the batch
                    connection = get_connection(fail_silently=False)
                    connection.open()
                email = EmailMessage(
                    subject=message.subject,
                    body=message.body,
                    to=[message.recipient.email],
                    connection=connection,
                    headers={"Message-ID": message.message_id, REFS_HEADER: ",".join(message.refs)},
                )
                try:
                    sent = connection.send_messages([email])
                except Exception as error:  # one refused message must not fail the batch
                    logger.warning("E-mail %s was refused; it will be retried.", message.message_id, exc_info=True)
                    yield message, error
                    continue
                yield message, None if sent else RuntimeError("The e-mail backend sent nothing.")
        finally:
            if connection is not None:
                connection.close()


def channels_get() -> list[Channel]:
    """The channels named in `settings.NOTIFICATION_CHANNELS` (dotted paths), in order."""
    paths: Sequence[str] = getattr(settings, "NOTIFICATION_CHANNELS", DEFAULT_CHANNELS)
    out: list[Channel] = []
    for path in paths:
        channel = import_string(path)()
        if not isinstance(channel, Channel):
            raise TypeError(f"{path} is not a notification Channel (name, stored, accepts, compose, send).")
        out.append(channel)
    return out


def channel_get(name: str) -> Channel:
    for channel in channels_get():
        if channel.name == name:
            return channel
    raise LookupError(f"No channel named {name!r} in NOTIFICATION_CHANNELS.")
