"""Every model of `monitoring`, imported explicitly from its feature package so that Django
registers them under the `monitoring` app label (tables and migrations unchanged)."""

from monitoring.alerts.models import Alert, AlertEscalation
from monitoring.audit.models import PatientAccessLog
from monitoring.bedside.models import (
    Intervention,
    RemsMonitoringForm,
    SessionAmendment,
    SessionConsent,
    SessionEscort,
    SessionEvent,
    SideEffect,
)
from monitoring.followups.models import FollowUp, FollowUpDelivery, FollowUpEvent
from monitoring.outcomes.models import MaintenanceDecision, MaintenanceRecommendation
from monitoring.vitals.models import VitalSign, VitalsSchedule

__all__ = [
    "VitalSign",
    "VitalsSchedule",
    "Alert",
    "AlertEscalation",
    "SessionEvent",
    "SessionConsent",
    "SessionEscort",
    "SideEffect",
    "Intervention",
    "SessionAmendment",
    "RemsMonitoringForm",
    "FollowUp",
    "FollowUpEvent",
    "FollowUpDelivery",
    "MaintenanceRecommendation",
    "MaintenanceDecision",
    "PatientAccessLog",
]
