"""Reads about protocols, courses and sessions, scoped to the acting user."""

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import QuerySet
from django.http import Http404

from clinic.core.roles import Role
from clinic.models import Chair, Site, User
from clinic.selectors import site_calendar
from infusions.scheduling.models import Appointment, AppointmentEvent, AppointmentStatus, CalendarFeed
from patients.models import Patient

# ---- appointments ---------------------------------------------------------------------------


def appointment_list(
    *,
    user: User,
    site_id: int | None = None,
    patient_id: int | None = None,
    status: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    series_id: int | None = None,
) -> QuerySet[Appointment]:
    """Appointments the user may see, earliest first (one query for any number of rows)."""
    qs = Appointment.objects.select_related("site", "chair", "protocol", "patient")
    if user.role == Role.PATIENT:
        qs = qs.filter(patient__user=user)
    if site_id is not None:
        qs = qs.filter(site_id=site_id)
    if patient_id is not None:
        qs = qs.filter(patient_id=patient_id)
    if status:
        qs = qs.filter(status=status)
    if series_id is not None:
        qs = qs.filter(series_id=series_id)
    if start is not None:
        qs = qs.filter(ends_at__gt=start)
    if end is not None:
        qs = qs.filter(starts_at__lt=end)
    return qs.order_by("starts_at", "id")


def appointment_get(*, user: User, appointment_id: int | str) -> Appointment:
    try:
        return appointment_list(user=user).get(pk=int(appointment_id))
    except (Appointment.DoesNotExist, ValueError, TypeError) as error:
        raise Http404 from error


def appointment_events(*, appointment: Appointment) -> QuerySet[AppointmentEvent]:
    return appointment.events.select_related("actor").order_by("created_at", "id")


def my_appointments(*, user: User) -> QuerySet[Appointment]:
    """The signed-in patient's own appointments only (any other user: none)."""
    return (
        Appointment.objects.filter(patient__user=user, patient__user__isnull=False)
        .select_related("site", "chair", "protocol")
        .order_by("starts_at", "id")
    )


def calendar_feed_patient(*, token: str) -> Patient | None:
    """The patient behind a live calendar link, or None (unknown or revoked)."""
    digest = hashlib.sha256(token.encode()).hexdigest()
    feed = CalendarFeed.objects.filter(token_sha256=digest, revoked_at__isnull=True).select_related("patient").first()
    return feed.patient if feed else None


def patient_calendar(*, patient: Patient) -> QuerySet[Appointment]:
    return Appointment.objects.filter(patient=patient).select_related("site", "chair", "protocol").order_by("starts_at")


@dataclass(frozen=True)
class BoardRow:
    chair: Chair
    appointments: list[Appointment]


@dataclass(frozen=True)
class DayBoard:
    site: Site
    day: date
    opens_at: datetime | None
    closes_at: datetime | None
    rows: list[BoardRow]
    unassigned: list[Appointment]


def day_board(*, site: Site, day: date) -> DayBoard:
    """A site's day: chairs x time, each appointment with its patient, protocol and status.
    Three queries whatever the number of chairs or appointments (the site's calendar, chairs,
    appointments)."""
    calendar = site_calendar(site=site, first=day, last=day)
    window = calendar.window(day)
    start = datetime.combine(day, time.min, tzinfo=site.tz)
    end = start + timedelta(days=1)
    chairs = list(site.chairs.order_by("name", "id"))
    appointments = list(
        Appointment.objects.filter(
            site=site, starts_at__gte=start - timedelta(days=1), starts_at__lt=end, ends_at__gt=start
        )
        .exclude(status=AppointmentStatus.CANCELLED)
        .select_related("patient", "protocol", "chair")
        .order_by("starts_at", "id")
    )
    by_chair: dict[int, list[Appointment]] = {chair.pk: [] for chair in chairs}
    unassigned: list[Appointment] = []
    for appointment in appointments:
        if appointment.chair_id is None or appointment.chair_id not in by_chair:
            unassigned.append(appointment)
        else:
            by_chair[appointment.chair_id].append(appointment)
    return DayBoard(
        site=site,
        day=day,
        opens_at=window[0] if window else None,
        closes_at=window[1] if window else None,
        rows=[BoardRow(chair=chair, appointments=by_chair[chair.pk]) for chair in chairs],
        unassigned=unassigned,
    )
