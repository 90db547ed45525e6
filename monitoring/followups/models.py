"""Follow-ups (the reminders staff get), their append-only events and their deliveries."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from clinic.core.models import AppendOnlyModel, BaseModel

# --- Follow-ups (CLINICAL.md §7): reminders that staff are sent, planned from the data. ---


class FollowUpKind(models.TextChoices):
    """CLINICAL.md §7, one value per row of the table."""

    CHECK_IN_CALL = "check_in_call", "Check-in call"
    PRE_SESSION_QUESTIONNAIRE = "pre_session_questionnaire", "Pre-session questionnaire"
    END_OF_INDUCTION_REVIEW = "end_of_induction_review", "End-of-induction review"
    SUICIDE_RISK_REVIEW = "suicide_risk_review", "Suicide-risk review"
    MID_INTERVAL_PHQ9 = "mid_interval_phq9", "Mid-interval PHQ-9"
    BOOSTER_DUE = "booster_due", "Booster due"
    BOOSTER_OVERDUE = "booster_overdue", "Booster overdue"
    SAFETY_SCREEN = "safety_screen", "Safety screen"
    WEIGHT_RECHECK = "weight_recheck", "Weight re-check"
    REMS_FORM = "rems_form", "REMS monitoring form"
    BIENNIAL_INVENTORY = "biennial_inventory", "Controlled-substance biennial inventory"
    WORSENING_REVIEW = "worsening_review", "Worsening score review"


class FollowUpStatus(models.TextChoices):
    PENDING = "pending"  # waiting for its due time (or for the next tick)
    QUEUED = "queued"  # claimed by a tick, delivery task enqueued (a lease: re-queued if it expires)
    NOTIFIED = "notified"  # the assignees were notified for the current round
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class AssigneeRole(models.TextChoices):
    ADMIN = "admin"
    CLINICIAN = "clinician"
    NURSE = "nurse"
    FRONTDESK = "frontdesk"


class FollowUp(BaseModel):
    """A reminder owed to staff. `key` makes planning idempotent (one row per reason).

    `round` counts notification rounds (first notice, escalation, after a snooze or a
    reassignment); a delivery is unique per (follow-up, round, channel, recipient).
    """

    # Not indexed: every dispatch rewrites the row, and each index costs a write.
    created_at = models.DateTimeField(auto_now_add=True)
    kind = models.CharField(max_length=32, choices=FollowUpKind.choices)
    key = models.CharField(max_length=200, unique=True)
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="followups", null=True, blank=True
    )
    site = models.ForeignKey("clinic.Site", on_delete=models.PROTECT, related_name="followups", null=True, blank=True)
    subject_type = models.CharField(max_length=64, blank=True, help_text="app_label.model of the reason")
    subject_id = models.BigIntegerField(null=True, blank=True)
    due_at = models.DateTimeField()
    assignee_role = models.CharField(max_length=16, choices=AssigneeRole.choices)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="followups", null=True, blank=True
    )
    status = models.CharField(max_length=12, choices=FollowUpStatus.choices, default=FollowUpStatus.PENDING)
    note = models.TextField(blank=True)
    round = models.PositiveSmallIntegerField(default=0)
    queued_at = models.DateTimeField(null=True, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)
    escalate_at = models.DateTimeField(null=True, blank=True)
    escalate_role = models.CharField(max_length=16, choices=AssigneeRole.choices, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True, db_index=False
    )
    outcome = models.TextField(blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [
            models.Index(fields=["status", "due_at"], name="followup_status_due"),
            models.Index(fields=["assignee_role", "status"], name="followup_role_status"),
            models.Index(fields=["subject_type", "subject_id"], name="followup_subject"),
            models.Index(
                fields=["escalate_at"],
                name="followup_escalate_pending",
                condition=Q(escalated_at__isnull=True, escalate_at__isnull=False),
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=FollowUpKind.values), name="followup_kind_valid"),
            models.CheckConstraint(condition=Q(status__in=FollowUpStatus.values), name="followup_status_valid"),
            models.CheckConstraint(
                condition=Q(assignee_role__in=AssigneeRole.values), name="followup_assignee_role_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status=FollowUpStatus.COMPLETED) | Q(completed_at__isnull=False),
                name="followup_completed_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} due {self.due_at:%Y-%m-%d %H:%M} ({self.status})"


class FollowUpAction(models.TextChoices):
    CREATED = "created"
    NOTIFIED = "notified"
    ESCALATED = "escalated"
    SNOOZED = "snoozed"
    REASSIGNED = "reassigned"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    RESCHEDULED = "rescheduled"
    REQUEUED = "requeued"  # its delivery did not commit within the lease: queued again


class FollowUpEvent(AppendOnlyModel):
    """The history of a follow-up (append-only: who did what, with the values before)."""

    # Indexed by `followupevent_followup` (followup, created_at); no index of their own, so
    # the dispatch writes as few index entries as it can.
    followup = models.ForeignKey(FollowUp, on_delete=models.PROTECT, related_name="events", db_index=False)
    created_at = models.DateTimeField(auto_now_add=True)
    action = models.CharField(max_length=12, choices=FollowUpAction.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    reason = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["followup", "created_at"], name="followupevent_followup")]

    def __str__(self) -> str:
        return f"{self.action} follow-up {self.followup_id}"


class FollowUpDelivery(models.Model):
    """One notification of a follow-up: unique per (follow-up, round, channel, recipient),
    written in the transaction that marks the follow-up notified, so a retried or redelivered
    task never notifies twice.

    The in-app inbox is the `inbox` channel's rows: each is one entry in the recipient's
    inbox (`read_at` when they opened it). A sent channel's rows (e-mail) are carried by the
    outbox message whose `refs` name them (`followup:<id>:<round>`, to the same recipient; a
    digest carries several), sent after commit."""

    # Indexed by the unique constraint (followup, round, channel, recipient).
    followup = models.ForeignKey(FollowUp, on_delete=models.PROTECT, related_name="deliveries", db_index=False)
    round = models.PositiveSmallIntegerField()
    channel = models.CharField(max_length=16)
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", db_index=False)
    sent_at = models.DateTimeField(help_text="When the delivery was committed (the inbox entry appeared).")
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["sent_at", "id"]
        indexes = [
            # The inbox (recipient's rows, newest first); also serves the recipient foreign key.
            models.Index(fields=["recipient", "-sent_at"], name="followupdelivery_recipient")
        ]
        constraints = [
            models.UniqueConstraint(fields=["followup", "round", "channel", "recipient"], name="followupdelivery_once")
        ]

    def __str__(self) -> str:
        return f"{self.channel} to {self.recipient_id} for follow-up {self.followup_id} round {self.round}"
