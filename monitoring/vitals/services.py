"""Every write at the chair: vitals and the alerts they raise."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Q
from django.utils import timezone

from clinic.core.exceptions import ApplicationError
from clinic.core.sql import rows_insert
from clinic.models import User
from clinic.policy import ClinicalPolicy
from infusions.protocols.models import Drug
from infusions.sessions.models import InfusionSession, SessionStatus
from infusions.sessions.selectors import session_policy
from monitoring.alerts.models import Alert, AlertRule, AlertStatus
from monitoring.alerts.services import vitals_overdue_resolve
from monitoring.audit.history import history_snapshot
from monitoring.live import publish
from monitoring.vitals.models import VitalSign, VitalsPhase, VitalsSchedule
from monitoring.vitals.rules import VITAL_FIELDS, baseline_values, vitals_draft, vitals_validate
from monitoring.vitals.schedule import ScheduleFacts, VitalsDue, observation_ends_at, vitals_next_due

PHASE_BY_STATUS = {
    SessionStatus.PLANNED: VitalsPhase.BASELINE,
    SessionStatus.PRECHECKED: VitalsPhase.BASELINE,
    SessionStatus.RUNNING: VitalsPhase.RUNNING,
    SessionStatus.PAUSED: VitalsPhase.RUNNING,
    SessionStatus.COMPLETED: VitalsPhase.OBSERVATION,
    SessionStatus.STOPPED: VitalsPhase.OBSERVATION,
}


@dataclass(frozen=True)
class RecordedVitals:
    vital: VitalSign
    alerts: list[Alert]


def _locked_session(session: InfusionSession | int) -> InfusionSession:
    session = (
        InfusionSession.objects.select_for_update(of=("self",))
        .select_related("course__patient__site", "course__protocol")
        .get(pk=session if isinstance(session, int) else session.pk)
    )
    if session.signed_at is not None or session.status == SessionStatus.DISCHARGED:
        raise ApplicationError("The session is signed; vitals can no longer be added.", rule="session_signed")
    return session


def _validate(rows: list[dict[str, Any]], policy: ClinicalPolicy, now: datetime) -> None:
    """Impossible values refuse the whole request, one message per field (`<row>.<field>` in a batch)."""
    errors: dict[str, Any] = {}
    for index, row in enumerate(rows):
        row_errors = vitals_validate(row, policy=policy, now=now)
        errors.update({(f"{index}.{k}" if len(rows) > 1 else k): [v] for k, v in row_errors.items()})
    if errors:
        raise ValidationError(errors)


def _phase_of(session: InfusionSession, phase: str | None) -> Callable[[datetime], str]:
    """The phase of a set taken at a time: the given one, else the session's status's; after
    dosing, a set taken once the observation time has passed is the discharge set."""
    status_phase = PHASE_BY_STATUS[SessionStatus(session.status)]
    observation_end = (
        observation_ends_at(session.dosing_ended_at, session.course.protocol.observation_minutes)
        if session.dosing_ended_at is not None
        else None
    )

    def row_phase(recorded_at: datetime) -> str:
        if phase:
            return phase
        if status_phase == VitalsPhase.OBSERVATION and observation_end and recorded_at >= observation_end:
            return VitalsPhase.DISCHARGE
        return status_phase

    return row_phase


@dataclass
class _SessionState:
    """What the rules need of the session's earlier sets: its baseline and its unresolved alerts."""

    baseline: dict[str, Any] | None
    open_rules: set[str]
    overdue_unresolved: bool

    @classmethod
    def read(cls, session: InfusionSession) -> "_SessionState":
        baseline_vital = (
            VitalSign.objects.filter(session=session, phase=VitalsPhase.BASELINE, superseded_by__isnull=True)
            .order_by("-recorded_at", "-id")
            .first()
        )
        unresolved = list(
            Alert.objects.filter(session=session, status__in=(AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED)).values_list(
                "rule", "status"
            )
        )
        return cls(
            baseline=baseline_values(baseline_vital),
            open_rules={rule for rule, status in unresolved if status == AlertStatus.OPEN},
            overdue_unresolved=any(rule == AlertRule.VITALS_OVERDUE for rule, _ in unresolved),
        )


