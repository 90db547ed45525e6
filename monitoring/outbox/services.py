"""The outbox's writes: add (inside the caller's transaction), claim, mark sent, release.

1. `outbox_add` writes the messages in the transaction that decided to send them, each with
   its Message-ID; after that transaction commits their send is enqueued (`dispatch`).
2. `outbox_send` claims them (one UPDATE, committed at once: a lease), hands them to their
   channel one by one, and marks each sent as soon as its transport accepted it (one UPDATE
   each, committed at once, retried across a lost database connection). Nothing is sent
   inside a transaction, so a rollback never erases the record of a send.
3. A message that failed is released with a backoff (`next_attempt_at`); one whose sender
   died is claimed again once its lease passed (`OUTBOX_CLAIM_LEASE_SECONDS`). The sweep
   (`dispatch.outbox_sweep`) re-enqueues both, so a lost task message loses nothing.

The one case that repeats a message is a sender killed after its transport accepted the
message and before the mark committed (one message per killed process, the mark being a
single-row UPDATE); it is sent again after the lease with the same Message-ID.
"""

import json
import logging
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import make_msgid
from typing import Any, TypeVar

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from clinic.models import User
from monitoring.outbox.channels import Draft, Outgoing, channel_get
from monitoring.outbox.models import OutboxMessage, OutboxStatus

logger = logging.getLogger(__name__)
T = TypeVar("T")
TABLE = OutboxMessage._meta.db_table


def _seconds(name: str, default: float) -> float:
    return float(getattr(settings, name, default))


