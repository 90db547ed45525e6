"""The planner: which follow-ups the data calls for (CLINICAL.md §7), one function per row.

Each rule is a query over sessions, appointments, assessments and courses that yields the
follow-ups that should exist (`FollowUpSpec`, identified by a `key`) and the open ones whose
reason went away. `followups_plan` creates what is missing (INSERT ... ON CONFLICT DO
NOTHING: running it twice, or two planners at once, creates nothing new), moves the due
time of rows not yet sent when their reason moved (an appointment rescheduled), and
cancels the rest. A missed event is caught on the next run, because nothing depends on a
signal having fired.

Times are computed on the site's wall clock (clinic.localtime), with the numbers
of the site's clinical policy (clinic.policy, CLINICAL.md §7).
"""

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from clinic.localtime import add_months, local_at, local_date, local_shift, site_zone
from clinic.models import Site
from clinic.policy import site_policy
from infusions.ledger.models import CountKind, EntryKind, LedgerEntry
from infusions.protocols.models import Drug
from infusions.scheduling.models import Appointment, AppointmentKind, AppointmentStatus
from infusions.sessions.models import CoursePhase, Indication, InfusionSession, SessionStatus, TreatmentCourse
from infusions.sessions.selectors import session_site
from monitoring.bedside.models import OPEN_FOLLOWUP_STATUSES, RemsMonitoringForm
from monitoring.followups.keys import booster_due_key, followup_key, record_key, suicide_risk_review_key
from monitoring.followups.models import AssigneeRole, FollowUp, FollowUpKind, FollowUpStatus
from monitoring.followups.services import (
    FollowUpSpec,
    followups_cancel,
    followups_ensure_many,
    followups_reopen,
    followups_reschedule,
)
from monitoring.outcomes.models import MaintenanceDecision
from monitoring.outcomes.recommender import Action as MaintenanceAction
from monitoring.outcomes.recommender import DecisionKind
from patients.models import Assessment, AssessmentInstrument, BodyMeasurement

ENDED_STATUSES = (SessionStatus.COMPLETED, SessionStatus.STOPPED, SessionStatus.DISCHARGED)
LIVE_APPOINTMENT = (AppointmentStatus.BOOKED, AppointmentStatus.CHECKED_IN)
ACTIVE_PHASES = (CoursePhase.INDUCTION, CoursePhase.MAINTENANCE)
DEPRESSION = (Indication.TRD, Indication.DEPRESSION)
# Appointments further ahead than this are planned on a later run [U].
HORIZON_DAYS_DEFAULT = 14
# Sessions that ended longer ago than this are not planned any more (first run on old data) [U].
LOOKBACK_DAYS_DEFAULT = 14
PLANNER_LOCK = 0x6F6C6C7570  # pg_advisory_xact_lock key: one planner at a time


def _horizon() -> timedelta:
    return timedelta(days=int(getattr(settings, "FOLLOWUP_PLAN_HORIZON_DAYS", HORIZON_DAYS_DEFAULT)))


def _lookback() -> timedelta:
    return timedelta(days=int(getattr(settings, "FOLLOWUP_PLAN_LOOKBACK_DAYS", LOOKBACK_DAYS_DEFAULT)))


def _spec(
    kind: str, subject_type: str, subject_id: int, *, key_parts: tuple[object, ...] = (), **fields: Any
) -> FollowUpSpec:
    """A follow-up about one record: its key is the kind and the record (and `key_parts`)."""
    return FollowUpSpec(
        kind=kind,
        key=followup_key(kind, subject_type, subject_id, *key_parts),
        subject_type=subject_type,
        subject_id=subject_id,
        **fields,
    )


@dataclass
class Plan:
    """What one rule wants: rows that should exist, and open rows to cancel with a reason."""

    specs: list[FollowUpSpec] = field(default_factory=list)
    cancel: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    # Move rows not yet sent when the computed due time changed (off for rows another
    # service also writes, so that the two never undo each other).
    reschedule: bool = True


