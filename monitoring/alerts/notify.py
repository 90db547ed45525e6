"""How an escalation step reaches its recipients (CLINICAL.md §3; DESIGN.md: "reaches a named
person through a channel that notifies them").

- In-app: the step's notice (AlertEscalation, one per recipient) is the in-app delivery, written
  with the claim of the step; it is pushed to the recipient's open pages after commit
  (monitoring.live) and listed on their worklist with an Acknowledge button.
- Sent channels (`ALERT_CHANNELS`): e-mail and a webhook for SMS or pager gateways. One
  `AlertDelivery` row per (alert, step, channel, recipient) is committed with the claim, with a
  Message-ID fixed there; after commit each row is claimed (a lease), sent, and marked sent right
  after its transport accepted it, one at a time, outside any transaction — a retry, a second
  worker or a redelivered task never sends a delivery twice; a worker that died between the send
  and the mark leaves the row to be sent again after the lease, with the same Message-ID (the
  gateway's idempotency key). The escalation scan re-sends whatever is due every tick.

The channels follow the notification interface of the follow-ups' transactional outbox
(branch outbox-22b, not yet merged when this was written: `name`, `accepts`, a message per
notification with its ref `alert:<id>:<step>`); once it is merged these rows become its outbox
messages and this module's send loop is its `outbox_send`.
Messages carry no patient data: severity, rule, session number, and the acknowledge link.
"""

import json
import logging
import urllib.request
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from email.utils import make_msgid
from typing import NamedTuple, Protocol, runtime_checkable

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django.utils.module_loading import import_string

from clinic.models import User
from monitoring.alerts.models import Alert, AlertDelivery

logger = logging.getLogger(__name__)
TABLE = AlertDelivery._meta.db_table


class AlertMessage(NamedTuple):
    """One message to one person about one escalation step."""

    delivery_id: int
    ref: str  # alert:<id>:<step>
    message_id: str
    recipient: User
    subject: str
    body: str
    payload: dict[str, object]


@runtime_checkable
class AlertChannel(Protocol):
    name: str

    def accepts(self, user: User) -> bool: ...

    def send(self, message: AlertMessage) -> None:
        """Send it; raise if the transport did not accept it."""
        ...


class EmailChannel:
    """E-mail through Django's backend; the Message-ID fixed in the delivery row."""

    name = "email"

    def accepts(self, user: User) -> bool:
        return bool(user.email)

    def send(self, message: AlertMessage) -> None:
        email = EmailMessage(
            subject=message.subject,
            body=message.body,
            to=[message.recipient.email],
            headers={"Message-ID": message.message_id, "X-Clinic-Refs": message.ref},
        )
        if not email.send(fail_silently=False):
            raise RuntimeError("The e-mail backend sent nothing.")


class WebhookChannel:
    """An HTTP POST of JSON to `ALERT_WEBHOOK_URL`, for an SMS or pager gateway (README, "Alert
    webhook"): `{ref, message_id, recipient: {id, username}, severity, rule, session, step,
    text, acknowledge_url}`, header `Idempotency-Key: <message_id>` (a resend after a crash
    carries the same key). Any 2xx is accepted; anything else is retried."""

    name = "webhook"

    def accepts(self, user: User) -> bool:
        return bool(getattr(settings, "ALERT_WEBHOOK_URL", ""))

    def send(self, message: AlertMessage) -> None:
        body = json.dumps({"ref": message.ref, "message_id": message.message_id, **message.payload}).encode()
        request = urllib.request.Request(  # noqa: S310 - the URL is the operator's setting
            settings.ALERT_WEBHOOK_URL,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "Idempotency-Key": message.message_id},
        )
        timeout = float(getattr(settings, "ALERT_WEBHOOK_TIMEOUT_SECONDS", 5))
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            if not 200 <= response.status < 300:
                raise RuntimeError(f"The webhook answered {response.status}.")


def alert_channels() -> list[AlertChannel]:
    out: list[AlertChannel] = []
    for path in getattr(settings, "ALERT_CHANNELS", ()):
        channel = import_string(path)()
        if not isinstance(channel, AlertChannel):
            raise TypeError(f"{path} is not an alert channel (name, accepts, send).")
        out.append(channel)
    return out


