"""Appointments: booking, series, moves, cancellations, and the slot search.

Every rule refuses with `ApplicationError` -> 409 `{detail, rule}` before the database has to;
the exclusion constraints stay as the last word, and a race lost after the checks comes back
as the same 409 (never a 500). Each write is one transaction: nothing is half-booked.

Rules (names are the API's `rule`): `appointment_in_past`, `chair_inactive`, `site_closed`,
`outside_opening_hours`, `chair_conflict`, `patient_conflict`, `nurse_capacity`,
`screening_missing`, `screening_expired`, `contraindication_absolute`,
`contraindication_relative`, `appointment_not_movable`, `appointment_not_cancellable`,
`appointment_not_started`, `appointment_status`.
"""

import hashlib
import secrets
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from math import ceil
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from clinic.availability import DEFAULT_STEP, SiteCalendar, Slot, concurrent_max, free_slots
from clinic.core.exceptions import ApplicationError
from clinic.core.roles import Role
from clinic.models import Chair, Site, User
from clinic.selectors import site_calendar
from infusions.protocols.models import Protocol
from infusions.scheduling.models import (
    Appointment,
    AppointmentEvent,
    AppointmentEventKind,
    AppointmentKind,
    AppointmentSeries,
    AppointmentStatus,
    CalendarFeed,
)
from infusions.sessions.models import TreatmentCourse
from infusions.sessions.services import screening_gate
from patients.models import Patient

LIVE = ~Q(status=AppointmentStatus.CANCELLED)
# Consults and check-in calls hold no chair; their default length [U].
DEFAULT_MINUTES = {AppointmentKind.CONSULT: 30, AppointmentKind.CALL: 15}
# Which database constraint a lost race ran into -> the rule the API names.
CONSTRAINT_RULES = {
    "appointment_no_chair_overlap": ("The chair is already booked at that time.", "chair_conflict"),
    "appointment_no_patient_overlap": ("The patient already has an appointment at that time.", "patient_conflict"),
}
# Every hold fits inside one day's opening hours, so none is longer than this.
MAX_HOLD = timedelta(days=1)


def chair_hold(*, site: Site, protocol: Protocol) -> timedelta:
    """How long an infusion holds its chair: the site's preparation time + the protocol's
    dosing time + its observation time (CLINICAL.md §1 durations and observation)."""
    return timedelta(minutes=site.prep_minutes + (protocol.duration_minutes or 0) + protocol.observation_minutes)


def _snapshot(appointment: Appointment) -> dict[str, Any]:
    return {
        "chair": appointment.chair_id,
        "starts_at": appointment.starts_at.isoformat(),
        "ends_at": appointment.ends_at.isoformat(),
        "status": appointment.status,
    }


def _event(
    *,
    appointment: Appointment,
    kind: str,
    actor: User,
    reason: str = "",
    before: dict[str, Any] | None = None,
) -> AppointmentEvent:
    event = AppointmentEvent(
        appointment=appointment,
        kind=kind,
        actor=actor,
        reason=reason,
        before=before or {},
        after=_snapshot(appointment),
    )
    event.full_clean()
    event.save()
    return event


def _check_window(*, calendar: SiteCalendar, starts_at: datetime, ends_at: datetime) -> None:
    day = calendar.local_date(starts_at)
    window = calendar.window(day)
    if window is None:
        raise ApplicationError(f"The site is closed on {day:%Y-%m-%d}.", rule="site_closed")
    opens, closes = window
    if starts_at < opens or ends_at > closes:
        raise ApplicationError(
            f"The appointment ({starts_at.astimezone(calendar.tz):%H:%M}-{ends_at.astimezone(calendar.tz):%H:%M}) "
            f"falls outside opening hours ({opens:%H:%M}-{closes:%H:%M}).",
            rule="outside_opening_hours",
        )


