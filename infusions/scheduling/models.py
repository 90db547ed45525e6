"""Appointments (a chair held for preparation + infusion + observation), series, their
append-only history and the patients' calendar feeds."""

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateTimeRangeField, RangeBoundary, RangeOperators
from django.db import models
from django.db.models import F, Q

from clinic.core.models import AppendOnlyModel, BaseModel
from infusions.protocols.models import Protocol
from infusions.sessions.models import TreatmentCourse


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
    # iCalendar SEQUENCE (RFC 5545 §3.8.7.4): the revision calendar apps compare to recognise an
    # update of the event they have. Raised by every move and every change that cancels it.
    sequence = models.PositiveIntegerField(default=0)

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
