"""Every write while a session runs at the chair (services; CLINICAL.md §3-4).

The state machine: planned -> prechecked -> running <-> paused -> completed | stopped (early)
-> discharged. Any other move answers 409 `invalid_transition`. Each step is written as a
`SessionEvent` (who, when, from, to) in the same transaction as the change; discharge signs
the session, after which it is immutable (a database trigger guards it too) and additions
are `SessionAmendment`s.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone

from clinic.core.exceptions import ApplicationError
from clinic.core.roles import Role
from clinic.localtime import local_shift, site_zone
from clinic.models import User
from infusions.ledger.services import ledger_discharge_check
from infusions.protocols.models import Drug
from infusions.scheduling import services as booking
from infusions.scheduling.models import Appointment, AppointmentStatus
from infusions.sessions.models import CoursePhase, InfusionSession, SessionStatus
from infusions.sessions.selectors import session_policy, session_site
from infusions.sessions.services import screening_gate
from monitoring.alerts.models import Alert, AlertRule, AlertStatus
from monitoring.audit.history import history_snapshot
from monitoring.bedside.discharge import Unmet, discharge_unmet
from monitoring.bedside.models import (
    OPEN_FOLLOWUP_STATUSES,
    Intervention,
    RemsMonitoringForm,
    SessionAction,
    SessionAmendment,
    SessionConsent,
    SessionEscort,
    SessionEvent,
    SideEffect,
)
from monitoring.bedside.rems import ANSWER_FIELDS, rems_answers, rems_key_vitals, rems_missing
from monitoring.followups.keys import record_key
from monitoring.followups.models import AssigneeRole, FollowUp, FollowUpKind
from monitoring.followups.services import followup_complete, followup_ensure
from monitoring.live import publish
from monitoring.vitals.models import VitalSign, VitalsPhase, VitalsSchedule
from monitoring.vitals.services import vitals_schedule_refresh
from patients.selectors import measurement_latest

S = SessionStatus
RecordT = TypeVar("RecordT", bound=models.Model)
# action -> (statuses it may start from, status it leads to)
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    SessionAction.PRECHECK: ((S.PLANNED,), S.PRECHECKED),
    SessionAction.START: ((S.PRECHECKED,), S.RUNNING),
    SessionAction.PAUSE: ((S.RUNNING,), S.PAUSED),
    SessionAction.RESUME: ((S.PAUSED,), S.RUNNING),
    SessionAction.COMPLETE: ((S.RUNNING, S.PAUSED), S.COMPLETED),
    SessionAction.STOP: ((S.RUNNING, S.PAUSED), S.STOPPED),
    SessionAction.DISCHARGE: ((S.COMPLETED, S.STOPPED), S.DISCHARGED),
}
ACTIVE_PHASES = (CoursePhase.INDUCTION, CoursePhase.MAINTENANCE)
ESCALATING = ("high", "emergency")


def allowed_actions(status: str) -> list[str]:
    return [action for action, (sources, _) in TRANSITIONS.items() if status in sources]


def _lock(session: InfusionSession) -> InfusionSession:
    return (
        InfusionSession.objects.select_for_update(of=("self",))
        .select_related("course__patient__site", "course__protocol")
        .get(pk=session.pk)
    )


def _check_transition(session: InfusionSession, action: str) -> str:
    sources, target = TRANSITIONS[action]
    if session.status not in sources:
        allowed = allowed_actions(session.status)
        raise ApplicationError(
            f"A {session.status} session cannot {action}; "
            + (f"allowed now: {', '.join(allowed)}." if allowed else "it is closed."),
            rule="invalid_transition",
            extra={"status": session.status, "action": action, "allowed_actions": allowed},
        )
    return target


def _refuse_if_signed(session: InfusionSession) -> None:
    if session.signed_at is not None or session.status == S.DISCHARGED:
        raise ApplicationError(
            "The session is signed and can no longer change; add an amendment instead.", rule="session_signed"
        )


def _event(
    *,
    session: InfusionSession,
    action: str,
    actor: User,
    at: datetime,
    from_status: str = "",
    to_status: str = "",
    reason: str = "",
    data: dict[str, Any] | None = None,
) -> SessionEvent:
    return SessionEvent.objects.create(
        session=session,
        action=action,
        from_status=from_status,
        to_status=to_status,
        actor=actor,
        at=at,
        reason=reason,
        data=data or {},
    )


def _move(
    *,
    session: InfusionSession,
    action: str,
    actor: User,
    at: datetime,
    fields: Sequence[str] = (),
    reason: str = "",
    data: dict[str, Any] | None = None,
) -> InfusionSession:
    before = session.status
    session.status = TRANSITIONS[action][1]
    session.full_clean()
    session.save(update_fields=["status", *fields, "updated_at"])
    _event(
        session=session,
        action=action,
        actor=actor,
        at=at,
        from_status=before,
        to_status=session.status,
        reason=reason,
        data=data,
    )
    vitals_schedule_refresh(session=session)
    publish.session_changed(session, publish.SESSION, publish.SCHEDULE, publish.ALERTS)
    return session


def _current_baseline(session: InfusionSession) -> VitalSign | None:
    return (
        VitalSign.objects.filter(session=session, phase=VitalsPhase.BASELINE, superseded_by__isnull=True)
        .order_by("-recorded_at", "-id")
        .first()
    )


def _latest_consent(session: InfusionSession) -> SessionConsent | None:
    return SessionConsent.objects.filter(session=session).order_by("-obtained_at", "-id").first()


def _latest_escort(session: InfusionSession) -> SessionEscort | None:
    return SessionEscort.objects.filter(session=session).order_by("-created_at", "-id").first()


# ---- pre-check, start, pause, resume, complete, stop, discharge ------------------------------


@transaction.atomic
def session_precheck(*, actor: User, session: InfusionSession) -> InfusionSession:
    """Everything that must be on record before a session may start (issue 4, CLINICAL.md
    §1-3): an active course, a valid screening without an absolute contraindication, a fresh
    weight, consent, an escort, an approved dose and a baseline vitals set. All that is
    missing is listed at once (`unmet`)."""
    session = _lock(session)
    _check_transition(session, SessionAction.PRECHECK)
    now = timezone.now()
    patient = session.course.patient
    policy = session_policy(session)
    unmet: list[Unmet] = []
    if session.course.phase not in ACTIVE_PHASES:
        unmet.append(Unmet("course_not_active", f"The course is {session.course.phase}."))
    screening_id = None
    try:
        screening_id = screening_gate(patient=patient, at=now).pk
    except ApplicationError as refusal:
        unmet.append(Unmet(refusal.rule, refusal.message))
    measurement = measurement_latest(patient=patient, at=now)
    if measurement is None:
        unmet.append(Unmet("weight_missing", "No weight is on record; weigh the patient."))
    elif measurement.measured_at < now - timedelta(days=policy.weight_valid_days):
        unmet.append(
            Unmet(
                "weight_stale",
                f"The last weight ({measurement.measured_at:%Y-%m-%d}) is older than "
                f"{policy.weight_valid_days} days; weigh the patient.",
            )
        )
    consent = _latest_consent(session)
    if consent is None or not consent.given:
        unmet.append(Unmet("consent_missing", "No consent is on record for this session."))
    escort = _latest_escort(session)
    if escort is None:
        unmet.append(Unmet("escort_missing", "No escort is recorded; the patient may not drive home."))
    if session.requires_approval:
        unmet.append(Unmet("dose_not_approved", "The dose is outside the soft limits: a prescriber must approve it."))
    baseline = _current_baseline(session)
    if baseline is None:
        unmet.append(Unmet("baseline_missing", "Record a baseline vitals set before pre-check."))
    if unmet:
        raise ApplicationError(
            "Pre-check is not complete: " + "; ".join(u.detail for u in unmet),
            rule="precheck_unmet",
            extra={"unmet": [u.as_dict() for u in unmet]},
        )
    assert measurement is not None  # noqa: S101 - checked above
    assert consent is not None  # noqa: S101
    assert escort is not None  # noqa: S101
    assert baseline is not None  # noqa: S101
    return _move(
        session=session,
        action=SessionAction.PRECHECK,
        actor=actor,
        at=now,
        data={
            "screening": screening_id,
            "measurement": measurement.pk,
            "weight_kg": str(measurement.weight_kg),
            "consent": consent.pk,
            "escort": escort.pk,
            "baseline_vital": baseline.pk,
        },
    )


@transaction.atomic
def session_start(*, actor: User, session: InfusionSession) -> InfusionSession:
    """Start dosing. A baseline BP above 140/90 (a `predose_bp` alert) must first be
    acknowledged by a prescriber (Spravato label: weigh risk against benefit); an absolute
    contraindication blocks starting (CLINICAL.md §2)."""
    session = _lock(session)
    _check_transition(session, SessionAction.START)
    now = timezone.now()
    screening_gate(patient=session.course.patient, at=now)
    pending = [
        alert
        for alert in Alert.objects.filter(session=session, rule=AlertRule.PREDOSE_BP).select_related("acknowledged_by")
        if alert.acknowledged_by is None or alert.acknowledged_by.role != Role.CLINICIAN
    ]
    if pending:
        raise ApplicationError(
            "The pre-dose blood pressure is above the limit: a prescriber must acknowledge the alert before start.",
            rule="predose_bp_unacknowledged",
            extra={"alerts": [a.pk for a in pending]},
        )
    consent = _latest_consent(session)
    if consent is None or not consent.given:
        raise ApplicationError("Consent was withdrawn.", rule="consent_missing")
    if _current_baseline(session) is None:
        raise ApplicationError("Record a baseline vitals set before start.", rule="baseline_missing")
    session.started_at = now
    session = _move(session=session, action=SessionAction.START, actor=actor, at=now, fields=["started_at"])
    _appointment_step(session=session, actor=actor, step="start")
    return session


@transaction.atomic
def session_pause(*, actor: User, session: InfusionSession, reason: str = "") -> InfusionSession:
    session = _lock(session)
    _check_transition(session, SessionAction.PAUSE)
    return _move(session=session, action=SessionAction.PAUSE, actor=actor, at=timezone.now(), reason=reason.strip())


@transaction.atomic
def session_resume(*, actor: User, session: InfusionSession, reason: str = "") -> InfusionSession:
    session = _lock(session)
    _check_transition(session, SessionAction.RESUME)
    return _move(session=session, action=SessionAction.RESUME, actor=actor, at=timezone.now(), reason=reason.strip())


def _actual_dose(session: InfusionSession, actual_dose_mg: Decimal | None) -> Decimal:
    if actual_dose_mg is None:
        raise ValidationError({"actual_dose_mg": "Record the dose actually given, in mg."})
    if actual_dose_mg < 0:
        raise ValidationError({"actual_dose_mg": "The dose given cannot be negative."})
    if actual_dose_mg > session.total_dose_mg:
        raise ValidationError(
            {
                "actual_dose_mg": f"{actual_dose_mg} mg is more than the planned {session.total_dose_mg} mg; "
                "check the figure (an overdose is reported as an amendment, not here)."
            }
        )
    return actual_dose_mg.quantize(Decimal("0.1"))


@transaction.atomic
def session_complete(
    *, actor: User, session: InfusionSession, actual_dose_mg: Decimal | None, note: str = ""
) -> InfusionSession:
    """Dosing is over: record the dose actually given; observation begins."""
    session = _lock(session)
    _check_transition(session, SessionAction.COMPLETE)
    session.actual_dose_mg = _actual_dose(session, actual_dose_mg)
    session.dosing_ended_at = timezone.now()
    return _move(
        session=session,
        action=SessionAction.COMPLETE,
        actor=actor,
        at=session.dosing_ended_at,
        fields=["actual_dose_mg", "dosing_ended_at"],
        reason=note.strip(),
        data={"actual_dose_mg": str(session.actual_dose_mg)},
    )


@transaction.atomic
def session_stop(
    *, actor: User, session: InfusionSession, actual_dose_mg: Decimal | None, reason: str
) -> InfusionSession:
    """Stopped early, with a reason and the dose given so far; observation begins."""
    session = _lock(session)
    _check_transition(session, SessionAction.STOP)
    if not reason.strip():
        raise ValidationError({"reason": "Say why the session was stopped early."})
    session.actual_dose_mg = _actual_dose(session, actual_dose_mg)
    session.dosing_ended_at = timezone.now()
    return _move(
        session=session,
        action=SessionAction.STOP,
        actor=actor,
        at=session.dosing_ended_at,
        fields=["actual_dose_mg", "dosing_ended_at"],
        reason=reason.strip(),
        data={"actual_dose_mg": str(session.actual_dose_mg)},
    )


def _current_vitals(session: InfusionSession) -> list[VitalSign]:
    return list(VitalSign.objects.filter(session=session, superseded_by__isnull=True).order_by("recorded_at", "id"))


def is_esketamine(session: InfusionSession) -> bool:
    return session.course.protocol.drug == Drug.ESKETAMINE


@dataclass(frozen=True)
class Readiness:
    unmet: list[Unmet]

    @property
    def ready(self) -> bool:
        return not self.unmet


def discharge_readiness_from(
    *,
    session: InfusionSession,
    vitals: Sequence[VitalSign],
    alerts: Sequence[Alert],
    escort_recorded: bool,
    rems_form: RemsMonitoringForm | None,
    now: datetime,
) -> Readiness:
    """CLINICAL.md §4 over rows the caller already loaded (no query)."""
    policy = session_policy(session)
    baselines = [v for v in vitals if v.phase == VitalsPhase.BASELINE]
    missing = None
    if is_esketamine(session):
        key = rems_key_vitals(
            vitals=vitals, started_at=session.started_at, check_after_minutes=policy.esketamine_check_after_dose_minutes
        )
        missing = rems_missing(answers=rems_answers(rems_form), actual_dose_mg=session.actual_dose_mg, key_vitals=key)
    unmet = discharge_unmet(
        now=now,
        dosing_ended_at=session.dosing_ended_at,
        observation_minutes=session.course.protocol.observation_minutes,
        baseline=baselines[-1] if baselines else None,
        last=vitals[-1] if vitals else None,
        alerts=alerts,
        escort_recorded=escort_recorded,
        policy=policy,
        rems_missing=missing,
        tz=site_zone(session_site(session)),
    )
    return Readiness(unmet=unmet)


def _rems_form(session: InfusionSession) -> RemsMonitoringForm | None:
    return RemsMonitoringForm.objects.filter(session=session).first()


@transaction.atomic
def session_discharge(*, actor: User, session: InfusionSession, note: str = "") -> InfusionSession:
    """Discharge and sign (CLINICAL.md §4). Refused with 409 `discharge_not_ready` and the
    `unmet` list while anything is missing. Alerts still open (medium ones) are closed by the
    signing, named in the event; an esketamine session gets its REMS form follow-up, due
    within 7 days of the session (CLINICAL.md §7)."""
    session = _lock(session)
    _check_transition(session, SessionAction.DISCHARGE)
    now = timezone.now()
    alerts = list(Alert.objects.filter(session=session))
    readiness = discharge_readiness_from(
        session=session,
        vitals=_current_vitals(session),
        alerts=alerts,
        escort_recorded=_latest_escort(session) is not None,
        rems_form=_rems_form(session),
        now=now,
    )
    if not readiness.ready:
        raise ApplicationError(
            "Not ready for discharge: " + " ".join(u.detail for u in readiness.unmet),
            rule="discharge_not_ready",
            extra={"unmet": [u.as_dict() for u in readiness.unmet]},
        )
    # CLINICAL.md §8: each session reconciles; 409 `ledger_not_reconciled` with the numbers.
    ledger_discharge_check(actor=actor, session=session)
    closed = [a.pk for a in alerts if a.status != AlertStatus.RESOLVED]
    Alert.objects.filter(pk__in=closed).update(
        status=AlertStatus.RESOLVED,
        resolved_by=actor,
        resolved_at=now,
        resolution_note="Closed when the session was discharged and signed.",
        updated_at=now,
    )
    history_snapshot(Alert, closed, user=actor, rule="alerts_closed_at_discharge", at=now)
    session.signed_at, session.signed_by = now, actor
    session = _move(
        session=session,
        action=SessionAction.DISCHARGE,
        actor=actor,
        at=now,
        fields=["signed_at", "signed_by"],
        reason=note.strip(),
        data={"alerts_closed": closed},
    )
    VitalsSchedule.objects.filter(session=session).update(next_due_at=None, next_kind="", updated_at=now)
    if is_esketamine(session):
        _rems_followup(session=session)
    _appointment_step(session=session, actor=actor, step="complete")
    return session


def _rems_followup(*, session: InfusionSession) -> None:
    """CLINICAL.md §7: the REMS monitoring form within 7 days of each session (Spravato
    REMS); nurse. Same key and due time as the follow-up planner's, so only one row exists."""
    site = session_site(session)
    ended = session.dosing_ended_at or session.signed_at or timezone.now()
    policy = session_policy(session)
    followup_ensure(
        kind=FollowUpKind.REMS_FORM,
        key=record_key(FollowUpKind.REMS_FORM, session),
        patient=session.course.patient,
        due_at=local_shift(ended, site_zone(site), days=policy.followup_rems_within_days),
        assignee_role=AssigneeRole.NURSE,
        subject=session,
        site=site,
    )