def _check_conflicts(
    *,
    site: Site,
    calendar: SiteCalendar,
    patient: Patient,
    chair: Chair | None,
    kind: str,
    starts_at: datetime,
    ends_at: datetime,
    exclude_id: int | None = None,
) -> None:
    overlapping = Appointment.objects.filter(LIVE, during__overlap=(starts_at, ends_at))
    if exclude_id is not None:
        overlapping = overlapping.exclude(pk=exclude_id)
    if chair is not None and overlapping.filter(chair=chair).exists():
        raise ApplicationError("The chair is already booked at that time.", rule="chair_conflict")
    if overlapping.filter(patient=patient).exists():
        raise ApplicationError("The patient already has an appointment at that time.", rule="patient_conflict")
    if kind == AppointmentKind.INFUSION:
        capacity = calendar.capacity(calendar.local_date(starts_at))
        load = list(overlapping.filter(site=site, kind=AppointmentKind.INFUSION).values_list("starts_at", "ends_at"))
        if concurrent_max(load, starts_at, ends_at) + 1 > capacity:
            raise ApplicationError(
                f"The nurses on duty already watch {capacity} concurrent infusions at that time.",
                rule="nurse_capacity",
                extra={"capacity": capacity},
            )


def _check_screening(*, actor: User, patient: Patient, override_reason: str) -> str:
    """Screening gate (CLINICAL.md §2). Returns the override reason to store (or "")."""
    screening = screening_gate(patient=patient, at=timezone.now())
    if screening.outcome != "relative":
        return ""
    if actor.role != Role.CLINICIAN or not override_reason.strip():
        if actor.role == Role.FRONTDESK:  # front desk reads no clinical detail (DESIGN.md roles)
            raise ApplicationError(
                "The screening shows a relative contraindication: a clinician must book with a written reason.",
                rule="contraindication_relative",
            )
        raise ApplicationError(
            "Relative contraindication ("
            + ", ".join(screening.reasons)
            + "): a clinician must book with a written override reason.",
            rule="contraindication_relative",
            extra={"reasons": screening.reasons},
        )
    return override_reason.strip()


def _save(appointment: Appointment, *, update_fields: Sequence[str] | None = None) -> None:
    """Save in a savepoint; a lost race on an exclusion constraint is the same 409."""
    try:
        with transaction.atomic():
            appointment.save(update_fields=update_fields)
    except IntegrityError as error:
        name = getattr(getattr(error.__cause__, "diag", None), "constraint_name", None)
        if name in CONSTRAINT_RULES:
            message, rule = CONSTRAINT_RULES[name]
            raise ApplicationError(message, rule=rule) from error
        raise


def _lock_site(site: Site) -> Site:
    """Bookings at one site run one at a time, so nurse capacity cannot be raced past."""
    return Site.objects.select_for_update().get(pk=site.pk)


def _booking_protocol(
    *, patient: Patient, course: TreatmentCourse | None, protocol: Protocol | None
) -> Protocol | None:
    """The protocol an appointment is for: the course's when it belongs to one."""
    if course is None:
        return protocol
    if course.patient_id != patient.pk:
        raise ValidationError({"course": "This course belongs to another patient."})
    if protocol is not None and protocol.pk != course.protocol_id:
        raise ValidationError({"protocol": "This is not the course's protocol."})
    return protocol or course.protocol


def _booking_site(
    *, patient: Patient, kind: str, chair: Chair | None, protocol: Protocol | None, site: Site | None
) -> Site:
    """What an appointment of `kind` needs (an infusion: an active protocol and a chair;
    consults and calls: no chair), and the site it is at: the chair's, else the given one,
    else the patient's."""
    if kind not in AppointmentKind.values:
        raise ValidationError({"kind": f"Must be one of {', '.join(AppointmentKind.values)}."})
    if kind == AppointmentKind.INFUSION:
        if chair is None:
            raise ValidationError({"chair": "An infusion needs a chair."})
        if protocol is None:
            raise ValidationError({"protocol": "An infusion needs a protocol."})
        if not protocol.is_active:
            raise ValidationError({"protocol": "This protocol is retired."})
    elif chair is not None:
        raise ValidationError({"chair": "Consults and calls hold no chair."})
    if chair is not None:
        if site is not None and chair.site_id != site.pk:
            raise ValidationError({"chair": "This chair belongs to another site."})
        site = chair.site
    site = site or patient.site
    if site is None:
        raise ValidationError({"site": "Give a site: the patient has none."})
    return site