def claim_lease() -> timedelta:
    return timedelta(seconds=_seconds("OUTBOX_CLAIM_LEASE_SECONDS", 300))


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff from `OUTBOX_RETRY_BASE_SECONDS`, capped at `OUTBOX_RETRY_MAX_SECONDS`."""
    base, cap = _seconds("OUTBOX_RETRY_BASE_SECONDS", 30), _seconds("OUTBOX_RETRY_MAX_SECONDS", 3600)
    return timedelta(seconds=min(cap, base * 2 ** max(attempts - 1, 0)))


def message_id_new() -> str:
    """`<time.pid.random.outbox.<uuid>@<domain>>`: fixed when the row is written, the same on
    every resend."""
    domain = getattr(settings, "EMAIL_MESSAGE_ID_DOMAIN", "") or None
    return make_msgid(idstring=f"outbox.{uuid.uuid4().hex}", domain=domain)


def outbox_add(*, channel: str, drafts: Sequence[Draft], now: datetime | None = None) -> list[int]:
    """Write these messages (one INSERT) in the current transaction and enqueue their send
    after it commits. Returns their ids, in the order of `drafts` (the caller links its
    delivery rows to them)."""
    if not drafts:
        return []
    if not connection.in_atomic_block:
        raise RuntimeError("outbox_add() runs inside the transaction that decided to send.")
    now = now or timezone.now()
    from monitoring.outbox import dispatch

    message_ids = [message_id_new() for _ in drafts]
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{TABLE}" ("created_at", "next_attempt_at", "channel", "recipient_id", "message_id", '  # noqa: S608
            '"subject", "body", "refs", "status", "attempts", "claim", "last_error") '
            "SELECT %s, %s, %s, u, m, s, b, r, 'pending', 0, '', '' "
            "FROM ROWS FROM (unnest(%s::bigint[]), unnest(%s::text[]), unnest(%s::text[]), unnest(%s::text[]), "
            "jsonb_array_elements(%s::jsonb)) AS x(u, m, s, b, r) "
            'RETURNING "message_id", "id"',
            [
                now,
                now,
                channel,
                "{" + ",".join(str(int(d.recipient.pk)) for d in drafts) + "}",
                message_ids,
                [d.subject[:300] for d in drafts],
                [d.body for d in drafts],
                json.dumps([list(d.refs) for d in drafts]),
            ],
        )
        created = dict(cursor.fetchall())
    ids = [created[m] for m in message_ids]
    transaction.on_commit(lambda: dispatch.outbox_enqueue(channel, ids))
    return ids


def _retrying(statement: Callable[[], T], *, what: str) -> T | None:
    """Run one autocommitted statement, reconnecting and retrying while the database is away
    (a terminated connection, a restart) for up to `OUTBOX_MARK_RETRY_SECONDS`; None if it
    never got through. Inside a transaction (in-process tests) it runs once."""
    deadline = time.monotonic() + _seconds("OUTBOX_MARK_RETRY_SECONDS", 60)
    delay = 0.05
    while True:
        try:
            return statement()
        except (OperationalError, InterfaceError):
            if connection.in_atomic_block or time.monotonic() > deadline:
                logger.exception("Could not record that %s; the sweep retries it after the lease.", what)
                return None
            logger.warning("Database away while recording that %s; retrying.", what)
            connection.close()
            time.sleep(delay)
            delay = min(delay * 2, 2.0)


def _free(message_ids: Sequence[int], now: datetime) -> tuple[dict[str, list[int]], dict[int, User]]:
    """Which of these messages are pending, due and not held, per channel, and their
    recipients (two queries)."""
    rows = list(
        OutboxMessage.objects.filter(id__in=list(message_ids), status=OutboxStatus.PENDING, next_attempt_at__lte=now)
        .exclude(claimed_at__gte=now - claim_lease())
        .order_by("id")
        .values_list("channel", "id", "recipient_id")
    )
    out: dict[str, list[int]] = {}
    for channel, pk, _ in rows:
        out.setdefault(channel, []).append(pk)
    return out, (User.objects.in_bulk({uid for _, _, uid in rows}) if rows else {})


def outbox_claim(
    *, message_id: int, users: dict[int, User] | None = None, now: datetime | None = None
) -> Outgoing | None:
    """Take the lease on this message if it is pending, due and not held by a live sender
    (one UPDATE, committed at once; a row another sender is claiming is skipped, not waited
    for). Claimed one at a time, just before it is sent, so the lease covers one send."""
    at = now or timezone.now()
    token = uuid.uuid4().hex

    def claim() -> tuple[Any, ...] | None:
        with connection.cursor() as cursor:
            cursor.execute(
                f'UPDATE "{TABLE}" o SET "claimed_at" = %s, "claim" = %s, "attempts" = o."attempts" + 1 '  # noqa: S608
                f'FROM (SELECT "id" FROM "{TABLE}" WHERE "id" = %s AND "status" = %s AND "next_attempt_at" <= %s '
                'AND ("claimed_at" IS NULL OR "claimed_at" < %s) FOR UPDATE SKIP LOCKED) AS free '
                'WHERE o."id" = free."id" '
                'RETURNING o."message_id", o."recipient_id", o."subject", o."body", o."refs", o."attempts"',
                [at, token, message_id, OutboxStatus.PENDING, at, at - claim_lease()],
            )
            return cursor.fetchone()

    row = _retrying(claim, what=f"message {message_id} was claimed")
    if row is None:
        return None
    mid, uid, subject, body, refs, attempts = row
    return Outgoing(
        id=message_id,
        message_id=mid,
        recipient=(users or {}).get(uid) or User.objects.get(pk=uid),
        subject=subject,
        body=body,
        refs=refs if isinstance(refs, list) else list(json.loads(refs)),
        attempt=attempts,
    )


def outbox_mark_sent(message: Outgoing, *, now: datetime | None = None) -> bool:
    """The channel accepted it: sent, never again. False if the mark could not be recorded
    (then it is sent again after the lease, with the same Message-ID)."""
    at = now or timezone.now()

    def mark() -> bool:
        with connection.cursor() as cursor:
            cursor.execute(
                f'UPDATE "{TABLE}" SET "status" = %s, "sent_at" = %s, "claimed_at" = NULL, "last_error" = \'\' '  # noqa: S608
                'WHERE "id" = %s AND "status" = %s',
                [OutboxStatus.SENT, at, message.id, OutboxStatus.PENDING],
            )
            return True

    return bool(_retrying(mark, what=f"message {message.message_id} was sent"))


def outbox_release(message: Outgoing, error: BaseException, *, now: datetime | None = None) -> None:
    """The channel failed it: pending again after the backoff, with the error kept."""
    at = now or timezone.now()
    text = f"{type(error).__name__}: {error}"[:2000]

    def release() -> bool:
        with connection.cursor() as cursor:
            cursor.execute(
                f'UPDATE "{TABLE}" SET "claimed_at" = NULL, "next_attempt_at" = %s, "last_error" = %s '  # noqa: S608
                'WHERE "id" = %s AND "status" = %s',
                [at + retry_delay(message.attempt), text, message.id, OutboxStatus.PENDING],
            )
            return True

    _retrying(release, what=f"message {message.message_id} failed")


@dataclass
class Sent:
    sent: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


def outbox_send(*, message_ids: Sequence[int]) -> Sent:
    """Send these messages (those pending, due and free), each channel on its own: each is
    claimed just before its channel sends it and marked right after."""
    result = Sent()
    if not message_ids:
        return result
    per_channel, users = _free(message_ids, timezone.now())
    for channel, ids in per_channel.items():
        _channel_send(channel, ids, users, result)
    return result


def _claiming(ids: Sequence[int], users: dict[int, User], held: dict[int, Outgoing]) -> Iterator[Outgoing]:
    for pk in ids:
        message = outbox_claim(message_id=pk, users=users)
        if message is not None:
            held[message.id] = message
            yield message


def _channel_send(channel: str, ids: Sequence[int], users: dict[int, User], result: Sent) -> None:
    held: dict[int, Outgoing] = {}  # claimed and not yet reported by the channel
    try:
        for message, error in channel_get(channel).send(_claiming(ids, users, held)):
            held.pop(message.id, None)
            if error is None:
                outbox_mark_sent(message)
                result.sent.append(message.id)
            else:
                outbox_release(message, error)
                result.failed.append(message.id)
    except Exception as error:  # the channel itself failed (no connection, misconfigured)
        logger.exception("Channel %s failed; its messages are retried later.", channel)
        _release_all(held.values(), error, result)
        return
    _release_all(held.values(), RuntimeError("The channel did not report this message."), result)


def _release_all(messages: Iterable[Outgoing], error: BaseException, result: Sent) -> None:
    for message in list(messages):
        outbox_release(message, error)
        result.failed.append(message.id)


def outbox_due(*, now: datetime | None = None, limit: int = 5000) -> dict[str, list[int]]:
    """Pending messages whose attempt is due and that no live sender holds, per channel."""
    now = now or timezone.now()
    rows = (
        OutboxMessage.objects.filter(status=OutboxStatus.PENDING, next_attempt_at__lte=now)
        .exclude(claimed_at__gte=now - claim_lease())
        .order_by("next_attempt_at", "id")
        .values_list("channel", "id")[:limit]
    )
    out: dict[str, list[int]] = {}
    for name, pk in rows:
        out.setdefault(name, []).append(pk)
    return out