def _appointment_step(*, session: InfusionSession, actor: User, step: str) -> None:
    """Keep the session's appointment (issue 3) in step: in progress at start, completed at
    discharge. An appointment already past that status is left alone."""
    if session.appointment_id is None:
        return
    appointment = Appointment.objects.get(pk=session.appointment_id)
    if step == "start" and appointment.status in (AppointmentStatus.BOOKED, AppointmentStatus.CHECKED_IN):
        booking.appointment_start(actor=actor, appointment=appointment)
    elif step == "complete" and appointment.status in (AppointmentStatus.CHECKED_IN, AppointmentStatus.IN_PROGRESS):
        booking.appointment_complete(actor=actor, appointment=appointment)


# ---- what is recorded during the session ------------------------------------------------------


def _not_future(value: datetime, field: str, session: InfusionSession) -> None:
    limit = timezone.now() + timedelta(minutes=session_policy(session).vitals_future_minutes)
    if value > limit:
        raise ValidationError({field: "This time is in the future."})


def _open_record(
    session: InfusionSession, at: datetime | None = None, field: str = ""
) -> tuple[InfusionSession, datetime]:
    """A record at the chair: the session locked and not signed; its time (now by default)
    not in the future."""
    session = _lock(session)
    _refuse_if_signed(session)
    at = at or timezone.now()
    if field:
        _not_future(at, field, session)
    return session, at


