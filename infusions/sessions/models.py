"""Treatment courses (patient, protocol, indication, phase) and infusion sessions (the dose
figures computed once, at creation; signed, then immutable)."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from clinic.core.models import BaseModel
from infusions.protocols.models import Protocol


class Indication(models.TextChoices):
    TRD = "trd", "Treatment-resistant depression"
    DEPRESSION = "depression", "Depression"
    CRPS = "crps", "Complex regional pain syndrome"
    SCI_PAIN = "sci_pain", "Spinal cord injury pain"
    CHRONIC_PAIN = "chronic_pain", "Chronic pain"
    OTHER = "other", "Other"


class CoursePhase(models.TextChoices):
    INDUCTION = "induction"
    MAINTENANCE = "maintenance"
    PAUSED = "paused"
    ENDED = "ended"


class TreatmentCourse(BaseModel):
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="courses")
    protocol = models.ForeignKey(Protocol, on_delete=models.PROTECT, related_name="courses")
    indication = models.CharField(max_length=16, choices=Indication.choices)
    phase = models.CharField(max_length=16, choices=CoursePhase.choices, default=CoursePhase.INDUCTION)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.CheckConstraint(condition=Q(phase__in=CoursePhase.values), name="course_phase_valid")]

    def __str__(self) -> str:
        return f"Course {self.pk} ({self.protocol.code})"


class SessionStatus(models.TextChoices):
    PLANNED = "planned"
    PRECHECKED = "prechecked"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    STOPPED = "stopped"
    DISCHARGED = "discharged"


class InfusionSession(BaseModel):
    """One administration. The dose figures are computed by the service once, at creation,
    from the weight snapshot, and never changed; after discharge the session is signed."""

    course = models.ForeignKey(TreatmentCourse, on_delete=models.PROTECT, related_name="sessions")
    appointment = models.OneToOneField(
        "infusions.Appointment", on_delete=models.PROTECT, related_name="session", null=True, blank=True
    )
    status = models.CharField(max_length=16, choices=SessionStatus.choices, default=SessionStatus.PLANNED)
    measurement = models.ForeignKey(
        "patients.BodyMeasurement", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    weight_kg = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    dose = models.DecimalField(max_digits=8, decimal_places=3)
    dose_unit = models.CharField(max_length=10)
    concentration_mg_per_ml = models.DecimalField(max_digits=8, decimal_places=3, null=True, blank=True)
    total_dose_mg = models.DecimalField(max_digits=9, decimal_places=1)
    rate_mg_per_h = models.DecimalField(max_digits=9, decimal_places=1, null=True, blank=True)
    volume_ml = models.DecimalField(max_digits=9, decimal_places=1, null=True, blank=True)
    rate_ml_per_h = models.DecimalField(max_digits=9, decimal_places=1, null=True, blank=True)
    devices = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Nasal spray devices.")
    hard_max_at_creation = models.DecimalField(max_digits=8, decimal_places=3)
    approval_reasons = models.JSONField(default=list, blank=True)
    requires_approval = models.BooleanField(default=False)
    override_reason = models.TextField(blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    started_at = models.DateTimeField(null=True, blank=True)
    dosing_ended_at = models.DateTimeField(null=True, blank=True)
    actual_dose_mg = models.DecimalField(max_digits=9, decimal_places=1, null=True, blank=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(dose__lte=F("hard_max_at_creation")), name="session_dose_within_hard_max"
            ),
            models.CheckConstraint(condition=Q(dose__gt=0), name="session_dose_positive"),
            models.CheckConstraint(condition=Q(status__in=SessionStatus.values), name="session_status_valid"),
            models.CheckConstraint(
                condition=Q(requires_approval=False) | Q(approved_by__isnull=True),
                name="session_approval_consistent",
            ),
        ]

    def __str__(self) -> str:
        return f"Session {self.pk} ({self.status})"