@dataclass
class PlanResult:
    created: dict[str, int] = field(default_factory=dict)
    rescheduled: dict[str, int] = field(default_factory=dict)
    cancelled: dict[str, int] = field(default_factory=dict)
    skipped: bool = False

    def as_dict(self) -> dict[str, int]:
        return {
            "created": sum(self.created.values()),
            "rescheduled": sum(self.rescheduled.values()),
            "cancelled": sum(self.cancelled.values()),
        }


def _open(kind: str, **filters: object) -> list[FollowUp]:
    return list(FollowUp.objects.filter(kind=kind, status__in=OPEN_FOLLOWUP_STATUSES, **filters))


def _session_rows(now: datetime) -> list[InfusionSession]:
    """Sessions that ended within the look-back, with what every rule needs (one query)."""
    return list(
        InfusionSession.objects.filter(
            status__in=ENDED_STATUSES, dosing_ended_at__isnull=False, dosing_ended_at__gte=now - _lookback()
        )
        .select_related("course__patient__site", "course__protocol", "appointment__site")
        .order_by("dosing_ended_at", "id")
    )


def _ended(session: InfusionSession) -> datetime:
    """When dosing ended (the rules only read sessions where it is set)."""
    return session.dosing_ended_at or session.started_at or session.created_at


# --- CLINICAL.md §7 row by row ---


def plan_check_in_calls(now: datetime, sessions: list[InfusionSession]) -> Plan:
    """Check-in call: 24 h after each session (the same local time the next day); nurse."""
    plan = Plan()
    for s in sessions:
        site = session_site(s)
        due = local_shift(_ended(s), site_zone(site), hours=site_policy(site).followup_check_in_after_hours)
        plan.specs.append(
            _spec(
                FollowUpKind.CHECK_IN_CALL,
                "infusions.infusionsession",
                s.pk,
                due_at=due,
                assignee_role=AssigneeRole.NURSE,
                patient_id=s.course.patient_id,
                site_id=site.pk if site else None,
            )
        )
    return plan


def plan_rems_forms(now: datetime, sessions: list[InfusionSession]) -> Plan:
    """REMS monitoring form (esketamine): within 7 days of each session; nurse."""
    plan = Plan()
    esketamine = [s for s in sessions if s.course.protocol.drug == Drug.ESKETAMINE]
    done = set(
        RemsMonitoringForm.objects.filter(session__in=esketamine, submitted_at__isnull=False).values_list(
            "session_id", flat=True
        )
    )
    for s in esketamine:
        if s.pk in done:
            continue  # the form is in: nothing to remind of
        site = session_site(s)
        due = local_shift(_ended(s), site_zone(site), days=site_policy(site).followup_rems_within_days)
        plan.specs.append(
            _spec(
                FollowUpKind.REMS_FORM,
                "infusions.infusionsession",
                s.pk,
                due_at=due,
                assignee_role=AssigneeRole.NURSE,
                patient_id=s.course.patient_id,
                site_id=site.pk if site else None,
            )
        )
    # A form submitted without its follow-up being completed (a missed step): close it.
    open_rows = _open(FollowUpKind.REMS_FORM, subject_type="infusions.infusionsession")
    if open_rows:
        submitted = set(
            RemsMonitoringForm.objects.filter(
                session_id__in={r.subject_id for r in open_rows}, submitted_at__isnull=False
            ).values_list("session_id", flat=True)
        )
        plan.cancel["REMS form submitted"] += [r.pk for r in open_rows if r.subject_id in submitted]
    return plan


