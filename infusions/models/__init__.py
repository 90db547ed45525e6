"""Every model of `infusions`, imported explicitly from its feature package so that Django
registers them under the `infusions` app label (tables and migrations unchanged)."""

from infusions.ledger.models import ControlledContainer, LedgerEntry, LedgerReconciliation
from infusions.protocols.models import Protocol
from infusions.scheduling.models import Appointment, AppointmentEvent, AppointmentSeries, CalendarFeed, TsTzRange
from infusions.sessions.models import InfusionSession, TreatmentCourse

__all__ = [
    "Protocol",
    "TreatmentCourse",
    "InfusionSession",
    "AppointmentSeries",
    "Appointment",
    "AppointmentEvent",
    "CalendarFeed",
    "TsTzRange",
    "ControlledContainer",
    "LedgerEntry",
    "LedgerReconciliation",
]
