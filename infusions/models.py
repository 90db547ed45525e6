from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateTimeRangeField, RangeBoundary, RangeOperators
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q

from clinic.core.models import AppendOnlyModel, BaseModel


class Drug(models.TextChoices):
    KETAMINE = "ketamine"
    ESKETAMINE = "esketamine"


class Route(models.TextChoices):
    IV = "iv", "Intravenous"
    IM = "im", "Intramuscular"
    INTRANASAL = "intranasal", "Intranasal"
    ORAL = "oral", "Oral"


class DosingMode(models.TextChoices):
    MG_PER_KG = "mg_per_kg", "mg/kg over the duration"
    MG_PER_KG_PER_H = "mg_per_kg_per_h", "mg/kg/h"
    MG_PER_H = "mg_per_h", "mg/h"
    FIXED_MG = "fixed_mg", "fixed mg"


DOSE_UNITS = {
    DosingMode.MG_PER_KG: "mg/kg",
    DosingMode.MG_PER_KG_PER_H: "mg/kg/h",
    DosingMode.MG_PER_H: "mg/h",
    DosingMode.FIXED_MG: "mg",
}


class EvidenceGrade(models.TextChoices):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


def _dose_field(**kwargs: Any) -> models.DecimalField:
    return models.DecimalField(max_digits=8, decimal_places=3, validators=[MinValueValidator(Decimal("0"))], **kwargs)


class Protocol(BaseModel):
    """The drug library (CLINICAL.md §1). Dose figures are in the unit of `dosing_mode`."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=120)
    drug = models.CharField(max_length=16, choices=Drug.choices)
    route = models.CharField(max_length=16, choices=Route.choices)
    dosing_mode = models.CharField(max_length=16, choices=DosingMode.choices)
    default_dose = _dose_field()
    soft_min = _dose_field()
    soft_max = _dose_field()
    hard_max = _dose_field()
    max_total_mg = _dose_field(null=True, blank=True, help_text="Total cap per session, mg.")
    dose_step_mg = _dose_field(null=True, blank=True, help_text="Doses move in steps of this many mg (esketamine: 28).")
    default_concentration_mg_per_ml = _dose_field(null=True, blank=True)
    duration_minutes = models.PositiveIntegerField(
        null=True, blank=True, help_text="Dosing time; empty for oral doses."
    )
    observation_minutes = models.PositiveIntegerField(default=0)
    induction_sessions = models.PositiveSmallIntegerField(default=1)
    induction_sessions_per_week = models.PositiveSmallIntegerField(default=1)
    schedule = models.TextField(blank=True)
    evidence_grade = models.CharField(max_length=8, choices=EvidenceGrade.choices)
    evidence = models.TextField(blank=True)
    preparation_instructions = models.TextField(blank=True)
    # Structured preparation shown to the patient with each appointment (CLINICAL.md §2/§4;
    # fasting per protocol: IV/IM 4 h [U], esketamine 2 h (Spravato label)).
    fasting_hours = models.PositiveSmallIntegerField(default=0)
    arrive_minutes_early = models.PositiveSmallIntegerField(default=15)  # [U]
    escort_required = models.BooleanField(default=True)  # CLINICAL.md §4: an escort is recorded
    no_driving_until_next_day = models.BooleanField(default=True)  # Spravato label
    # Maintenance frequency, treat-and-extend (CLINICAL.md §6).
    min_interval_days = models.PositiveSmallIntegerField(default=7)
    extend_step_days = models.PositiveSmallIntegerField(default=7)
    max_interval_days = models.PositiveSmallIntegerField(default=112)
    exit_after_stable_at_max = models.PositiveSmallIntegerField(default=3)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(soft_min__lte=F("default_dose"))
                & Q(default_dose__lte=F("soft_max"))
                & Q(soft_max__lte=F("hard_max")),
                name="protocol_dose_order",
            ),
            models.CheckConstraint(condition=Q(soft_min__gt=0), name="protocol_dose_positive"),
            models.CheckConstraint(condition=Q(dosing_mode__in=DosingMode.values), name="protocol_mode_valid"),
            models.CheckConstraint(
                condition=Q(min_interval_days__lte=F("max_interval_days")),
                name="protocol_interval_order",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code}: {self.name}"

    @property
    def unit(self) -> str:
        return DOSE_UNITS[DosingMode(self.dosing_mode)]

    @property
    def is_infused(self) -> bool:
        return self.route == Route.IV


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


class TsTzRange(models.Func):
    function = "TSTZRANGE"
    output_field = DateTimeRangeField()


class AppointmentKind(models.TextChoices):
    INFUSION = "infusion"
    CONSULT = "consult"
    CALL = "call"


class AppointmentStatus(models.TextChoices):
    BOOKED = "booked"
    CHECKED_IN = "checked_in"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"


class AppointmentSeries(BaseModel):
    """An induction series booked all-or-nothing (CLINICAL.md §1 schedule)."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="appointment_series")
    protocol = models.ForeignKey(Protocol, on_delete=models.PROTECT, related_name="+")
    course = models.ForeignKey(TreatmentCourse, on_delete=models.PROTECT, related_name="series", null=True, blank=True)
    booked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "appointment series"

    def __str__(self) -> str:
        return f"Series {self.pk} ({self.protocol.code})"