def plan_end_of_induction_reviews(now: datetime) -> Plan:
    """End-of-induction review: the day after the last induction session (09:00 local [U]);
    clinician. The last one is the protocol's `induction_sessions`-th ended session."""
    plan = Plan()
    courses = list(
        TreatmentCourse.objects.filter(
            phase=CoursePhase.INDUCTION,
            sessions__status__in=ENDED_STATUSES,
            sessions__dosing_ended_at__gte=now - _lookback(),
        )
        .select_related("protocol", "patient__site")
        .distinct()
    )
    ended: dict[int, list[InfusionSession]] = defaultdict(list)
    for s in (
        InfusionSession.objects.filter(course__in=courses, status__in=ENDED_STATUSES, dosing_ended_at__isnull=False)
        .select_related("appointment__site")
        .order_by("dosing_ended_at", "id")
    ):
        ended[s.course_id].append(s)
    for course in courses:
        done = ended[course.pk]
        if len(done) < max(course.protocol.induction_sessions, 1):
            continue
        last = done[course.protocol.induction_sessions - 1] if course.protocol.induction_sessions else done[-1]
        site = session_site(last)
        tz = site_zone(site)
        day = local_date(_ended(last), tz) + timedelta(days=1)
        plan.specs.append(
            _spec(
                FollowUpKind.END_OF_INDUCTION_REVIEW,
                "infusions.treatmentcourse",
                course.pk,
                due_at=local_at(day, site_policy(site).followup_review_local_hour, tz),
                assignee_role=AssigneeRole.CLINICIAN,
                patient_id=course.patient_id,
                site_id=site.pk if site else None,
            )
        )
    return plan


def _upcoming_infusions(now: datetime) -> list[Appointment]:
    return list(
        Appointment.objects.filter(
            kind=AppointmentKind.INFUSION,
            status__in=LIVE_APPOINTMENT,
            starts_at__gt=now,
            starts_at__lte=now + _horizon(),
        )
        .select_related("site", "course", "patient")
        .order_by("starts_at", "id")
    )


def _appointment_cancellations(plan: Plan, kind: str) -> None:
    """Open rows of `kind` about an appointment that is no longer live (cancelled, no-show)."""
    rows = _open(kind, subject_type="infusions.appointment")
    if not rows:
        return
    subject_ids = {r.subject_id for r in rows}
    gone = dict(
        Appointment.objects.filter(pk__in=subject_ids)
        .exclude(status__in=(*LIVE_APPOINTMENT, AppointmentStatus.IN_PROGRESS, AppointmentStatus.COMPLETED))
        .values_list("pk", "status")
    )
    for r in rows:
        if r.subject_id in gone:
            plan.cancel[f"appointment {gone[r.subject_id]}"].append(r.pk)


def _questionnaire_instruments(appointment: Appointment) -> list[str]:
    if appointment.course is not None and appointment.course.indication not in DEPRESSION:
        return [AssessmentInstrument.PAIN_NRS]
    return [AssessmentInstrument.PHQ9, AssessmentInstrument.GAD7]


def plan_pre_session_questionnaires(now: datetime, upcoming: list[Appointment]) -> Plan:
    """Pre-session questionnaire: due 72 h before each session (the patient is asked through
    the portal); staff (nurse) reminded if still missing 24 h before. Cancelled when the
    questionnaire arrives or the appointment is cancelled."""
    plan = Plan()
    answered = _answered_since(
        [(a.patient_id, local_shift(a.starts_at, site_zone(a.site), hours=-_before_hours(a.site))) for a in upcoming]
    )
    for a in upcoming:
        tz, policy = site_zone(a.site), site_policy(a.site)
        due = local_shift(a.starts_at, tz, hours=-policy.followup_questionnaire_before_hours)
        if (a.patient_id, due) in answered:
            continue
        plan.specs.append(
            _spec(
                FollowUpKind.PRE_SESSION_QUESTIONNAIRE,
                "infusions.appointment",
                a.pk,
                due_at=due,
                escalate_at=local_shift(a.starts_at, tz, hours=-policy.followup_questionnaire_staff_before_hours),
                escalate_role=AssigneeRole.NURSE,
                assignee_role=AssigneeRole.NURSE,
                patient_id=a.patient_id,
                site_id=a.site_id,
                note="Instruments: " + ", ".join(_questionnaire_instruments(a)),
            )
        )
    _appointment_cancellations(plan, FollowUpKind.PRE_SESSION_QUESTIONNAIRE)
    # A questionnaire that arrived after the row was created: its reason went away.
    rows = _open(FollowUpKind.PRE_SESSION_QUESTIONNAIRE)
    received = _answered_since([(r.patient_id, r.due_at) for r in rows if r.patient_id])
    for r in rows:
        if (r.patient_id, r.due_at) in received:
            plan.cancel["questionnaire received"].append(r.pk)
    return plan


