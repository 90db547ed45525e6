"""Appointments as iCalendar (RFC 5545), built with the `icalendar` library, and the
preparation a patient reads with each appointment (from the protocol).

What calendar apps need to update a subscribed feed in place: a UID per appointment that does
not depend on how the feed was fetched (`CALENDAR_UID_DOMAIN`, never the request's Host); a
SEQUENCE raised by every move and cancellation (`Appointment.sequence`); times in the site's own
zone with its VTIMEZONE, and the zone named beside every local time in the description; and a
body that depends only on the data (DTSTAMP is the appointment's last change, not "now"), so
the feed's ETag changes exactly when the calendar does.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from icalendar import Calendar, Event

from clinic.localtime import site_zone
from infusions.scheduling.models import Appointment, AppointmentKind, AppointmentStatus

PRODID = "-//Infusion Clinic//Appointments//EN"
KIND_TITLES = {
    AppointmentKind.INFUSION: "Treatment",
    AppointmentKind.CONSULT: "Consultation",
    AppointmentKind.CALL: "Check-in call",
}
ICS_STATUS = {
    AppointmentStatus.CANCELLED: "CANCELLED",
    AppointmentStatus.NO_SHOW: "CANCELLED",
}


@dataclass(frozen=True)
class Preparation:
    arrive_by: datetime
    fasting_hours: int
    no_food_after: datetime | None
    escort_required: bool
    no_driving_until_next_day: bool
    instructions: str

    def lines(self, *, with_zone: bool = False) -> list[str]:
        """What to do, in words; `with_zone`: each local time followed by its zone (GMT, BST)."""
        tz = self.arrive_by.tzinfo
        clock = "%H:%M %Z" if with_zone else "%H:%M"
        out = [f"Arrive by {self.arrive_by:{clock}}."]
        if self.no_food_after is not None:
            out.append(
                f"Nothing to eat after {self.no_food_after.astimezone(tz):{clock}} ({self.fasting_hours} h before)."
            )
        if self.escort_required:
            out.append("Bring an adult escort who will take you home.")
        if self.no_driving_until_next_day:
            out.append("Do not drive until the next day.")
        if self.instructions:
            out.append(self.instructions)
        return out


def appointment_preparation(appointment: Appointment) -> Preparation | None:
    """What the patient must do before an infusion (the protocol's fasting, arrival time,
    escort and no driving until the next day), in the site's time zone; None for a call."""
    protocol = appointment.protocol
    starts_at = appointment.starts_at.astimezone(site_zone(appointment.site))
    if appointment.kind == AppointmentKind.CALL:
        return None
    if protocol is None:
        return Preparation(
            arrive_by=starts_at - timedelta(minutes=10),
            fasting_hours=0,
            no_food_after=None,
            escort_required=False,
            no_driving_until_next_day=False,
            instructions="",
        )
    return Preparation(
        arrive_by=starts_at - timedelta(minutes=protocol.arrive_minutes_early),
        fasting_hours=protocol.fasting_hours,
        no_food_after=starts_at - timedelta(hours=protocol.fasting_hours) if protocol.fasting_hours else None,
        escort_required=protocol.escort_required,
        no_driving_until_next_day=protocol.no_driving_until_next_day,
        instructions=protocol.preparation_instructions,
    )


def appointment_uid(appointment: Appointment) -> str:
    """The event's UID: the same for the same appointment however the feed is reached."""
    return f"appointment-{appointment.pk}@{settings.CALENDAR_UID_DOMAIN}"


def appointments_ics(appointments: Iterable[Appointment], *, name: str) -> bytes:
    """A calendar of the appointments. Cancelled and missed ones stay in it as CANCELLED (with
    their SEQUENCE raised), so that subscribed calendars drop them."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    days = []
    for appointment in appointments:
        zone = site_zone(appointment.site)
        event = Event()
        event.add("uid", appointment_uid(appointment))
        event.add("dtstamp", appointment.updated_at)
        event.add("sequence", appointment.sequence)
        event.add("dtstart", appointment.starts_at.astimezone(zone))
        event.add("dtend", appointment.ends_at.astimezone(zone))
        event.add("last-modified", appointment.updated_at)
        title = KIND_TITLES.get(AppointmentKind(appointment.kind), "Appointment")
        event.add("summary", f"{title} at {appointment.site.name}")
        event.add("location", appointment.site.name)
        event.add("status", ICS_STATUS.get(AppointmentStatus(appointment.status), "CONFIRMED"))
        preparation = appointment_preparation(appointment)
        if preparation is not None:
            event.add("description", "\n".join(preparation.lines(with_zone=True)))
        calendar.add_component(event)
        days.append(appointment.starts_at.date())
    if days:
        # Each zone's rules for the span of the feed only (a year either side): a VTIMEZONE per zone.
        calendar.add_missing_timezones(
            first_date=min(days) - timedelta(days=366), last_date=max(days) + timedelta(days=366)
        )
    return calendar.to_ical()