def _booking_end(
    *, site: Site, kind: str, protocol: Protocol | None, starts_at: datetime, ends_at: datetime | None
) -> datetime:
    """An infusion holds its chair for `chair_hold`; a consult or call ends at `ends_at` or
    after its default length."""
    if kind == AppointmentKind.INFUSION and protocol is not None:
        return starts_at + chair_hold(site=site, protocol=protocol)
    if ends_at is None:
        return starts_at + timedelta(minutes=DEFAULT_MINUTES.get(AppointmentKind(kind), 30))
    if ends_at <= starts_at:
        raise ValidationError({"ends_at": "Must be after starts_at."})
    return ends_at


def _book(
    *,
    actor: User,
    patient: Patient,
    chair: Chair | None,
    starts_at: datetime,
    kind: str,
    protocol: Protocol | None,
    course: TreatmentCourse | None,
    override_reason: str,
    site: Site | None,
    ends_at: datetime | None,
    series: AppointmentSeries | None,
    notes: str,
) -> Appointment:
    """Check, lock the site, check against the calendar and the bookings, and save with its
    history (the caller owns the transaction)."""
    if timezone.is_naive(starts_at):
        raise ValidationError({"starts_at": "Give a time with its UTC offset."})
    protocol = _booking_protocol(patient=patient, course=course, protocol=protocol)
    site = _booking_site(patient=patient, kind=kind, chair=chair, protocol=protocol, site=site)
    if starts_at < timezone.now():
        raise ApplicationError("That time has already passed.", rule="appointment_in_past")
    if chair is not None and not chair.is_active:
        raise ApplicationError("That chair is out of service.", rule="chair_inactive")
    site = _lock_site(site)
    stored_reason = ""
    if kind == AppointmentKind.INFUSION:
        stored_reason = _check_screening(actor=actor, patient=patient, override_reason=override_reason)
    ends_at = _booking_end(site=site, kind=kind, protocol=protocol, starts_at=starts_at, ends_at=ends_at)
    day = starts_at.astimezone(site.tz).date()
    calendar = site_calendar(site=site, first=day, last=day)
    _check_window(calendar=calendar, starts_at=starts_at, ends_at=ends_at)
    _check_conflicts(
        site=site, calendar=calendar, patient=patient, chair=chair, kind=kind, starts_at=starts_at, ends_at=ends_at
    )
    appointment = Appointment(
        patient=patient,
        site=site,
        chair=chair,
        kind=kind,
        protocol=protocol,
        course=course,
        series=series,
        starts_at=starts_at,
        ends_at=ends_at,
        during=(starts_at, ends_at),
        booked_by=actor,
        override_reason=stored_reason,
        override_by=actor if stored_reason else None,
        notes=notes,
    )
    appointment.full_clean(validate_constraints=False)
    _save(appointment)
    _event(appointment=appointment, kind=AppointmentEventKind.BOOKED, actor=actor, reason=stored_reason)
    return appointment


@transaction.atomic
def appointment_book(
    *,
    actor: User,
    patient: Patient,
    chair: Chair | None,
    starts_at: datetime,
    kind: str = AppointmentKind.INFUSION,
    protocol: Protocol | None = None,
    course: TreatmentCourse | None = None,
    override_reason: str = "",
    site: Site | None = None,
    ends_at: datetime | None = None,
    notes: str = "",
) -> Appointment:
    """Book one appointment, or refuse with 409 `{detail, rule}` and write nothing.

    An infusion's end is computed (`chair_hold`); a consult or call ends at `ends_at` or after
    its default length. `override_reason`: a clinician's reason to book despite a relative
    contraindication.
    """
    return _book(
        actor=actor,
        patient=patient,
        chair=chair,
        starts_at=starts_at,
        kind=kind,
        protocol=protocol,
        course=course,
        override_reason=override_reason,
        site=site,
        ends_at=ends_at,
        series=None,
        notes=notes,
    )


