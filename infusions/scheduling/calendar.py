"""Appointments as iCalendar (RFC 5545), built with the `icalendar` library, and the
preparation a patient reads with each appointment (from the protocol)."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone
from icalendar import Calendar, Event

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

    def lines(self) -> list[str]:
        tz = self.arrive_by.tzinfo
        out = [f"Arrive by {self.arrive_by:%H:%M}."]
        if self.no_food_after is not None:
            out.append(
                f"Nothing to eat after {self.no_food_after.astimezone(tz):%H:%M} ({self.fasting_hours} h before)."
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
    starts_at = appointment.starts_at.astimezone(appointment.site.tz)
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


def appointments_ics(appointments: Iterable[Appointment], *, name: str, host: str = "clinic") -> bytes:
    """A calendar of the appointments. Cancelled and missed ones stay in it as CANCELLED, so
    that subscribed calendars drop them; each event's UID is stable across refreshes."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    now = timezone.now()
    for appointment in appointments:
        event = Event()
        event.add("uid", f"appointment-{appointment.pk}@{host}")
        event.add("dtstamp", now)
        event.add("dtstart", appointment.starts_at)
        event.add("dtend", appointment.ends_at)
        event.add("last-modified", appointment.updated_at)
        title = KIND_TITLES.get(AppointmentKind(appointment.kind), "Appointment")
        event.add("summary", f"{title} at {appointment.site.name}")
        event.add("location", appointment.site.name)
        event.add("status", ICS_STATUS.get(AppointmentStatus(appointment.status), "CONFIRMED"))
        preparation = appointment_preparation(appointment)
        if preparation is not None:
            event.add("description", "\n".join(preparation.lines()))
        calendar.add_component(event)
    return calendar.to_ical()
