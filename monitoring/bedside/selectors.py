"""The nurse's two questions, each answered in a fixed number of queries (selectors):

- "what is happening on my chairs now": `board_list` (sessions at the site, their latest
  vitals, next set due, unresolved alerts; alerts first);
- "everything about this session": `session_detail_get`.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from django.db.models import Prefetch, Q
from django.http import Http404
from django.utils import timezone

from clinic.core.exceptions import ApplicationError
from clinic.core.roles import CLINICAL
from clinic.localtime import site_zone
from clinic.models import Site, User
from infusions.sessions.models import InfusionSession, SessionStatus
from infusions.sessions.selectors import session_list, session_policy, session_site
from monitoring.alerts.models import Alert, AlertEscalation, AlertStatus
from monitoring.bedside.discharge import UNRESOLVED
from monitoring.bedside.models import (
    Intervention,
    RemsMonitoringForm,
    SessionAmendment,
    SessionConsent,
    SessionEscort,
    SessionEvent,
    SideEffect,
)
from monitoring.bedside.rems import rems_answers, rems_document, rems_key_vitals, rems_missing, rems_suggestions
from monitoring.bedside.services import Readiness, discharge_readiness_from, is_esketamine
from monitoring.vitals.models import VitalSign, VitalsSchedule
from monitoring.vitals.schedule import observation_ends_at
from patients.models import Screening

ON_BOARD = (
    SessionStatus.PRECHECKED,
    SessionStatus.RUNNING,
    SessionStatus.PAUSED,
    SessionStatus.COMPLETED,
    SessionStatus.STOPPED,
)
SEVERITY_RANK = {"emergency": 0, "high": 1, "medium": 2}


def _related(obj: Any, name: str) -> Any:
    """A reverse one-to-one loaded by select_related, or None (no query)."""
    try:
        return getattr(obj, name)
    except Exception:  # RelatedObjectDoesNotExist
        return None


def alert_rank(alert: Alert) -> tuple[int, int, datetime]:
    return (SEVERITY_RANK.get(alert.severity, 9), 0 if alert.status == AlertStatus.OPEN else 1, alert.raised_at)


@dataclass(frozen=True)
class NextDue:
    kind: str
    at: datetime | None
    overdue: bool


def next_due(session: InfusionSession, now: datetime) -> NextDue | None:
    schedule: VitalsSchedule | None = _related(session, "vitals_schedule")
    if schedule is None or not schedule.next_kind:
        return None
    policy = session_policy(session)
    overdue = schedule.next_due_at is not None and now >= schedule.next_due_at + timedelta(
        minutes=policy.vitals_overdue_grace_minutes
    )
    return NextDue(kind=schedule.next_kind, at=schedule.next_due_at, overdue=overdue)


@dataclass(frozen=True)
class BoardEntry:
    session: InfusionSession
    chair: Any | None
    latest_vitals: VitalSign | None
    next_due: NextDue | None
    alerts: list[Alert]  # unresolved, worst first
    observation_ends_at: datetime | None

    @property
    def sort_key(self) -> tuple[Any, ...]:
        worst = alert_rank(self.alerts[0]) if self.alerts else (9, 9, datetime.max.replace(tzinfo=UTC))
        due = self.next_due
        overdue = 0 if (due is not None and due.overdue) else 1
        due_at = due.at if (due is not None and due.at is not None) else datetime.max.replace(tzinfo=UTC)
        chair = self.chair.name if self.chair is not None else ""
        return (worst, overdue, due_at, chair, self.session.pk)


def _today(site: Site, now: datetime) -> tuple[datetime, datetime]:
    day = now.astimezone(site.tz).date()
    start = datetime.combine(day, time(0), tzinfo=site.tz)
    return start, datetime.combine(day + timedelta(days=1), time(0), tzinfo=site.tz)


def board_list(*, user: User, site: Site, now: datetime | None = None) -> list[BoardEntry]:
    """Every session in a chair at the site now (pre-checked to awaiting discharge) and those
    booked for today, each with its latest vitals, next set due and unresolved alerts; the
    sessions that need a nurse first. Three queries, whatever the number of sessions."""
    if user.role not in CLINICAL:
        return []
    now = now or timezone.now()
    day_start, day_end = _today(site, now)
    at_site = Q(appointment__site=site) | Q(appointment__isnull=True, course__patient__site=site)
    today = Q(status=SessionStatus.PLANNED, appointment__starts_at__gte=day_start, appointment__starts_at__lt=day_end)
    sessions = list(
        InfusionSession.objects.filter(at_site)
        .filter(Q(status__in=ON_BOARD) | today)
        .select_related("course__patient__site", "course__protocol", "vitals_schedule", "appointment__chair")
        .prefetch_related(
            Prefetch(
                "alerts",
                queryset=Alert.objects.filter(status__in=UNRESOLVED).order_by("raised_at", "id"),
                to_attr="unresolved_alerts",
            )
        )
    )
    latest = {
        v.session_id: v
        for v in VitalSign.objects.filter(session__in=[s.pk for s in sessions], superseded_by__isnull=True)
        .order_by("session_id", "-recorded_at", "-id")
        .distinct("session_id")
    }
    entries = []
    for session in sessions:
        alerts: list[Alert] = sorted(getattr(session, "unresolved_alerts", []), key=alert_rank)
        appointment = session.appointment if session.appointment_id else None
        entries.append(
            BoardEntry(
                session=session,
                chair=appointment.chair if appointment is not None else None,
                latest_vitals=latest.get(session.pk),
                next_due=next_due(session, now),
                alerts=alerts,
                observation_ends_at=(
                    observation_ends_at(session.dosing_ended_at, session.course.protocol.observation_minutes)
                    if session.dosing_ended_at
                    else None
                ),
            )
        )
    return sorted(entries, key=lambda e: e.sort_key)


@dataclass(frozen=True)
class SessionDetail:
    session: InfusionSession
    vitals: list[VitalSign]
    alerts: list[Alert]
    escalations: list[AlertEscalation]
    events: list[SessionEvent]
    consents: list[SessionConsent]
    escorts: list[SessionEscort]
    side_effects: list[SideEffect]
    interventions: list[Intervention]
    amendments: list[SessionAmendment]
    screening: Screening | None
    next_due: NextDue | None
    discharge: Readiness | None
    rems_form: RemsMonitoringForm | None
    rems_missing: list[str] | None
    rems_suggestions: dict[str, bool] | None


def session_detail_get(*, user: User, session_id: int | str, now: datetime | None = None) -> SessionDetail:
    """Everything about one session, in twelve queries whatever its length (the session, its
    vitals and their alerts, alerts, escalations, events, consents, escorts, side effects,
    interventions, amendments, the screening)."""
    if user.role not in CLINICAL:
        raise Http404
    now = now or timezone.now()
    try:
        session = (
            session_list(user=user)
            .select_related(
                "course__patient__site",
                "appointment__chair",
                "appointment__site",
                "vitals_schedule",
                "rems_form",
                "signed_by",
            )
            .get(pk=int(session_id))
        )
    except (InfusionSession.DoesNotExist, ValueError, TypeError) as error:
        raise Http404 from error
    vitals = list(
        VitalSign.objects.filter(session=session)
        .select_related("superseded_by")
        .prefetch_related("alerts")
        .order_by("recorded_at", "id")
    )
    alerts = list(
        Alert.objects.filter(session=session)
        .select_related("acknowledged_by", "resolved_by", "resolution")
        .order_by("raised_at", "id")
    )
    escalations = list(
        AlertEscalation.objects.filter(alert__session=session).select_related("alert").order_by("escalated_at", "id")
    )
    events = list(SessionEvent.objects.filter(session=session).select_related("actor").order_by("at", "id"))
    consents = list(SessionConsent.objects.filter(session=session).order_by("obtained_at", "id"))
    escorts = list(SessionEscort.objects.filter(session=session).order_by("created_at", "id"))
    side_effects = list(SideEffect.objects.filter(session=session).order_by("onset_at", "id"))
    interventions = list(Intervention.objects.filter(session=session).order_by("given_at", "id"))
    amendments = list(SessionAmendment.objects.filter(session=session).order_by("created_at", "id"))
    screening = (
        Screening.objects.filter(patient_id=session.course.patient_id, screened_at__lte=now)
        .order_by("-screened_at", "-id")
        .first()
    )
    current = [v for v in vitals if _related(v, "superseded_by") is None]
    form: RemsMonitoringForm | None = _related(session, "rems_form")
    readiness = None
    if session.status in (SessionStatus.COMPLETED, SessionStatus.STOPPED):
        readiness = discharge_readiness_from(
            session=session,
            vitals=current,
            alerts=alerts,
            escort_recorded=bool(escorts),
            rems_form=form,
            now=now,
        )
    missing = suggestions = None
    if is_esketamine(session):
        policy = session_policy(session)
        key = rems_key_vitals(
            vitals=current,
            started_at=session.started_at,
            check_after_minutes=policy.esketamine_check_after_dose_minutes,
        )
        missing = rems_missing(answers=rems_answers(form), actual_dose_mg=session.actual_dose_mg, key_vitals=key)
        suggestions = rems_suggestions(screening.medication_flags if screening else [])
    return SessionDetail(
        session=session,
        vitals=vitals,
        alerts=alerts,
        escalations=escalations,
        events=events,
        consents=consents,
        escorts=escorts,
        side_effects=side_effects,
        interventions=interventions,
        amendments=amendments,
        screening=screening,
        next_due=next_due(session, now),
        discharge=readiness,
        rems_form=form,
        rems_missing=missing,
        rems_suggestions=suggestions,
    )


def rems_export_get(*, user: User, session_id: int | str) -> dict[str, Any]:
    """The REMS form as a document (JSON export and printable page). Four queries."""
    if user.role not in CLINICAL:
        raise Http404
    try:
        session = (
            session_list(user=user)
            .select_related("course__patient__site", "appointment__site", "rems_form")
            .get(pk=int(session_id))
        )
    except (InfusionSession.DoesNotExist, ValueError, TypeError) as error:
        raise Http404 from error
    if not is_esketamine(session):
        raise ApplicationError(
            "Only esketamine sessions have a REMS monitoring form.", rule="rems_not_applicable", status=404
        )
    policy = session_policy(session)
    vitals = list(VitalSign.objects.filter(session=session, superseded_by__isnull=True).order_by("recorded_at", "id"))
    key = rems_key_vitals(
        vitals=vitals, started_at=session.started_at, check_after_minutes=policy.esketamine_check_after_dose_minutes
    )
    form: RemsMonitoringForm | None = _related(session, "rems_form")
    missing = rems_missing(answers=rems_answers(form), actual_dose_mg=session.actual_dose_mg, key_vitals=key)
    site = session_site(session)
    return rems_document(
        session=session,
        form=form,
        key_vitals=key,
        monitoring_ended_at=session.signed_at,
        missing=missing,
        local_tz=site_zone(site),
    )


def session_records_list(*, model: type[Any], session: InfusionSession) -> Any:
    """A session's rows of one append-only kind (consents, escorts, side effects,
    interventions, amendments), oldest first. One query."""
    return model.objects.filter(session=session).order_by("created_at", "id")


def session_events_list(*, session: InfusionSession) -> Any:
    return SessionEvent.objects.filter(session=session).select_related("actor").order_by("at", "id")