def acknowledge_url(alert_id: int) -> str:
    return getattr(settings, "ALERT_LINK_BASE", "").rstrip("/") + reverse("monitoring:alert", args=[alert_id])


def deliveries_write(notices: Sequence[object], now: datetime) -> list[AlertDelivery]:
    """The sent channels' delivery rows of these notices, in the caller's transaction."""
    channels = alert_channels()
    rows = []
    for notice in notices:
        recipient = getattr(notice, "recipient", None)
        if recipient is None:
            continue
        for channel in channels:
            if channel.accepts(recipient):
                rows.append(
                    AlertDelivery(
                        alert_id=notice.alert_id,  # type: ignore[attr-defined]
                        step=notice.step,  # type: ignore[attr-defined]
                        channel=channel.name,
                        recipient=recipient,
                        message_id=make_msgid(idstring=f"alert.{uuid.uuid4().hex}"),
                        created_at=now,
                    )
                )
    return AlertDelivery.objects.bulk_create(rows)


def _lease() -> timedelta:
    return timedelta(seconds=float(getattr(settings, "ALERT_DELIVERY_LEASE_SECONDS", 120)))


def deliveries_due(*, now: datetime | None = None, limit: int = 500) -> list[int]:
    """Unsent deliveries no live sender holds (the sweep)."""
    now = now or timezone.now()
    return list(
        AlertDelivery.objects.filter(sent_at__isnull=True)
        .exclude(claimed_at__gte=now - _lease())
        .order_by("created_at", "id")
        .values_list("id", flat=True)[:limit]
    )


def _claim(delivery_id: int, now: datetime) -> AlertDelivery | None:
    """Take the lease on one unsent delivery (one UPDATE, committed at once)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f'UPDATE "{TABLE}" SET "claimed_at" = %s, "attempts" = "attempts" + 1 '  # noqa: S608
            'WHERE "id" = %s AND "sent_at" IS NULL AND ("claimed_at" IS NULL OR "claimed_at" < %s) RETURNING "id"',
            [now, delivery_id, now - _lease()],
        )
        if cursor.fetchone() is None:
            return None
    return AlertDelivery.objects.select_related("recipient", "alert").get(pk=delivery_id)


def _message(row: AlertDelivery) -> AlertMessage:
    alert: Alert = row.alert
    link = acknowledge_url(alert.pk)
    level = "you are on call" if row.step == 1 else "the on-call clinician has not answered"
    subject = f"[{alert.severity.upper()}] Alert on session {alert.session_id}: {alert.get_rule_display()}"
    text = (
        f"An unacknowledged {alert.severity} alert ({alert.get_rule_display()}) on session {alert.session_id} "
        f"was escalated to you ({level})."
    )
    return AlertMessage(
        delivery_id=row.pk,
        ref=f"alert:{alert.pk}:{row.step}",
        message_id=row.message_id,
        recipient=row.recipient,
        subject=subject,
        body=f"{text}\n\nAcknowledge: {link}\n",
        payload={
            "recipient": {"id": row.recipient_id, "username": row.recipient.username},
            "severity": alert.severity,
            "rule": alert.rule,
            "session": alert.session_id,
            "step": row.step,
            "text": text,
            "acknowledge_url": link,
        },
    )


def deliveries_send(*, delivery_ids: Sequence[int]) -> list[int]:
    """Send these deliveries, each claimed just before and marked sent just after its channel
    accepted it; a failure is released (sent again by the sweep). Returns those sent."""
    channels = {c.name: c for c in alert_channels()}
    sent = []
    for delivery_id in delivery_ids:
        row = _claim(int(delivery_id), timezone.now())
        if row is None:
            continue
        channel = channels.get(row.channel)
        try:
            if channel is None:
                raise LookupError(f"No alert channel named {row.channel!r} in ALERT_CHANNELS.")
            channel.send(_message(row))
        except Exception as error:  # one failing delivery must not stop the others
            logger.warning("Alert delivery %s (%s) failed; it is retried.", row.pk, row.channel, exc_info=True)
            AlertDelivery.objects.filter(pk=row.pk, sent_at__isnull=True).update(
                claimed_at=None, last_error=f"{type(error).__name__}: {error}"[:2000]
            )
            continue
        AlertDelivery.objects.filter(pk=row.pk, sent_at__isnull=True).update(sent_at=timezone.now(), last_error="")
        sent.append(row.pk)
    return sent