class Appointment(BaseModel):
    """A booking. An infusion holds its chair for `[starts_at, ends_at)`: the site's preparation
    time + the protocol's duration + its observation time. Consults and calls have no chair.

    `during` mirrors `[starts_at, ends_at)` (a check constraint keeps them equal) and carries the
    exclusion constraints: no chair and no patient is ever double-booked (cancelled rows aside).
    """

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="appointments")
    site = models.ForeignKey("clinic.Site", on_delete=models.PROTECT, related_name="appointments")
    chair = models.ForeignKey(
        "clinic.Chair", on_delete=models.PROTECT, related_name="appointments", null=True, blank=True
    )
    kind = models.CharField(max_length=10, choices=AppointmentKind.choices, default=AppointmentKind.INFUSION)
    protocol = models.ForeignKey(Protocol, on_delete=models.PROTECT, related_name="+", null=True, blank=True)
    course = models.ForeignKey(
        TreatmentCourse, on_delete=models.PROTECT, related_name="appointments", null=True, blank=True
    )
    series = models.ForeignKey(
        AppointmentSeries, on_delete=models.PROTECT, related_name="appointments", null=True, blank=True
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(help_text="End of the chair hold (preparation + dosing + observation).")
    during = DateTimeRangeField()
    status = models.CharField(max_length=12, choices=AppointmentStatus.choices, default=AppointmentStatus.BOOKED)
    booked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    override_reason = models.TextField(
        blank=True, help_text="A clinician's reason to book despite a relative contraindication."
    )
    override_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    cancel_reason = models.TextField(blank=True)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["starts_at", "id"]
        indexes = [
            # The slot search and the day board read a site's live bookings a day or a few at a
            # time: a range scan on this index, whatever the size of the table.
            models.Index(fields=["site", "starts_at"], name="appt_site_starts_live", condition=~Q(status="cancelled")),
            models.Index(fields=["patient", "starts_at"], name="appt_patient_starts"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="appointment_time_order"),
            models.CheckConstraint(
                condition=Q(during=TsTzRange(F("starts_at"), F("ends_at"), RangeBoundary())),
                name="appointment_during_matches_times",
            ),
            models.CheckConstraint(condition=Q(kind__in=AppointmentKind.values), name="appointment_kind_valid"),
            models.CheckConstraint(condition=Q(status__in=AppointmentStatus.values), name="appointment_status_valid"),
            models.CheckConstraint(
                condition=Q(kind=AppointmentKind.INFUSION, chair__isnull=False, protocol__isnull=False)
                | (~Q(kind=AppointmentKind.INFUSION) & Q(chair__isnull=True)),
                name="appointment_chair_for_infusion_only",
            ),
            ExclusionConstraint(
                name="appointment_no_chair_overlap",
                expressions=[("chair", RangeOperators.EQUAL), ("during", RangeOperators.OVERLAPS)],
                condition=Q(chair__isnull=False) & ~Q(status="cancelled"),
            ),
            ExclusionConstraint(
                name="appointment_no_patient_overlap",
                expressions=[("patient", RangeOperators.EQUAL), ("during", RangeOperators.OVERLAPS)],
                condition=~Q(status="cancelled"),
            ),
        ]

    def __str__(self) -> str:
        return f"Appointment {self.pk} ({self.kind}, {self.status})"


class AppointmentEventKind(models.TextChoices):
    BOOKED = "booked"
    MOVED = "moved"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"
    CHECKED_IN = "checked_in"
    STARTED = "started"
    COMPLETED = "completed"


class AppointmentEvent(AppendOnlyModel):
    """The history of an appointment: one row per change, never changed or deleted."""

    appointment = models.ForeignKey(Appointment, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=12, choices=AppointmentEventKind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(blank=True)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} appointment {self.appointment_id}"


class CalendarFeed(BaseModel):
    """A patient's private calendar subscription link. Only the token's SHA-256 is stored;
    revoking sets `revoked_at`, and a new link revokes the old ones."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE, related_name="calendar_feeds")
    token_sha256 = models.CharField(max_length=64, unique=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Calendar feed {self.pk} ({'revoked' if self.revoked_at else 'active'})"


# The controlled-substance ledger lives in its own module; importing it registers its models.
from infusions.ledger_models import *  # noqa: E402, F403
