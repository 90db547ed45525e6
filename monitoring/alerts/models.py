"""Alerts raised by vitals (and by the overdue scan), and their escalations."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from clinic.core.models import AppendOnlyModel, BaseModel
from monitoring.vitals.models import VitalSign


class AlertRule(models.TextChoices):
    PREDOSE_BP = "predose_bp", "Pre-dose blood pressure"
    BP_HIGH = "bp_high", "High blood pressure"
    BP_RISE = "bp_rise", "Blood pressure rise"
    SPO2_LOW = "spo2_low", "Low SpO₂"
    NEWS2 = "news2", "NEWS2"
    UNRESPONSIVE = "unresponsive", "Unresponsive"
    VITALS_OVERDUE = "vitals_overdue", "Vitals overdue"


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
    escalated_at = models.DateTimeField(null=True, blank=True)  # when the latest step was taken
    # 0: not escalated; 1: sent to the on-call clinician; 2: sent on to the next level.
    escalation_step = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-raised_at", "-id"]
        indexes = [models.Index(fields=["session", "status"]), models.Index(fields=["status", "severity"])]
        constraints = [
            models.CheckConstraint(condition=Q(rule__in=AlertRule.values), name="alert_rule_valid"),
            models.CheckConstraint(condition=Q(severity__in=AlertSeverity.values), name="alert_severity_valid"),
            models.CheckConstraint(condition=Q(status__in=AlertStatus.values), name="alert_status_valid"),
        ]


class AlertEscalation(AppendOnlyModel):
    """An unacknowledged alert sent on to a clinician on duty (CLINICAL.md §3 escalation):
    the in-app notice. Written in the same transaction that claims the alert, at most one
    per (alert, recipient)."""

    alert = models.ForeignKey(Alert, on_delete=models.PROTECT, related_name="escalations")
    step = models.PositiveSmallIntegerField(default=1)
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True)
    escalated_at = models.DateTimeField()
    message = models.TextField()

    class Meta:
        ordering = ["escalated_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["alert", "step", "recipient"], name="alertescalation_once_per_step"),
            models.UniqueConstraint(
                fields=["alert", "step"], condition=Q(recipient__isnull=True), name="alertescalation_step_unaddressed"
            ),
        ]


class ResolutionAction(models.TextChoices):
    """What was done about a high or emergency alert (the short list; `other` needs the text)."""

    PAUSED_REMEASURED = "paused_remeasured", "Infusion paused and re-measured"
    INFUSION_STOPPED = "infusion_stopped", "Infusion stopped"
    OXYGEN_AIRWAY = "oxygen_airway", "Oxygen given / airway supported"
    MEDICATION_GIVEN = "medication_given", "Medication given"
    CLINICIAN_REVIEWED = "clinician_reviewed", "Clinician reviewed: no change needed"
    MEASUREMENT_ERROR = "measurement_error", "Measurement error: re-measured normal"
    OTHER = "other", "Other (described below)"


class AlertResolution(AppendOnlyModel):
    """How an alert was resolved: the action taken and a note, by whom and when. Append-only
    (a database trigger refuses UPDATE and DELETE); required for high and emergency alerts."""

    alert = models.OneToOneField(Alert, on_delete=models.PROTECT, related_name="resolution")
    action = models.CharField(max_length=24, choices=ResolutionAction.choices, blank=True)
    note = models.TextField(blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    resolved_at = models.DateTimeField()

    class Meta:
        ordering = ["resolved_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(action__in=[*ResolutionAction.values, ""]), name="alertresolution_action_valid"
            ),
            models.CheckConstraint(
                condition=~Q(action=ResolutionAction.OTHER) | ~Q(note=""), name="alertresolution_other_has_note"
            ),
        ]

    def __str__(self) -> str:
        return f"alert {self.alert_id}: {self.action or 'resolved'}"


class AlertDelivery(models.Model):
    """One escalation notice sent on one channel (e-mail, the webhook) to one person: unique per
    (alert, step, channel, recipient), committed with the claim of the step; sent after commit
    and marked `sent_at` right after its transport accepted it (monitoring.alerts.notify). The
    Message-ID is fixed here, so a resend after a crash is recognisably the same message."""

    alert = models.ForeignKey(Alert, on_delete=models.PROTECT, related_name="deliveries")
    step = models.PositiveSmallIntegerField()
    channel = models.CharField(max_length=16)
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    message_id = models.CharField("Message-ID", max_length=200, unique=True)
    created_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["created_at"], name="alertdelivery_unsent", condition=Q(sent_at__isnull=True))]
        constraints = [
            models.UniqueConstraint(fields=["alert", "step", "channel", "recipient"], name="alertdelivery_once")
        ]

    def __str__(self) -> str:
        return f"{self.channel} to {self.recipient_id} for alert {self.alert_id} step {self.step}"
