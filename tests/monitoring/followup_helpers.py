"""Builders for the follow-up tests: sessions that ended, appointments, questionnaires."""

from datetime import datetime, timedelta

from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.utils import timezone

from clinic.core.roles import Role
from clinic.models import User
from infusions.protocols.models import Protocol
from infusions.scheduling.models import Appointment, AppointmentKind
from infusions.sessions.models import InfusionSession, TreatmentCourse
from monitoring.followups.models import FollowUp
from monitoring.followups.services import FollowUpSpec, followups_ensure_many
from patients.models import Assessment, Patient
from tests.factories import ChairFactory, SessionFactory, UserFactory


def ended_session(course: TreatmentCourse, ended_at: datetime, **kwargs: object) -> InfusionSession:
    return SessionFactory(
        course=course,
        status="completed",
        started_at=ended_at - timedelta(minutes=40),
        dosing_ended_at=ended_at,
        **kwargs,
    )


def appointment(
    patient: Patient, starts_at: datetime, *, course: TreatmentCourse | None = None, status: str = "booked"
) -> Appointment:
    site = patient.site
    assert site is not None
    ends_at = starts_at + timedelta(hours=2)
    return Appointment.objects.create(
        patient=patient,
        site=site,
        chair=ChairFactory(site=site),
        kind=AppointmentKind.INFUSION,
        protocol=course.protocol if course else Protocol.objects.get(code="ket-iv-dep"),
        course=course,
        starts_at=starts_at,
        ends_at=ends_at,
        during=DateTimeTZRange(starts_at, ends_at, "[)"),
        status=status,
        booked_by=UserFactory(role=Role.FRONTDESK),
    )


def phq9(patient: Patient, items: list[int], at: datetime | None = None) -> Assessment:
    total = sum(items)
    return Assessment.objects.create(
        patient=patient,
        instrument="PHQ9",
        items=items,
        total=total,
        severity="mild",
        flags=["item9"] if items[8] > 0 else [],
        administered_at=at or timezone.now(),
        recorded_by=UserFactory(role=Role.NURSE),
        source="staff",
    )


def due_followups(n: int, *, role: str = "nurse", due_at: datetime | None = None, prefix: str = "t") -> list[int]:
    """`n` follow-ups due now (clinic-wide, so every account of `role` is told)."""
    due = due_at or timezone.now() - timedelta(minutes=1)
    specs = [FollowUpSpec(kind="check_in_call", key=f"{prefix}:{i}", due_at=due, assignee_role=role) for i in range(n)]
    followups_ensure_many(specs)
    return list(FollowUp.objects.filter(key__startswith=f"{prefix}:").values_list("id", flat=True))


def staff(role: str, n: int, prefix: str = "") -> list[User]:
    return [
        UserFactory(username=f"{prefix}{role}{i}", role=role, email=f"{prefix}{role}{i}@clinic.test") for i in range(n)
    ]
