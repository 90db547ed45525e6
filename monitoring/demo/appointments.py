"""Demo appointments for `seed_demo`: the chair history behind the seeded sessions, a few missed
and cancelled ones, and upcoming bookings (the demo `patient` account among them) made through
the booking service, so every rule holds. Safe to run twice: a patient who already has
appointments in the past is not given history again, one with an upcoming booking is not
booked again.
"""

from datetime import datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from clinic.core.exceptions import ApplicationError
from clinic.models import Chair, Site, User
from infusions.protocols.models import Protocol
from infusions.scheduling.models import Appointment, AppointmentEvent, AppointmentKind, AppointmentStatus
from infusions.scheduling.services import (
    appointment_book,
    appointment_series_book,
    availability_search,
    chair_hold,
    series_propose,
)
from infusions.sessions.models import InfusionSession
from patients.models import Patient

OVERRIDE = "Demo: relative contraindication reviewed by the prescriber; benefits outweigh the risks."


def _free_chair(
    chairs: list[Chair], taken: dict[int, list[tuple[datetime, datetime]]], start: datetime, end: datetime
) -> Chair | None:
    for chair in chairs:
        if all(end <= s or e <= start for s, e in taken.setdefault(chair.pk, [])):
            taken[chair.pk].append((start, end))
            return chair
    return None


def _past(
    *,
    patient: Patient,
    site: Site,
    chair: Chair,
    protocol: Protocol,
    start: datetime,
    status: str,
    by: User,
    reason: str = "",
) -> Appointment:
    end = start + chair_hold(site=site, protocol=protocol)
    appointment = Appointment.objects.create(
        patient=patient,
        site=site,
        chair=chair,
        kind=AppointmentKind.INFUSION,
        protocol=protocol,
        course=patient.courses.first(),
        starts_at=start,
        ends_at=end,
        during=(start, end),
        status=status,
        booked_by=by,
        cancel_reason=reason if status == AppointmentStatus.CANCELLED else "",
    )
    AppointmentEvent.objects.create(appointment=appointment, kind="booked", actor=by, after={"status": "booked"})
    if status != AppointmentStatus.BOOKED:
        AppointmentEvent.objects.create(
            appointment=appointment, kind=status, actor=by, reason=reason, after={"status": status}
        )
    return appointment


@transaction.atomic
def seed_past_appointments(*, site: Site, patients: list[Patient], frontdesk: User) -> int:
    """One completed appointment behind every seeded session (the chair held from preparation
    to the end of observation), plus a missed and a cancelled one."""
    protocol = Protocol.objects.get(code="ket-iv-dep")
    chairs = list(site.chairs.filter(is_active=True).order_by("name"))
    prep = timedelta(minutes=site.prep_minutes)
    taken: dict[int, list[tuple[datetime, datetime]]] = {}
    live = Appointment.objects.filter(site=site, chair__isnull=False).exclude(status=AppointmentStatus.CANCELLED)
    for chair_id, starts_at, ends_at in live.values_list("chair_id", "starts_at", "ends_at"):
        taken.setdefault(chair_id, []).append((starts_at, ends_at))
    created = 0
    hold = chair_hold(site=site, protocol=protocol)
    for index, patient in enumerate(patients):
        if Appointment.objects.filter(patient=patient, starts_at__lt=timezone.now()).exists():
            continue
        sessions = InfusionSession.objects.filter(course__patient=patient, started_at__isnull=False).order_by(
            "started_at"
        )
        for session in sessions:
            assert session.started_at is not None  # noqa: S101 - filtered above
            start = session.started_at - prep
            chair = _free_chair(chairs, taken, start, start + hold)
            if chair is None:
                continue
            _past(
                patient=patient,
                site=site,
                chair=chair,
                protocol=protocol,
                start=start,
                status="completed",
                by=frontdesk,
            )
            created += 1
        if index in (3, 7):
            start = datetime.combine(
                timezone.now().astimezone(site.tz).date() - timedelta(days=5 + index), time(15), tzinfo=site.tz
            )
            chair = _free_chair(chairs, taken, start, start + hold)
            if chair is not None:
                status = AppointmentStatus.NO_SHOW if index == 3 else AppointmentStatus.CANCELLED
                reason = "Did not attend; left a voicemail." if index == 3 else "Patient unwell (cold)."
                _past(
                    patient=patient,
                    site=site,
                    chair=chair,
                    protocol=protocol,
                    start=start,
                    status=status,
                    by=frontdesk,
                    reason=reason,
                )
                created += 1
    return created


