"""Vitals sets (append-only; a correction supersedes) and each session's "next set due"."""

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

    # No index of its own: the (session, recorded_at) index below serves every lookup by session,
    # and each index is one more write per set (docs/PERFORMANCE.md).
    session = models.ForeignKey(
        "infusions.InfusionSession", on_delete=models.PROTECT, related_name="vitals", db_index=False
    )
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
    # A correction that says the set it supersedes was a measurement artefact (a slipped probe,
    # motion, a wrong cuff): that set should never have been charted (FHIR `entered-in-error`),
    # rather than charted with wrong values and put right (FHIR `amended`).
    correction_artefact = models.BooleanField(default=False)

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
            models.CheckConstraint(
                condition=Q(correction_artefact=False) | Q(supersedes__isnull=False),
                name="vitals_artefact_only_on_correction",
            ),
        ]


class VitalsDueKind(models.TextChoices):
    BASELINE = "baseline"
    RUNNING = "running"
    ESKETAMINE_40_MIN = "esketamine_40_min"
    OBSERVATION = "observation"
    DISCHARGE = "discharge"


class VitalsSchedule(BaseModel):
    """When the session's next vitals set is due (CLINICAL.md §3 schedule), kept current by
    the services on every step and every set. `overdue_alerted_for` is the due time a
    `vitals_overdue` alert was raised for, so the minute scan raises it once."""

    session = models.OneToOneField(
        "infusions.InfusionSession", on_delete=models.CASCADE, related_name="vitals_schedule"
    )
    next_due_at = models.DateTimeField(null=True, blank=True)
    next_kind = models.CharField(max_length=20, choices=VitalsDueKind.choices, blank=True)
    overdue_alerted_for = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["next_due_at"], name="vitalsschedule_due", condition=Q(next_due_at__isnull=False))
        ]
