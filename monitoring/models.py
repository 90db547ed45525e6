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