@transaction.atomic
def appointment_series_book(
    *,
    actor: User,
    patient: Patient,
    protocol: Protocol,
    slots: Sequence[tuple[Chair, datetime]],
    course: TreatmentCourse | None = None,
    override_reason: str = "",
) -> AppointmentSeries:
    """Book a whole series all-or-nothing: one refused slot and nothing is booked (the 409
    names the slot's index in `slot`)."""
    if not slots:
        raise ValidationError({"slots": "Give at least one slot."})
    if course is not None and course.patient_id != patient.pk:
        raise ValidationError({"course": "This course belongs to another patient."})
    series = AppointmentSeries(patient=patient, protocol=protocol, course=course, booked_by=actor)
    series.full_clean()
    series.save()
    for index, (chair, starts_at) in enumerate(sorted(slots, key=lambda slot: slot[1])):
        try:
            _book(
                actor=actor,
                patient=patient,
                chair=chair,
                starts_at=starts_at,
                kind=AppointmentKind.INFUSION,
                protocol=protocol,
                course=course,
                override_reason=override_reason,
                site=None,
                ends_at=None,
                series=series,
                notes="",
            )
        except ApplicationError as error:
            error.extra = {**error.extra, "slot": index, "starts_at": starts_at.isoformat()}
            raise
    return series


@transaction.atomic
def appointment_move(
    *, actor: User, appointment: Appointment, starts_at: datetime, chair: Chair | None = None, reason: str = ""
) -> Appointment:
    """Move a booked appointment to another time (and chair, at the same site), every rule
    checked again; the history keeps where it was."""
    appointment = (
        Appointment.objects.select_for_update(of=("self",)).select_related("protocol", "site").get(pk=appointment.pk)
    )
    if appointment.status != AppointmentStatus.BOOKED:
        raise ApplicationError(f"A {appointment.status} appointment cannot be moved.", rule="appointment_not_movable")
    if not reason.strip():
        raise ValidationError({"reason": "Say why the appointment moves."})
    if timezone.is_naive(starts_at):
        raise ValidationError({"starts_at": "Give a time with its UTC offset."})
    chair = chair or appointment.chair
    if chair is not None and chair.site_id != appointment.site_id:
        raise ValidationError({"chair": "Moves stay at the same site; cancel and book elsewhere."})
    if appointment.kind != AppointmentKind.INFUSION and chair is not None:
        raise ValidationError({"chair": "Consults and calls hold no chair."})
    if starts_at < timezone.now():
        raise ApplicationError("That time has already passed.", rule="appointment_in_past")
    if chair is not None and not chair.is_active:
        raise ApplicationError("That chair is out of service.", rule="chair_inactive")
    site = _lock_site(appointment.site)
    if appointment.kind == AppointmentKind.INFUSION and appointment.protocol is not None:
        ends_at = starts_at + chair_hold(site=site, protocol=appointment.protocol)
    else:
        ends_at = starts_at + (appointment.ends_at - appointment.starts_at)
    day = starts_at.astimezone(site.tz).date()
    calendar = site_calendar(site=site, first=day, last=day)
    _check_window(calendar=calendar, starts_at=starts_at, ends_at=ends_at)
    _check_conflicts(
        site=site,
        calendar=calendar,
        patient=appointment.patient,
        chair=chair,
        kind=appointment.kind,
        starts_at=starts_at,
        ends_at=ends_at,
        exclude_id=appointment.pk,
    )
    before = _snapshot(appointment)
    appointment.chair = chair
    appointment.starts_at, appointment.ends_at, appointment.during = starts_at, ends_at, (starts_at, ends_at)
    appointment.sequence += 1  # calendar apps update the event they have (RFC 5545 SEQUENCE)
    appointment.full_clean(validate_constraints=False)
    _save(appointment, update_fields=["chair", "starts_at", "ends_at", "during", "sequence", "updated_at"])
    _event(appointment=appointment, kind=AppointmentEventKind.MOVED, actor=actor, reason=reason.strip(), before=before)
    return appointment


# Statuses that cancel the appointment's calendar event (infusions.scheduling.calendar.ICS_STATUS).
CALENDAR_CANCELLED = (AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW)


def _transition(
    *,
    actor: User,
    appointment: Appointment,
    allowed_from: Sequence[str],
    to: str,
    event: str,
    rule: str,
    reason: str = "",
    extra_fields: Sequence[str] = (),
) -> Appointment:
    """Move a (locked) appointment to `to` with its history event."""
    if appointment.status not in allowed_from:
        raise ApplicationError(f"The appointment is {appointment.status}.", rule=rule)
    before = _snapshot(appointment)
    appointment.status = to
    fields = ["status", *extra_fields, "updated_at"]
    if to in CALENDAR_CANCELLED:  # the calendar event becomes CANCELLED: a new revision of it
        appointment.sequence += 1
        fields.append("sequence")
    appointment.full_clean(validate_constraints=False)
    appointment.save(update_fields=fields)
    _event(appointment=appointment, kind=event, actor=actor, reason=reason, before=before)
    return appointment