def _saved(record: RecordT) -> RecordT:
    record.full_clean()
    record.save()
    return record


@transaction.atomic
def consent_record(
    *,
    actor: User,
    session: InfusionSession,
    given: bool = True,
    method: str = "written",
    obtained_at: datetime | None = None,
    document_reference: str = "",
    note: str = "",
) -> SessionConsent:
    session, obtained_at = _open_record(session, obtained_at, "obtained_at")
    return _saved(
        SessionConsent(
            session=session,
            given=given,
            method=method,
            obtained_at=obtained_at,
            document_reference=document_reference.strip(),
            note=note.strip(),
            recorded_by=actor,
        )
    )


@transaction.atomic
def escort_record(
    *, actor: User, session: InfusionSession, name: str, phone: str, relationship: str = ""
) -> SessionEscort:
    session, _ = _open_record(session)
    return _saved(
        SessionEscort(
            session=session,
            name=name.strip(),
            phone=phone.strip(),
            relationship=relationship.strip(),
            recorded_by=actor,
        )
    )


@transaction.atomic
def side_effect_record(
    *,
    actor: User,
    session: InfusionSession,
    kind: str,
    severity: str,
    onset_at: datetime | None = None,
    note: str = "",
) -> SideEffect:
    session, onset_at = _open_record(session, onset_at, "onset_at")
    if kind == "other" and not note.strip():
        raise ValidationError({"note": "Describe the side effect."})
    return _saved(
        SideEffect(
            session=session, kind=kind, severity=severity, onset_at=onset_at, note=note.strip(), recorded_by=actor
        )
    )


