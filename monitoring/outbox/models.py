"""The outbox: every message that leaves the service (e-mail, and any later channel such as
SMS or push), committed in the transaction that decided to send it, sent after commit, and
marked sent after the send. Imported by `monitoring.models` so Django registers it.

A message belongs to one channel and one recipient and carries everything its channel needs
to send it again identically: subject, body, the references of what it is about, and a
Message-ID fixed when the row is written (RFC 5322 §3.6.4), so a resend after a crash is
recognisable as the same message. The rows that say *what* was notified (a follow-up's
deliveries, later an alert's notices) point at it; the outbox knows nothing of them.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q


class OutboxStatus(models.TextChoices):
    PENDING = "pending"  # committed, not yet accepted by its channel (sent after commit, retried)
    SENT = "sent"  # the channel accepted it; never sent again


class OutboxMessage(models.Model):
    """One message to one person on one channel. `claimed_at` is a sender's lease: a row
    claimed longer ago than `OUTBOX_CLAIM_LEASE_SECONDS` without being marked sent is sent
    again (its sender died); `claim` is the token of the current attempt, so a late mark by
    an older attempt cannot overwrite a newer one."""

    created_at = models.DateTimeField()
    channel = models.CharField(max_length=16)
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", db_index=False)
    message_id = models.CharField("Message-ID", max_length=200, unique=True)
    subject = models.CharField(max_length=300)
    body = models.TextField()
    refs = models.JSONField(
        default=list, blank=True, help_text="What it is about, e.g. followup:12:0 (no patient data)."
    )
    status = models.CharField(max_length=8, choices=OutboxStatus.choices, default=OutboxStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    claim = models.CharField(max_length=36, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            # The sweep: pending messages whose attempt is due, per channel.
            models.Index(
                fields=["channel", "next_attempt_at"],
                name="outbox_pending_due",
                condition=Q(status="pending"),
            ),
            models.Index(fields=["recipient", "-created_at"], name="outbox_recipient"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=OutboxStatus.values), name="outbox_status_valid"),
            models.CheckConstraint(condition=~Q(status="sent") | Q(sent_at__isnull=False), name="outbox_sent_has_time"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.message_id} to {self.recipient_id} ({self.status})"