@transaction.atomic
def appointment_cancel(*, actor: User, appointment: Appointment, reason: str) -> Appointment:
    """Cancel with a reason; the chair and the patient's time are free again."""
    appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
    if not reason.strip():
        raise ValidationError({"reason": "Say why the appointment is cancelled."})
    appointment.cancel_reason = reason.strip()
    return _transition(
        actor=actor,
        appointment=appointment,
        allowed_from=(AppointmentStatus.BOOKED, AppointmentStatus.CHECKED_IN),
        to=AppointmentStatus.CANCELLED,
        event=AppointmentEventKind.CANCELLED,
        rule="appointment_not_cancellable",
        reason=reason.strip(),
        extra_fields=("cancel_reason",),
    )


@transaction.atomic
def appointment_no_show(*, actor: User, appointment: Appointment, reason: str = "") -> Appointment:
    """The patient did not come: only once the appointment's time has begun."""
    appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
    if appointment.status == AppointmentStatus.BOOKED and appointment.starts_at > timezone.now():
        raise ApplicationError("The appointment has not begun yet.", rule="appointment_not_started")
    return _transition(
        actor=actor,
        appointment=appointment,
        allowed_from=(AppointmentStatus.BOOKED,),
        to=AppointmentStatus.NO_SHOW,
        event=AppointmentEventKind.NO_SHOW,
        rule="appointment_status",
        reason=reason.strip(),
    )


def _step(actor: User, appointment: Appointment, allowed_from: tuple[str, ...], to: str, event: str) -> Appointment:
    """A plain step of the visit: lock, check the status it comes from, move, record."""
    appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
    return _transition(
        actor=actor, appointment=appointment, allowed_from=allowed_from, to=to, event=event, rule="appointment_status"
    )


@transaction.atomic
def appointment_check_in(*, actor: User, appointment: Appointment) -> Appointment:
    """The patient has arrived (the nurse's or front desk's step)."""
    return _step(
        actor, appointment, (AppointmentStatus.BOOKED,), AppointmentStatus.CHECKED_IN, AppointmentEventKind.CHECKED_IN
    )


@transaction.atomic
def appointment_start(*, actor: User, appointment: Appointment) -> Appointment:
    """The session in this appointment has begun (called by the session's start)."""
    return _step(
        actor,
        appointment,
        (AppointmentStatus.BOOKED, AppointmentStatus.CHECKED_IN),
        AppointmentStatus.IN_PROGRESS,
        AppointmentEventKind.STARTED,
    )


@transaction.atomic
def appointment_complete(*, actor: User, appointment: Appointment) -> Appointment:
    """The visit is over (called when the session is discharged or completed)."""
    return _step(
        actor,
        appointment,
        (AppointmentStatus.CHECKED_IN, AppointmentStatus.IN_PROGRESS),
        AppointmentStatus.COMPLETED,
        AppointmentEventKind.COMPLETED,
    )


# ---- the slot search -------------------------------------------------------------------------


# A site's live bookings overlapping a range, start and end as POSIX seconds (integers load far
# faster than timestamps). A hold never outlasts one day's opening hours (`_check_window`), so
# only rows starting at most MAX_HOLD before the range can reach into it: a bounded range scan
# of the partial (site, starts_at) index, whatever the size of the table. Written in SQL: this
# runs for every few days the search reads, and the ORM's compilation cost more than the query.
_LIVE_BETWEEN_SQL = f"""
SELECT chair_id, kind, EXTRACT(EPOCH FROM starts_at)::bigint, EXTRACT(EPOCH FROM ends_at)::bigint
FROM {Appointment._meta.db_table}
WHERE site_id = %s AND NOT (status = 'cancelled') AND starts_at >= %s AND starts_at < %s AND ends_at > %s
"""  # noqa: S608 - the table name comes from the model; values are bound parameters


def _site_live_between(site: Site, start: datetime, end: datetime) -> list[tuple[int | None, str, int, int]]:
    with connection.cursor() as cursor:
        cursor.execute(_LIVE_BETWEEN_SQL, [site.pk, start - MAX_HOLD, end, start])
        return cursor.fetchall()