def _before_hours(site: Site | None) -> int:
    return site_policy(site).followup_questionnaire_before_hours


def _answered_since(
    pairs: Iterable[tuple[int | None, datetime]], instruments: Iterable[str] | None = None
) -> set[tuple[int, datetime]]:
    """Which (patient, since) pairs have an assessment administered at or after `since`.
    One query for all pairs."""
    known = [(p, t) for p, t in pairs if p is not None]
    if not known:
        return set()
    earliest: dict[int, datetime] = {}
    for p, t in known:
        earliest[p] = min(t, earliest.get(p, t))
    qs = Assessment.objects.filter(patient_id__in=list(earliest), administered_at__gte=min(earliest.values()))
    if instruments is not None:
        qs = qs.filter(instrument__in=list(instruments))
    latest: dict[int, datetime] = {}
    for p, t in qs.values_list("patient_id", "administered_at"):
        latest[p] = max(t, latest.get(p, t))
    return {(p, t) for p, t in known if p in latest and latest[p] >= t}


def plan_weight_rechecks(now: datetime, upcoming: list[Appointment]) -> Plan:
    """Weight re-check: before a session when the last weight will be older than 30 days at
    its start; due 24 h before [U]; nurse. Cancelled when a fresh weight is recorded."""
    plan = Plan()
    latest: dict[int, datetime] = {}
    for p, t in BodyMeasurement.objects.filter(patient_id__in={a.patient_id for a in upcoming}).values_list(
        "patient_id", "measured_at"
    ):
        latest[p] = max(t, latest.get(p, t))
    fresh_for: set[int] = set()
    for a in upcoming:
        policy = site_policy(a.site)
        last = latest.get(a.patient_id)
        if last is not None and last >= a.starts_at - timedelta(days=policy.weight_valid_days):
            fresh_for.add(a.pk)
            continue
        plan.specs.append(
            _spec(
                FollowUpKind.WEIGHT_RECHECK,
                "infusions.appointment",
                a.pk,
                due_at=local_shift(a.starts_at, site_zone(a.site), hours=-policy.followup_weight_recheck_before_hours),
                assignee_role=AssigneeRole.NURSE,
                patient_id=a.patient_id,
                site_id=a.site_id,
            )
        )
    _appointment_cancellations(plan, FollowUpKind.WEIGHT_RECHECK)
    for r in _open(FollowUpKind.WEIGHT_RECHECK, subject_type="infusions.appointment"):
        if r.subject_id in fresh_for:
            plan.cancel["weight recorded"].append(r.pk)
    return plan


def plan_suicide_risk_reviews(now: datetime) -> Plan:
    """Suicide-risk review: at once when PHQ-9 item 9 > 0 (CLINICAL.md §5 and §7); clinician.
    The assessment service asks for it in its own transaction; this catches any it missed."""
    plan = Plan()
    rows = Assessment.objects.filter(
        instrument=AssessmentInstrument.PHQ9, administered_at__gte=now - _lookback(), items__8__gt=0
    ).select_related("patient__site")
    for a in rows:
        plan.specs.append(
            FollowUpSpec(
                kind=FollowUpKind.SUICIDE_RISK_REVIEW,
                key=suicide_risk_review_key(a.pk),
                due_at=a.created_at,
                assignee_role=AssigneeRole.CLINICIAN,
                patient_id=a.patient_id,
                site_id=a.patient.site_id,
                subject_type="patients.assessment",
                subject_id=a.pk,
                note="PHQ-9 item 9 above 0: review suicide risk now.",
            )
        )
    return plan