def _book_first_free(
    *, patient: Patient, site: Site, protocol: Protocol, day_offset: int, users: dict[str, User]
) -> Appointment | None:
    today = timezone.now().astimezone(site.tz).date()
    start = datetime.combine(today + timedelta(days=day_offset), time(0), tzinfo=site.tz)
    for chair, starts_at, _ in availability_search(
        site=site, protocol=protocol, start=start, end=start + timedelta(days=3), limit=5, patient=patient
    ):
        try:
            return _book(patient=patient, chair=chair, starts_at=starts_at, protocol=protocol, users=users)
        except ApplicationError:
            continue
    return None


def _book(
    *, patient: Patient, chair: Chair, starts_at: datetime, protocol: Protocol, users: dict[str, User]
) -> Appointment:
    screening = patient.screenings.first()
    relative = screening is not None and screening.outcome == "relative"
    return appointment_book(
        actor=users["clinician"] if relative else users["frontdesk"],
        patient=patient,
        chair=chair,
        starts_at=starts_at,
        kind=AppointmentKind.INFUSION,
        protocol=protocol,
        course=patient.courses.filter(protocol=protocol).first(),
        override_reason=OVERRIDE if relative else "",
    )


def seed_upcoming_appointments(*, site: Site, patients: list[Patient], users: dict[str, User]) -> int:
    """Upcoming bookings through the booking service: maintenance sessions for the patients with
    a course (the demo `patient` account first, with a check-in call too), and a whole induction
    series for a new patient."""
    ket = Protocol.objects.get(code="ket-iv-dep")
    now = timezone.now()
    created = 0
    for index, patient in enumerate(patients[:6]):
        if Appointment.objects.filter(patient=patient, starts_at__gte=now).exclude(status="cancelled").exists():
            continue
        for offset in (2 + index % 3, 9 + index % 3):
            if _book_first_free(patient=patient, site=site, protocol=ket, day_offset=offset, users=users):
                created += 1
        if index == 0:
            call_at = datetime.combine(now.astimezone(site.tz).date() + timedelta(days=1), time(16), tzinfo=site.tz)
            try:
                appointment_book(
                    actor=users["frontdesk"], patient=patient, chair=None, starts_at=call_at, kind=AppointmentKind.CALL
                )
                created += 1
            except ApplicationError:
                pass
    newcomer = patients[len(patients) // 2] if len(patients) > 1 else None
    if newcomer is not None and not Appointment.objects.filter(patient=newcomer, starts_at__gte=now).exists():
        proposal = series_propose(
            site=site,
            protocol=ket,
            patient=newcomer,
            start=datetime.combine(now.astimezone(site.tz).date() + timedelta(days=3), time(0), tzinfo=site.tz),
        )
        if proposal.complete:
            screening = newcomer.screenings.first()
            relative = screening is not None and screening.outcome == "relative"
            try:
                series = appointment_series_book(
                    actor=users["clinician"] if relative else users["frontdesk"],
                    patient=newcomer,
                    protocol=ket,
                    slots=[(chair, starts_at) for chair, starts_at, _ in proposal.slots],
                    override_reason=OVERRIDE if relative else "",
                )
                created += series.appointments.count()
            except ApplicationError:
                pass
    return created