def _slots(
    *,
    site: Site,
    protocol: Protocol,
    start: datetime,
    end: datetime,
    active_chairs: Sequence[Chair],
    patient: Patient | None = None,
) -> Iterator[Slot]:
    """Lazily every bookable slot, earliest first. The bookings are read a few days at a time
    (one day, then two, four, at most seven), so that the earliest slots cost one small indexed
    query (GiST on site + during, live rows only) however many appointments exist."""
    if timezone.is_naive(start) or timezone.is_naive(end):
        raise ValidationError({"start": "Give times with their UTC offset."})
    start = max(start, timezone.now())
    if end <= start:
        return
    duration = chair_hold(site=site, protocol=protocol)
    tz = site.tz
    calendar = site_calendar(site=site, first=start.astimezone(tz).date(), last=end.astimezone(tz).date())
    chairs = [chair.pk for chair in active_chairs]
    if not chairs:
        return
    blocked: list[tuple[datetime, datetime]] = []
    if patient is not None:
        patient_rows = Appointment.objects.filter(LIVE, patient=patient, during__overlap=(start - duration, end))
        blocked = list(patient_rows.values_list("starts_at", "ends_at").order_by())
    chunk_days = 1
    chunk_start = start
    while chunk_start < end:
        next_day = chunk_start.astimezone(tz).date() + timedelta(days=chunk_days)
        chunk_end = min(end, datetime.combine(next_day, time.min, tzinfo=tz))
        busy: dict[int, list[tuple[int, int]]] = defaultdict(list)
        load: list[tuple[int, int]] = []
        rows = _site_live_between(site, chunk_start - duration, chunk_end + duration)
        for chair_id, kind, begins, finishes in rows:
            if chair_id is not None:
                busy[chair_id].append((begins, finishes))
            if kind == AppointmentKind.INFUSION:
                load.append((begins, finishes))
        yield from free_slots(
            calendar=calendar,
            chairs=chairs,
            busy=busy,
            load=load,
            duration=duration,
            start=chunk_start,
            end=chunk_end,
            blocked=blocked,
            step=DEFAULT_STEP,
        )
        chunk_start = chunk_end
        chunk_days = min(chunk_days * 2, 7)


def availability_search(
    *,
    site: Site,
    protocol: Protocol,
    start: datetime,
    end: datetime,
    limit: int = 20,
    patient: Patient | None = None,
) -> list[tuple[Chair, datetime, datetime]]:
    """The earliest `limit` free `(chair, starts_at, ends_at)` for `protocol` at `site`, earliest
    first, honouring opening hours, closed days, chair and (when given) patient bookings and
    nurse capacity. `ends_at` is the end of the chair hold."""
    chairs = _active_chairs(site)
    found: list[Slot] = []
    for slot in _slots(site=site, protocol=protocol, start=start, end=end, patient=patient, active_chairs=chairs):
        found.append(slot)
        if len(found) >= limit:
            break
    by_id = {chair.pk: chair for chair in chairs}
    return [(by_id[slot.chair], slot.starts_at, slot.ends_at) for slot in found]


@dataclass(frozen=True)
class BoosterBooking:
    appointment: Appointment | None  # the booster booked now, or the booked one that stands
    booked: bool  # False: no free slot by the due date (any later booster stays as it was)


def _local_start(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=tz)


