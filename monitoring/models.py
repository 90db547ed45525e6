from django.conf import settings
from django.db import models
from django.db.models import Q

from clinic.core.models import AppendOnlyModel, BaseModel


class Consciousness(models.TextChoices):
    ALERT = "A", "Alert"
    CONFUSION = "C", "New confusion"
    VOICE = "V", "Responds to voice"
    PAIN = "P", "Responds to pain"
    UNRESPONSIVE = "U", "Unresponsive"


class VitalsPhase(models.TextChoices):
    BASELINE = "baseline"
    RUNNING = "running"
    OBSERVATION = "observation"
    DISCHARGE = "discharge"


class VitalsSource(models.TextChoices):
    MANUAL = "manual"
    DEVICE = "device"


class VitalSign(AppendOnlyModel):
    """One set of vitals. Append-only (a database trigger refuses UPDATE and DELETE); a
    correction is a new row that `supersedes` the old one, with a reason."""

    session = models.ForeignKey("infusions.InfusionSession", on_delete=models.PROTECT, related_name="vitals")
    recorded_at = models.DateTimeField()
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    source = models.CharField(max_length=8, choices=VitalsSource.choices, default=VitalsSource.MANUAL)
    phase = models.CharField(max_length=12, choices=VitalsPhase.choices)
    systolic = models.PositiveSmallIntegerField()
    diastolic = models.PositiveSmallIntegerField()
    heart_rate = models.PositiveSmallIntegerField()
    spo2 = models.PositiveSmallIntegerField()
    respiratory_rate = models.PositiveSmallIntegerField()
    temperature_c = models.DecimalField(max_digits=3, decimal_places=1, null=True, blank=True)
    consciousness = models.CharField(max_length=1, choices=Consciousness.choices, default="A")
    on_oxygen = models.BooleanField(default=False)
    moaas = models.PositiveSmallIntegerField(null=True, blank=True, help_text="MOAA/S 0-5")
    news2_score = models.PositiveSmallIntegerField()
    news2_risk = models.CharField(max_length=12)
    supersedes = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="superseded_by"
    )
    correction_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["recorded_at", "id"]
        indexes = [models.Index(fields=["session", "recorded_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(diastolic__lt=models.F("systolic")), name="vitals_diastolic_below_systolic"
            ),
            models.CheckConstraint(condition=Q(spo2__lte=100), name="vitals_spo2_max"),
            models.CheckConstraint(condition=Q(moaas__isnull=True) | Q(moaas__lte=5), name="vitals_moaas_range"),
            models.CheckConstraint(
                condition=Q(supersedes__isnull=True) | ~Q(correction_reason=""),
                name="vitals_correction_has_reason",
            ),
        ]


class AlertRule(models.TextChoices):
    PREDOSE_BP = "predose_bp"
    BP_HIGH = "bp_high"
    BP_RISE = "bp_rise"
    SPO2_LOW = "spo2_low"
    NEWS2 = "news2"
    UNRESPONSIVE = "unresponsive"
    VITALS_OVERDUE = "vitals_overdue"


class AlertSeverity(models.TextChoices):
    EMERGENCY = "emergency"
    HIGH = "high"
    MEDIUM = "medium"


class AlertStatus(models.TextChoices):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class Alert(BaseModel):
    session = models.ForeignKey("infusions.InfusionSession", on_delete=models.PROTECT, related_name="alerts")
    vital = models.ForeignKey(VitalSign, on_delete=models.PROTECT, related_name="alerts", null=True, blank=True)
    rule = models.CharField(max_length=16, choices=AlertRule.choices)
    severity = models.CharField(max_length=10, choices=AlertSeverity.choices)
    status = models.CharField(max_length=12, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    message = models.TextField()
    raised_at = models.DateTimeField()
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution_note = models.TextField(blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-raised_at", "-id"]
        indexes = [models.Index(fields=["session", "status"]), models.Index(fields=["status", "severity"])]
        constraints = [
            models.CheckConstraint(condition=Q(rule__in=AlertRule.values), name="alert_rule_valid"),
            models.CheckConstraint(condition=Q(severity__in=AlertSeverity.values), name="alert_severity_valid"),
            models.CheckConstraint(condition=Q(status__in=AlertStatus.values), name="alert_status_valid"),
        ]


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


class FollowUpStatus(models.TextChoices):
    PENDING = "pending"  # waiting for its due time (or for the next tick)
    QUEUED = "queued"  # claimed by a tick, delivery task enqueued (a lease: re-queued if it expires)
    NOTIFIED = "notified"  # the assignees were notified for the current round
    COMPLETED = "completed"
    CANCELLED = "cancelled"


OPEN_FOLLOWUP_STATUSES = (FollowUpStatus.PENDING, FollowUpStatus.QUEUED, FollowUpStatus.NOTIFIED)


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
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
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


class FollowUpEvent(AppendOnlyModel):
    """The history of a follow-up (append-only: who did what, with the values before)."""

    followup = models.ForeignKey(FollowUp, on_delete=models.PROTECT, related_name="events")
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
    """One notification sent: unique per (follow-up, round, channel, recipient), written in
    the same transaction as the send, so a retried or redelivered task never sends twice."""

    followup = models.ForeignKey(FollowUp, on_delete=models.PROTECT, related_name="deliveries")
    round = models.PositiveSmallIntegerField()
    channel = models.CharField(max_length=16)
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    sent_at = models.DateTimeField()

    class Meta:
        ordering = ["sent_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["followup", "round", "channel", "recipient"], name="followupdelivery_once")
        ]

    def __str__(self) -> str:
        return f"{self.channel} to {self.recipient_id} for follow-up {self.followup_id} round {self.round}"


class InboxMessage(BaseModel):
    """The in-app inbox: one row per notification to a staff member."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="inbox")
    followup = models.ForeignKey(FollowUp, on_delete=models.PROTECT, related_name="inbox_messages")
    round = models.PositiveSmallIntegerField(default=0)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at"], name="inbox_user_unread")]

    def __str__(self) -> str:
        return self.title
