"""Keeping a session's "next vitals set due" current (CLINICAL.md §3 schedule).

Called inside the services' transactions after every step and every vitals set; the
schedule itself is the pure `monitoring.schedule`.
"""

from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Max, Q
from django.utils import timezone

from clinic.models import User
from clinic.policy import ClinicalPolicy
from infusions.models import Drug, InfusionSession
from monitoring.models import Alert, AlertRule, AlertStatus, VitalSign, VitalsPhase, VitalsSchedule
from monitoring.schedule import ScheduleFacts, VitalsDue, vitals_next_due
from patients.services import patient_policy


def session_policy(session: InfusionSession) -> ClinicalPolicy:
    return patient_policy(session.course.patient)


def schedule_facts(session: InfusionSession, policy: ClinicalPolicy) -> ScheduleFacts:
    """One aggregate query over the session's current (not superseded) sets."""
    protocol = session.course.protocol
    check_at = (
        session.started_at + timedelta(minutes=policy.esketamine_check_after_dose_minutes)
        if session.started_at
        else None
    )
    current = Q(superseded_by__isnull=True)
    aggregates: dict[str, Any] = {
        "last": Max("recorded_at"),
        "baseline": Count("id", filter=Q(phase=VitalsPhase.BASELINE)),
        "discharge": Count("id", filter=Q(phase=VitalsPhase.DISCHARGE)),
    }
    if check_at is not None:
        aggregates["after_check"] = Count("id", filter=Q(recorded_at__gte=check_at))
    figures = VitalSign.objects.filter(current, session=session).aggregate(**aggregates)
    return ScheduleFacts(
        status=session.status,
        is_esketamine=protocol.drug == Drug.ESKETAMINE,
        observation_minutes=protocol.observation_minutes,
        started_at=session.started_at,
        dosing_ended_at=session.dosing_ended_at,
        last_set_at=figures["last"],
        has_baseline=bool(figures["baseline"]),
        has_set_after_esketamine_check=bool(figures.get("after_check")),
        has_discharge_set=bool(figures["discharge"]),
    )


def vitals_schedule_refresh(*, session: InfusionSession) -> VitalsDue | None:
    """Recompute and store when the next set is due. The caller holds the session's lock."""
    policy = session_policy(session)
    due = vitals_next_due(schedule_facts(session, policy), policy)
    # One upsert statement (update_or_create would be a SELECT, a savepoint and an UPDATE).
    VitalsSchedule.objects.bulk_create(
        [VitalsSchedule(session=session, next_due_at=due.at if due else None, next_kind=due.kind if due else "")],
        update_conflicts=True,
        unique_fields=["session"],
        update_fields=["next_due_at", "next_kind", "updated_at"],
    )
    return due


def vitals_overdue_resolve(*, session: InfusionSession, actor: User, at: datetime | None = None) -> int:
    """A set was recorded: the session's `vitals_overdue` alert is answered."""
    at = at or timezone.now()
    return Alert.objects.filter(
        session=session,
        rule=AlertRule.VITALS_OVERDUE,
        status__in=(AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED),
    ).update(
        status=AlertStatus.RESOLVED,
        resolved_by=actor,
        resolved_at=at,
        resolution_note="A vitals set was recorded.",
        updated_at=at,
    )
