"""Demo data for the bedside (`seed_demo`): today's board shows a session running in a chair,
with its baseline and vitals every 10 minutes, and an open alert (a blood-pressure rise).

Written through the services where the clock allows (consent, escort, vitals with their
alerts and schedule, the drug drawn and given in the controlled-substance ledger); the steps
that happened "25 minutes ago" are rows dated then, as the services would have written them
(with their history). Idempotent: today's demo session is made once; an
unfinished one from an earlier day is closed first so the board never shows stale sessions.
"""

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from clinic.models import Site, User
from infusions.protocols.models import Protocol
from infusions.scheduling.models import Appointment, AppointmentKind, AppointmentStatus
from infusions.sessions.models import InfusionSession, SessionStatus, TreatmentCourse
from infusions.sessions.services import course_create, session_create
from monitoring.audit.history import history_snapshot
from monitoring.bedside.models import SessionAction, SessionEvent
from monitoring.bedside.services import consent_record, escort_record
from monitoring.demo.ledger import seed_session_ledger
from monitoring.vitals.services import vitals_record
from patients.models import Patient

MARKER = "Demo: today's session in the chair."
BASELINE = {"systolic": 124, "diastolic": 78, "heart_rate": 74, "spo2": 98, "respiratory_rate": 14}


def _demo_sessions(course: TreatmentCourse) -> Any:
    """The sessions this module made (their start event carries `demo`)."""
    return course.sessions.filter(events__action=SessionAction.START, events__data__demo=True)


def _close_earlier(course: TreatmentCourse, today_start: datetime, nurse: User) -> None:
    """A demo session left running on an earlier day is closed (demo housekeeping only)."""
    for session in _demo_sessions(course).filter(signed_at__isnull=True, created_at__lt=today_start):
        end = (session.started_at or session.created_at) + timedelta(minutes=40)
        InfusionSession.objects.filter(pk=session.pk).update(
            status=SessionStatus.DISCHARGED,
            dosing_ended_at=end,
            actual_dose_mg=session.total_dose_mg,
            signed_at=end + timedelta(minutes=60),
            signed_by=nurse,
        )
        history_snapshot(InfusionSession, [session.pk], user=nurse, rule="demo_close_earlier_session")


def _free_chair(site: Site, patient: Patient, start: datetime, end: datetime) -> Appointment | None:
    live = Appointment.objects.exclude(status=AppointmentStatus.CANCELLED).filter(during__overlap=(start, end))
    if live.filter(patient=patient).exists():
        return None
    busy = set(live.filter(chair__isnull=False).values_list("chair_id", flat=True))
    chair = site.chairs.filter(is_active=True).exclude(pk__in=busy).order_by("name").first()
    if chair is None:
        return None
    return Appointment(patient=patient, site=site, chair=chair, starts_at=start, ends_at=end, during=(start, end))


@transaction.atomic
def seed_today(*, site: Site, patients: list[Patient], users: dict[str, User]) -> InfusionSession | None:
    nurse, clinician = users["nurse"], users["clinician"]
    # A patient in the middle of an induction (seed_history gave the first half a course with
    # scores): today is their next session.
    patient = patients[1] if len(patients) > 1 else patients[0]
    protocol = Protocol.objects.get(code="ket-iv-dep")
    now = timezone.now()
    today_start = datetime.combine(now.astimezone(site.tz).date(), datetime.min.time(), tzinfo=site.tz)
    course = patient.courses.filter(protocol=protocol).order_by("created_at").first()
    if course is None:
        course = course_create(actor=clinician, patient=patient, protocol=protocol, indication="trd", notes=MARKER)
    _close_earlier(course, today_start, nurse)
    existing = _demo_sessions(course).filter(created_at__gte=today_start).first()
    if existing is not None:
        return existing
    if not patient.measurements.exists():
        return None
    started = now - timedelta(minutes=25)
    prep = timedelta(minutes=site.prep_minutes)
    hold = prep + timedelta(minutes=(protocol.duration_minutes or 0) + protocol.observation_minutes)
    appointment = _free_chair(site, patient, started - prep, started - prep + hold)
    if appointment is not None:
        appointment.kind = AppointmentKind.INFUSION
        appointment.protocol = protocol
        appointment.course = course
        appointment.status = AppointmentStatus.IN_PROGRESS
        appointment.booked_by = users["frontdesk"]
        appointment.save()
    # The dose as the service computes it (the site's limits, the latest weight, the gates).
    session = session_create(
        actor=nurse,
        course=course,
        dose=protocol.default_dose,
        concentration_mg_per_ml=protocol.default_concentration_mg_per_ml,
        appointment=appointment,
    )
    consent_record(actor=nurse, session=session, obtained_at=started - timedelta(minutes=20))
    escort_record(actor=nurse, session=session, name="Jordan Lee", phone="+1 555 0134", relationship="partner")
    vitals_record(actor=nurse, session=session, rows=[{**BASELINE, "recorded_at": started - timedelta(minutes=10)}])
    SessionEvent.objects.create(
        session=session,
        action=SessionAction.PRECHECK,
        from_status=SessionStatus.PLANNED,
        to_status=SessionStatus.PRECHECKED,
        actor=nurse,
        at=started - timedelta(minutes=5),
    )
    SessionEvent.objects.create(
        session=session,
        action=SessionAction.START,
        from_status=SessionStatus.PRECHECKED,
        to_status=SessionStatus.RUNNING,
        actor=nurse,
        at=started,
        data={"demo": True},
    )
    InfusionSession.objects.filter(pk=session.pk).update(status=SessionStatus.RUNNING, started_at=started)
    history_snapshot(InfusionSession, [session.pk], user=nurse, rule="demo_session_started", at=started)
    session.refresh_from_db()
    # The syringe drawn from a vial and run through the pump (CLINICAL.md §8): the ledger holds
    # the planned dose opened and given, so the nurse can complete and discharge the session.
    seed_session_ledger(session=session, site=site, nurse=nurse, at=started)
    # Every 10 minutes while running (Yale 2024); the second set rose 44 mmHg systolic from
    # baseline: a `bp_rise` alert (Spravato label), left open for the nurse to answer.
    vitals_record(
        actor=nurse,
        session=session,
        rows=[
            {**BASELINE, "systolic": 138, "heart_rate": 80, "recorded_at": started + timedelta(minutes=10)},
            {
                **BASELINE,
                "systolic": 168,
                "diastolic": 94,
                "heart_rate": 86,
                "temperature_c": Decimal("36.8"),
                "moaas": 4,
                "recorded_at": started + timedelta(minutes=20),
            },
        ],
    )
    return session