def _next_booked(patient_ids: Iterable[int], now: datetime) -> dict[int, Appointment]:
    out: dict[int, Appointment] = {}
    for a in (
        Appointment.objects.filter(
            patient_id__in=list(patient_ids),
            kind=AppointmentKind.INFUSION,
            status__in=LIVE_APPOINTMENT,
            starts_at__gt=now,
        )
        .select_related("site")
        .order_by("starts_at", "id")
    ):
        out.setdefault(a.patient_id, a)
    return out


def plan_mid_interval_phq9(now: datetime) -> Plan:
    """Mid-interval PHQ-9: halfway through a maintenance interval of >= 14 days; nurse.
    The interval runs from the last session to the next booked booster (09:00 local [U] on
    the middle day). Cancelled when a PHQ-9 arrives after the last session, or when the
    next booster is cancelled with none booked."""
    plan = Plan()
    courses = list(
        TreatmentCourse.objects.filter(phase=CoursePhase.MAINTENANCE).select_related("patient__site", "protocol")
    )
    last: dict[int, InfusionSession] = {}
    for s in (
        InfusionSession.objects.filter(course__in=courses, status__in=ENDED_STATUSES, dosing_ended_at__isnull=False)
        .select_related("appointment__site")
        .order_by("dosing_ended_at", "id")
    ):
        last[s.course_id] = s
    nxt = _next_booked({c.patient_id for c in courses}, now)
    patient_of = {c.pk: c.patient_id for c in courses}
    answered_after_last = _answered_since(
        [(patient_of[course_id], _ended(s)) for course_id, s in last.items()], [AssessmentInstrument.PHQ9]
    )
    for course in courses:
        s_last, a = last.get(course.pk), nxt.get(course.patient_id)
        if s_last is None or a is None:
            continue
        s = s_last
        if (course.patient_id, _ended(s)) in answered_after_last:
            continue  # a PHQ-9 already came in this interval
        site = a.site
        tz, policy = site_zone(site), site_policy(site)
        start_day, end_day = local_date(_ended(s), tz), local_date(a.starts_at, tz)
        interval = (end_day - start_day).days
        if interval < policy.followup_mid_interval_min_days:
            continue
        due = local_at(start_day + timedelta(days=interval // 2), policy.followup_review_local_hour, tz)
        plan.specs.append(
            _spec(
                FollowUpKind.MID_INTERVAL_PHQ9,
                "infusions.infusionsession",
                s.pk,
                due_at=due,
                assignee_role=AssigneeRole.NURSE,
                patient_id=course.patient_id,
                site_id=site.pk,
            )
        )
    # Only this rule's rows (the paused-course PHQ-9 checks are the recommender's).
    rows = _open(FollowUpKind.MID_INTERVAL_PHQ9, subject_type="infusions.infusionsession")
    ended_at: dict[int, datetime] = {
        pk: t
        for pk, t in InfusionSession.objects.filter(pk__in={r.subject_id for r in rows}).values_list(
            "pk", "dosing_ended_at"
        )
        if t is not None
    }
    since = {r.pk: ended_at[r.subject_id] for r in rows if r.subject_id is not None and r.subject_id in ended_at}
    answered = _answered_since(
        [(r.patient_id, since[r.pk]) for r in rows if r.pk in since], [AssessmentInstrument.PHQ9]
    )
    still_booked = _next_booked({r.patient_id for r in rows if r.patient_id}, now)
    for r in rows:
        if r.pk in since and (r.patient_id, since[r.pk]) in answered:
            plan.cancel["questionnaire received"].append(r.pk)
        elif r.status == FollowUpStatus.PENDING and r.patient_id not in still_booked:
            plan.cancel["no booster booked"].append(r.pk)
    return plan


def plan_booster_bookings(now: datetime) -> Plan:
    """Booster due / overdue: at the recommended date with nothing booked; front desk,
    escalating to the clinician after 7 days (CLINICAL.md §7). The clinician's decision on the
    maintenance recommendation asks for it when no chair was free (same key as here); this
    also catches a booster whose appointment was cancelled afterwards, and cancels those whose
    booster has since been booked."""
    plan = Plan(reschedule=False)
    latest: dict[int, MaintenanceDecision] = {}
    for d in (
        MaintenanceDecision.objects.filter(
            decision__in=(DecisionKind.ACCEPTED, DecisionKind.MODIFIED),
            action=MaintenanceAction.BOOK,
            next_due__isnull=False,
            next_due__lte=(now + _horizon()).date(),
            course__phase=CoursePhase.MAINTENANCE,
        )
        .select_related("course__patient__site")
        .order_by("decided_at", "id")
    ):
        latest[d.course_id] = d
    if latest:
        booked_since: dict[int, datetime] = {}
        for p, t in Appointment.objects.filter(
            patient_id__in={d.course.patient_id for d in latest.values()},
            kind=AppointmentKind.INFUSION,
            status__in=(*LIVE_APPOINTMENT, AppointmentStatus.IN_PROGRESS, AppointmentStatus.COMPLETED),
            starts_at__gte=min(d.decided_at for d in latest.values()),
        ).values_list("patient_id", "starts_at"):
            booked_since[p] = max(t, booked_since.get(p, t))
        for d in latest.values():
            patient = d.course.patient
            if booked_since.get(patient.pk, d.decided_at) > d.decided_at:
                continue  # a booster is booked (or was given) since the decision
            site = patient.site
            tz, policy = site_zone(site), site_policy(site)
            if d.next_due is None:  # filtered out by the query; for the type checker
                continue
            due = max(d.decided_at, local_at(d.next_due, policy.followup_review_local_hour, tz))
            plan.specs.append(
                FollowUpSpec(
                    kind=FollowUpKind.BOOSTER_DUE,
                    key=booster_due_key(d.course_id, d.next_due),
                    due_at=due,
                    assignee_role=AssigneeRole.FRONTDESK,
                    patient_id=patient.pk,
                    site_id=site.pk if site else None,
                    subject_type="infusions.treatmentcourse",
                    subject_id=d.course_id,
                    escalate_at=local_shift(due, tz, days=policy.followup_booster_overdue_days),
                    escalate_role=AssigneeRole.CLINICIAN,
                    note=f"Maintenance booster due {d.next_due:%Y-%m-%d} and nothing booked.",
                )
            )
    rows = [
        r
        for kind in (FollowUpKind.BOOSTER_DUE, FollowUpKind.BOOSTER_OVERDUE)
        for r in _open(kind)
        if r.patient_id is not None
    ]
    if not rows:
        return plan
    booked = set(
        Appointment.objects.filter(
            patient_id__in={r.patient_id for r in rows},
            kind=AppointmentKind.INFUSION,
            status__in=(*LIVE_APPOINTMENT, AppointmentStatus.IN_PROGRESS, AppointmentStatus.COMPLETED),
        )
        .filter(Q(created_at__gte=min(r.created_at for r in rows)))
        .values_list("patient_id", "created_at")
    )
    latest_booking: dict[int, datetime] = {}
    for p, t in booked:
        latest_booking[p] = max(t, latest_booking.get(p, t))
    for r in rows:
        if r.patient_id in latest_booking and latest_booking[r.patient_id] >= r.created_at:
            plan.cancel["booster booked"].append(r.pk)
    return plan


def plan_safety_screens(now: datetime) -> Plan:
    """Safety screen (cognition, urinary symptoms, substance use, liver tests where at risk):
    every 3 months or every 10 sessions, whichever first [U]; clinician. Counted per
    patient from the last completed screen (else the first session)."""
    plan = Plan()
    patients = (
        TreatmentCourse.objects.filter(phase__in=ACTIVE_PHASES)
        .filter(Exists(InfusionSession.objects.filter(course=OuterRef("pk"), status__in=ENDED_STATUSES)))
        .values_list("patient_id", flat=True)
        .distinct()
    )
    patient_ids = set(patients)
    last_done: dict[int, FollowUp] = {}
    for r in FollowUp.objects.filter(
        kind=FollowUpKind.SAFETY_SCREEN, status=FollowUpStatus.COMPLETED, patient_id__in=patient_ids
    ).order_by("completed_at", "id"):
        last_done[r.patient_id] = r  # type: ignore[index]
    sessions: dict[int, list[InfusionSession]] = defaultdict(list)
    for s in (
        InfusionSession.objects.filter(
            course__patient_id__in=patient_ids, status__in=ENDED_STATUSES, dosing_ended_at__isnull=False
        )
        .select_related("course__patient__site", "appointment__site")
        .order_by("dosing_ended_at", "id")
    ):
        sessions[s.course.patient_id].append(s)
    for pid in patient_ids:
        done = last_done.get(pid)
        history = sessions[pid]
        if not history:
            continue
        site = session_site(history[-1])
        tz, policy = site_zone(site), site_policy(site)
        anchor = done.completed_at if done is not None and done.completed_at else _ended(history[0])
        since = [s for s in history if done is None or _ended(s) > anchor]
        due = add_months(anchor, tz, policy.followup_safety_screen_months)
        n = policy.followup_safety_screen_sessions
        if len(since) >= n:
            due = min(due, _ended(since[n - 1]))
        plan.specs.append(
            _spec(
                FollowUpKind.SAFETY_SCREEN,
                "patients.patient",
                pid,
                key_parts=("after", done.pk if done else 0),
                due_at=due,
                assignee_role=AssigneeRole.CLINICIAN,
                patient_id=pid,
                site_id=site.pk if site else None,
                note="Cognition, urinary symptoms, substance use; liver tests where at risk.",
            )
        )
    for r in _open(FollowUpKind.SAFETY_SCREEN):
        if r.patient_id not in patient_ids and r.status == FollowUpStatus.PENDING:
            plan.cancel["no active course"].append(r.pk)
    return plan


def plan_biennial_inventories(now: datetime) -> Plan:
    """Controlled-substance biennial inventory: every 2 years from the initial one (21 CFR
    1304.11; CLINICAL.md §8); admin. Counted from the site's latest initial or biennial count
    in the ledger, else the last completed inventory follow-up, else the site's opening. A
    count recorded since makes the old row moot: it is cancelled and the next one planned."""
    plan = Plan()
    anchors: dict[int, datetime] = {}
    for site_id, at in (
        LedgerEntry.objects.filter(
            kind=EntryKind.COUNT,
            count_kind__in=(CountKind.INITIAL, CountKind.BIENNIAL),
            reverses__isnull=True,
            reversed_by__isnull=True,
        )
        .values_list("container__site_id", "occurred_at")
        .order_by()
    ):
        anchors[site_id] = max(at, anchors.get(site_id, at))
    for done_site, done_at in FollowUp.objects.filter(
        kind=FollowUpKind.BIENNIAL_INVENTORY, status=FollowUpStatus.COMPLETED, site__isnull=False
    ).values_list("site_id", "completed_at"):
        if done_site is not None and done_at is not None:
            anchors[done_site] = max(done_at, anchors.get(done_site, done_at))
    wanted: dict[int, str] = {}
    for site in Site.objects.all():
        tz, policy = site_zone(site), site_policy(site)
        anchor = anchors.get(site.pk, site.created_at)
        due = add_months(anchor, tz, 12 * policy.followup_inventory_every_years)
        key = record_key(FollowUpKind.BIENNIAL_INVENTORY, site, local_date(due, tz).isoformat())
        wanted[site.pk] = key
        plan.specs.append(
            FollowUpSpec(
                kind=FollowUpKind.BIENNIAL_INVENTORY,
                key=key,
                due_at=due,
                assignee_role=AssigneeRole.ADMIN,
                site_id=site.pk,
                subject_type="clinic.site",
                subject_id=site.pk,
                note="Biennial inventory of every controlled-substance container (21 CFR 1304.11).",
            )
        )
    for r in _open(FollowUpKind.BIENNIAL_INVENTORY):
        if r.site_id in wanted and r.key != wanted[r.site_id]:
            plan.cancel["inventory counted"].append(r.pk)
    return plan


def _rules(now: datetime) -> list[tuple[str, Callable[[], Plan]]]:
    sessions = _session_rows(now)
    upcoming = _upcoming_infusions(now)
    return [
        (FollowUpKind.CHECK_IN_CALL, lambda: plan_check_in_calls(now, sessions)),
        (FollowUpKind.PRE_SESSION_QUESTIONNAIRE, lambda: plan_pre_session_questionnaires(now, upcoming)),
        (FollowUpKind.END_OF_INDUCTION_REVIEW, lambda: plan_end_of_induction_reviews(now)),
        (FollowUpKind.SUICIDE_RISK_REVIEW, lambda: plan_suicide_risk_reviews(now)),
        (FollowUpKind.MID_INTERVAL_PHQ9, lambda: plan_mid_interval_phq9(now)),
        (FollowUpKind.BOOSTER_DUE, lambda: plan_booster_bookings(now)),
        (FollowUpKind.SAFETY_SCREEN, lambda: plan_safety_screens(now)),
        (FollowUpKind.WEIGHT_RECHECK, lambda: plan_weight_rechecks(now, upcoming)),
        (FollowUpKind.REMS_FORM, lambda: plan_rems_forms(now, sessions)),
        (FollowUpKind.BIENNIAL_INVENTORY, lambda: plan_biennial_inventories(now)),
    ]


def followups_plan(*, now: datetime | None = None) -> PlanResult:
    """Run every rule of CLINICAL.md §7. Idempotent; concurrent runs wait for each other
    (a transaction-scoped advisory lock), and every write is one ON CONFLICT insert."""
    now = now or timezone.now()
    result = PlanResult()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [PLANNER_LOCK])
            (locked,) = cursor.fetchone() or (False,)
        if not locked:
            result.skipped = True
            return result
        for kind, rule in _rules(now):
            plan = rule()
            created = followups_ensure_many(plan.specs)
            result.created[kind] = len(created)
            if len(created) < len(plan.specs):
                followups_reopen(specs=plan.specs, reason="reason came back")
            if not plan.reschedule:
                result.rescheduled[kind] = 0
                result.cancelled[kind] = sum(
                    followups_cancel(followup_ids=ids, reason=reason) for reason, ids in plan.cancel.items()
                )
                continue
            existing = {
                r.key: r
                for r in FollowUp.objects.filter(
                    key__in=[s.key for s in plan.specs], status=FollowUpStatus.PENDING, escalated_at__isnull=True
                )
            }
            changes = [
                (existing[s.key].pk, s.due_at, s.escalate_at)
                for s in plan.specs
                if s.key in existing
                and (existing[s.key].due_at != s.due_at or existing[s.key].escalate_at != s.escalate_at)
            ]
            result.rescheduled[kind] = followups_reschedule(changes=changes, reason="reason moved") if changes else 0
            cancelled = 0
            for reason, ids in plan.cancel.items():
                cancelled += followups_cancel(followup_ids=ids, reason=reason)
            result.cancelled[kind] = cancelled
    return result