@transaction.atomic
def intervention_record(
    *,
    actor: User,
    session: InfusionSession,
    drug: str,
    dose: Decimal,
    dose_unit: str,
    route: str,
    given_at: datetime | None = None,
    reason: str = "",
) -> Intervention:
    session, given_at = _open_record(session, given_at, "given_at")
    return _saved(
        Intervention(
            session=session,
            drug=drug.strip(),
            dose=dose,
            dose_unit=dose_unit.strip(),
            route=route,
            given_at=given_at,
            reason=reason.strip(),
            recorded_by=actor,
        )
    )


@transaction.atomic
def amendment_record(*, actor: User, session: InfusionSession, text: str) -> SessionAmendment:
    """A note beside the (signed) record; the record itself never changes."""
    session = _lock(session)
    if not text.strip():
        raise ValidationError({"text": "Write the amendment."})
    return _saved(SessionAmendment(session=session, text=text.strip(), recorded_by=actor))


# ---- the esketamine REMS monitoring form --------------------------------------------------------


def _require_esketamine(session: InfusionSession) -> None:
    if not is_esketamine(session):
        raise ApplicationError(
            "Only esketamine sessions have a REMS monitoring form.", rule="rems_not_applicable", status=404
        )


@transaction.atomic
def rems_form_update(*, actor: User, session: InfusionSession, values: dict[str, Any]) -> RemsMonitoringForm:
    """Save answers to the REMS form (partial). Each change is a session event with the
    values before; a signed session's form is frozen."""
    session = _lock(session)
    _require_esketamine(session)
    _refuse_if_signed(session)
    unknown = set(values) - set(ANSWER_FIELDS)
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), "Not a field of the REMS form."))
    form = RemsMonitoringForm.objects.select_for_update().filter(session=session).first()
    created = form is None
    if form is None:
        form = RemsMonitoringForm(session=session, updated_by=actor)
    before = rems_answers(None if created else form)
    for name, value in values.items():
        setattr(form, name, value.strip() if isinstance(value, str) else value)
    form.updated_by = actor
    form.full_clean()
    form.save()
    after = rems_answers(form)
    changed = {
        name: {"before": before[name], "after": after[name]} for name in ANSWER_FIELDS if before[name] != after[name]
    }
    if changed or created:
        _event(
            session=session,
            action=SessionAction.REMS_FORM_UPDATED,
            actor=actor,
            at=timezone.now(),
            data={"changed": changed},
        )
    return form


@transaction.atomic
def rems_form_submitted(*, actor: User, session: InfusionSession) -> RemsMonitoringForm:
    """Record that the (complete, signed) form was sent to the REMS program."""
    session = _lock(session)
    _require_esketamine(session)
    if session.signed_at is None:
        raise ApplicationError("Sign the session before submitting its REMS form.", rule="session_not_signed")
    form = RemsMonitoringForm.objects.select_for_update().filter(session=session).first()
    if form is None:
        raise ApplicationError("The REMS form was never filled in.", rule="rems_form_incomplete")
    if form.submitted_at is not None:
        raise ApplicationError("The REMS form was already submitted.", rule="rems_form_already_submitted")
    form.submitted_at, form.submitted_by = timezone.now(), actor
    form.save(update_fields=["submitted_at", "submitted_by", "updated_at"])
    followup = FollowUp.objects.filter(key=record_key(FollowUpKind.REMS_FORM, session)).first()
    if followup is not None and followup.status in OPEN_FOLLOWUP_STATUSES:
        followup_complete(actor=actor, followup=followup, outcome="REMS monitoring form submitted.")
    return form