@transaction.atomic
def vitals_record(
    *,
    actor: User,
    session: InfusionSession | int,
    rows: list[dict[str, Any]],
    supersedes: VitalSign | None = None,
    correction_reason: str = "",
    correction_artefact: bool = False,
    phase: str | None = None,
) -> list[RecordedVitals]:
    """Store one or more vitals sets, all or nothing, with their NEWS2 and alerts.

    The phase follows the session's status unless given (a correction keeps its set's phase).
    `session` may be an id (InfusionSession.DoesNotExist if there is none): the locked read
    is then the only read of the session. An alert whose rule is already open on the session
    is not raised again.
    """
    session = _locked_session(session)
    policy = session_policy(session)
    now = timezone.now()
    _validate(rows, policy, now)
    row_phase = _phase_of(session, phase)
    state = _SessionState.read(session)
    recorded: list[RecordedVitals] = []
    for row in sorted(rows, key=lambda r: r.get("recorded_at") or now):
        recorded_at = row.get("recorded_at") or now
        this_phase = row_phase(recorded_at)
        draft = vitals_draft(row, phase=this_phase, baseline=state.baseline, policy=policy)
        vital = VitalSign(
            created_at=now,
            session=session,
            recorded_at=recorded_at,
            recorded_by=actor,
            source=row.get("source") or "manual",
            phase=this_phase,
            news2_score=draft.news2.score,
            news2_risk=draft.news2.risk,
            supersedes=supersedes,
            correction_reason=correction_reason,
            correction_artefact=correction_artefact,
            **draft.values,
        )
        fresh = [d for d in draft.alerts if d.rule not in state.open_rules]
        state.open_rules.update(d.rule for d in fresh)
        if this_phase == VitalsPhase.BASELINE:
            state.baseline = baseline_values(vital)
        alerts = [
            Alert(
                session=session, vital=vital, rule=d.rule, severity=d.severity, message=d.message, raised_at=recorded_at
            )
            for d in fresh
        ]
        recorded.append(RecordedVitals(vital=vital, alerts=alerts))
    rows_insert([r.vital for r in recorded])
    alerts = Alert.objects.bulk_create([alert for r in recorded for alert in r.alerts])
    history_snapshot(Alert, [a.pk for a in alerts], history_type="+", user=actor, rule="vitals_alert (CLINICAL.md §3)")
    if state.overdue_unresolved:
        vitals_overdue_resolve(session=session, actor=actor, at=now)
    vitals_schedule_refresh(session=session)
    publish.session_changed(session, publish.VITALS, publish.SCHEDULE, publish.ALERTS)
    return recorded


def vitals_correct(
    *, actor: User, vital: VitalSign, values: dict[str, Any], reason: str, artefact: bool = False
) -> RecordedVitals:
    """A correction is a new row that supersedes the old one, with a reason; the old row
    stays as it was. `artefact`: the old set was a measurement artefact (it should never have
    been charted), not a set with values put right."""
    if not reason.strip():
        raise ValidationError({"correction_reason": "A correction needs a reason."})
    if VitalSign.objects.filter(supersedes=vital).exists():
        raise ApplicationError(
            "This set was already corrected; correct the newest version.", rule="vitals_already_corrected"
        )
    row = {name: values.get(name, getattr(vital, name)) for name in VITAL_FIELDS}
    row["recorded_at"] = values.get("recorded_at") or vital.recorded_at
    try:
        recorded = vitals_record(
            actor=actor,
            session=vital.session,
            rows=[row],
            supersedes=vital,
            correction_reason=reason.strip(),
            correction_artefact=artefact,
            phase=vital.phase,
        )
    except IntegrityError as error:  # a concurrent correction of the same set won
        raise ApplicationError(
            "This set was already corrected; correct the newest version.", rule="vitals_already_corrected"
        ) from error
    return recorded[0]


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