def booster_book(
    *, actor: User, course: TreatmentCourse, due: date, earliest: datetime, override_reason: str = ""
) -> BoosterBooking:
    """Book the next maintenance booster of a course at the earliest free slot of `due` (a
    date in the site's time zone) or, when that day is full, of the nearest day before it,
    never before `earliest`. A booster already booked on or before `due` stands; one booked
    later is cancelled once the earlier one is booked (the interval was shortened)."""
    patient, protocol, site = course.patient, course.protocol, course.patient.site
    now = timezone.now()
    booked = (
        Appointment.objects.filter(
            course=course, kind=AppointmentKind.INFUSION, status=AppointmentStatus.BOOKED, starts_at__gte=now
        )
        .order_by("starts_at")
        .first()
    )
    if site is None:
        return BoosterBooking(booked, False)
    tz = site.tz
    if booked is not None and booked.starts_at.astimezone(tz).date() <= due:
        return BoosterBooking(booked, True)
    day = due
    while _local_start(day + timedelta(days=1), tz) > earliest:
        start, end = max(_local_start(day, tz), earliest), _local_start(day + timedelta(days=1), tz)
        found = availability_search(site=site, protocol=protocol, start=start, end=end, limit=1, patient=patient)
        if found:
            if booked is not None:
                reason = f"Maintenance interval shortened: the next booster is due by {due:%Y-%m-%d}."
                appointment_cancel(actor=actor, appointment=booked, reason=reason)
            chair, starts_at, _ = found[0]
            appointment = appointment_book(
                actor=actor,
                patient=patient,
                chair=chair,
                starts_at=starts_at,
                kind=AppointmentKind.INFUSION,
                protocol=protocol,
                course=course,
                override_reason=override_reason,
                notes=f"Maintenance booster (due {due:%Y-%m-%d}).",
            )
            return BoosterBooking(appointment, True)
        day -= timedelta(days=1)
    return BoosterBooking(booked, False)


def _active_chairs(site: Site) -> list[Chair]:
    return list(site.chairs.filter(is_active=True).order_by("name", "id"))


@dataclass(frozen=True)
class SeriesProposal:
    slots: list[tuple[Chair, datetime, datetime]]
    sessions: int
    per_week: int
    complete: bool


def series_propose(
    *,
    site: Site,
    protocol: Protocol,
    patient: Patient | None,
    start: datetime,
    sessions: int | None = None,
    per_week: int | None = None,
) -> SeriesProposal:
    """Propose an induction series from availability (CLINICAL.md §1 schedule: e.g. ket-iv-dep
    6 sessions, 3 a week; esk-in-trd twice weekly). Sessions are at least 7 // per_week days
    apart and never more than `per_week` in any 7 days; each takes the earliest free slot of
    its day, preferring the time of day of the first session."""
    sessions = sessions or protocol.induction_sessions
    per_week = max(1, min(per_week or protocol.induction_sessions_per_week, 7))
    gap = max(1, 7 // per_week)
    weeks = ceil(sessions / per_week) + 2
    end = start + timedelta(days=7 * weeks)
    by_day: dict[date, list[Slot]] = defaultdict(list)
    chairs = _active_chairs(site)
    for slot in _slots(site=site, protocol=protocol, start=start, end=end, patient=patient, active_chairs=chairs):
        by_day[slot.starts_at.astimezone(site.tz).date()].append(slot)
    chosen: list[Slot] = []
    for day in sorted(by_day):
        if len(chosen) >= sessions:
            break
        days = [s.starts_at.astimezone(site.tz).date() for s in chosen]
        if days and (day - days[-1]).days < gap:
            continue
        if sum(1 for d in days if (day - d).days < 7) >= per_week:
            continue
        options = by_day[day]
        if chosen:
            first_time = chosen[0].starts_at.astimezone(site.tz).time()
            preferred = [s for s in options if s.starts_at.astimezone(site.tz).time() >= first_time]
            options = preferred or options
        chosen.append(options[0])
    by_id = {chair.pk: chair for chair in chairs}
    return SeriesProposal(
        slots=[(by_id[slot.chair], slot.starts_at, slot.ends_at) for slot in chosen],
        sessions=sessions,
        per_week=per_week,
        complete=len(chosen) == sessions,
    )


# ---- the patient's calendar link -------------------------------------------------------------


@transaction.atomic
def calendar_feed_create(*, patient: Patient) -> str:
    """A new private calendar link for the patient; any older link stops working. Returns the
    token (shown once: only its SHA-256 is stored)."""
    calendar_feed_revoke(patient=patient)
    token = secrets.token_urlsafe(32)
    feed = CalendarFeed(patient=patient, token_sha256=hashlib.sha256(token.encode()).hexdigest())
    feed.full_clean()
    feed.save()
    return token


@transaction.atomic
def calendar_feed_revoke(*, patient: Patient) -> int:
    """Revoke every live calendar link of the patient; returns how many."""
    return CalendarFeed.objects.filter(patient=patient, revoked_at__isnull=True).update(revoked_at=timezone.now())
