"""Pages at the chair and for the clinician: the day board, the bedside session page, the
clinician's patient page and worklist. Thin: selectors to read, services to write."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from clinic.core import roles
from clinic.core.pages import call_service, page_user, role_required
from clinic.core.roles import REPORTS, Role
from clinic.localtime import site_zone
from clinic.oncall import on_call_shift_add, on_call_shift_cancel, on_call_shift_list, on_call_shifts_now
from clinic.selectors import chair_list, site_list, staff_site
from infusions.pages.forms import CourseForm, SessionPlanForm
from infusions.pages.selectors import approval_queue
from infusions.sessions import services as infusion_services
from infusions.sessions.models import CoursePhase
from infusions.sessions.selectors import session_policy, session_site
from monitoring.alerts import services as alerting
from monitoring.alerts.models import ResolutionAction
from monitoring.alerts.selectors import alert_escalation_list, alert_list
from monitoring.bedside import services as bedside
from monitoring.bedside.discharge import UNRESOLVED
from monitoring.bedside.models import SessionAction
from monitoring.bedside.selectors import BoardEntry, SessionDetail, alert_rank, board_list, session_detail_get
from monitoring.followups import selectors as followup_selectors
from monitoring.followups import services as followup_services
from monitoring.outcomes import selectors as outcome_selectors
from monitoring.outcomes import services as maintenance_services
from monitoring.outcomes.recommender import DECIDABLE_ACTIONS, DecisionKind
from monitoring.pages import selectors as page_selectors
from monitoring.pages.forms import (
    AcceptForm,
    AlertForm,
    ChangeForm,
    CompleteForm,
    ConsentForm,
    DischargeForm,
    EscortForm,
    FollowUpCompleteForm,
    FollowUpSnoozeForm,
    OnCallCancelForm,
    OnCallShiftForm,
    ReasonStepForm,
    RejectForm,
    SideEffectForm,
    StopForm,
    VitalsForm,
)
from monitoring.vitals import services
from patients import services as patient_services
from patients.charts import score_chart_data
from patients.forms import MeasurementForm, ScreeningForm


@role_required(*roles.CLINICAL)
def board(request: HttpRequest) -> HttpResponse:
    """The nurse's day board of their site (monitoring.bedside.selectors.board_list): open alerts on top,
    then each chair with who is in it, the status, the latest vitals and the next set due."""
    user = page_user(request)
    site = staff_site(user)
    entries = board_list(user=user, site=site) if site is not None else []
    chairs = chair_list(site=site) if site is not None else []
    by_chair: dict[int | None, list[BoardEntry]] = {}
    for entry in entries:
        by_chair.setdefault(entry.chair.pk if entry.chair is not None else None, []).append(entry)
    rows = [(chair, by_chair.pop(chair.pk, [])) for chair in chairs]
    unplaced = [entry for group in by_chair.values() for entry in group]
    alerts = sorted(
        ((alert, entry) for entry in entries for alert in entry.alerts),
        key=lambda pair: alert_rank(pair[0]),
    )
    context = {
        "site": site,
        "rows": rows,
        "unplaced": unplaced,
        "alerts": alerts,
        "now": timezone.now(),
        "on_call": on_call_shifts_now(site=site) if site is not None else [],
        "live": live_context(site),
    }
    return render(request, "monitoring/board.html", context)


def live_context(site: Any) -> dict[str, Any] | None:
    """What a live page needs to reach the push server (monitoring.live; `_live.html`)."""
    if site is None:
        return None
    return {"site_id": site.pk, "port": settings.LIVE_PORT, "poll": settings.LIVE_POLL_SECONDS}


# The steps of a session, in the order the buttons show (monitoring.bedside.services.TRANSITIONS).
STEP_SERVICES: dict[str, Callable[..., Any]] = {
    SessionAction.PRECHECK: bedside.session_precheck,
    SessionAction.START: bedside.session_start,
    SessionAction.PAUSE: bedside.session_pause,
    SessionAction.RESUME: bedside.session_resume,
    SessionAction.COMPLETE: bedside.session_complete,
    SessionAction.STOP: bedside.session_stop,
    SessionAction.DISCHARGE: bedside.session_discharge,
}
STEP_FORMS: dict[str, type[forms.Form] | None] = {
    SessionAction.PRECHECK: None,
    SessionAction.START: None,
    SessionAction.PAUSE: ReasonStepForm,
    SessionAction.RESUME: ReasonStepForm,
    SessionAction.COMPLETE: CompleteForm,
    SessionAction.STOP: StopForm,
    SessionAction.DISCHARGE: DischargeForm,
}
STEP_LABELS: dict[str, str] = {
    SessionAction.PRECHECK: "Pre-check",
    SessionAction.START: "Start infusion",
    SessionAction.PAUSE: "Pause",
    SessionAction.RESUME: "Resume",
    SessionAction.COMPLETE: "Complete dosing",
    SessionAction.STOP: "Stop early",
    SessionAction.DISCHARGE: "Discharge and sign",
}


@role_required(*roles.CLINICAL)
def bedside_page(request: HttpRequest, session_id: int) -> HttpResponse:
    """One screen at the chair: log a vitals set, the live chart with the alert thresholds,
    the alerts to acknowledge, the session's steps, consent and escort, side effects and the
    discharge checklist. Reads monitoring.bedside.selectors.session_detail_get; writes through
    monitoring.vitals.services / monitoring.bedside.services / monitoring.alerts.services."""
    user = page_user(request)
    detail = session_detail_get(user=user, session_id=session_id)
    session = detail.session
    action = request.POST.get("form", "") if request.method == "POST" else ""
    bound: dict[str, forms.Form] = {}
    if action:
        done, form = _bedside_post(request, user, detail, action)
        if done is not None:
            messages.success(request, BEDSIDE_DONE.get(action, "Saved."))
            return redirect("monitoring:bedside", session_id=session.pk)
        if form is not None:
            bound[action] = form
    context = _bedside_context(detail, bound)
    context["refused"] = action
    refused_form = bound.get(action)
    if action in ("alert_ack", "alert_resolve") and refused_form is not None:
        refused_form.is_valid()  # cleaned_data, whatever the service added
        context["refused_alert"] = getattr(refused_form, "cleaned_data", {}).get("alert")
    return render(request, "monitoring/bedside.html", context, status=400 if action else 200)


BEDSIDE_DONE: dict[str, str] = {
    "vitals": "Vitals saved.",
    "consent": "Consent recorded.",
    "escort": "Escort recorded.",
    "side_effect": "Side effect recorded.",
    "alert_ack": "Alert acknowledged.",
    "alert_resolve": "Alert resolved.",
    **{step: f"{label}: done." for step, label in STEP_LABELS.items()},
}


def _bedside_post(request: HttpRequest, user: Any, detail: SessionDetail, action: str) -> tuple[Any, forms.Form | None]:
    """Run one bedside form through its service: (the result or None, the bound form)."""
    session = detail.session
    if action in STEP_SERVICES:
        form_class = STEP_FORMS[action]
        if form_class is None:  # a refusal is still shown at the step's own button
            step = forms.Form(request.POST, prefix=action)
            return call_service(request, STEP_SERVICES[action], step, actor=user, session=session), step
        form = form_class(request.POST, prefix=action)
        if not form.is_valid():
            return None, form
        return call_service(
            request, STEP_SERVICES[action], form, actor=user, session=session, **form.cleaned_data
        ), form
    forms_by_action: dict[str, type[forms.Form]] = {
        "vitals": VitalsForm,
        "consent": ConsentForm,
        "escort": EscortForm,
        "side_effect": SideEffectForm,
        "alert_ack": AlertForm,
        "alert_resolve": AlertForm,
    }
    if action not in forms_by_action:
        return None, None
    form = forms_by_action[action](request.POST, prefix=None if action == "vitals" else action)
    if not form.is_valid():
        return None, form
    values = form.cleaned_data
    if action == "vitals":
        return call_service(request, services.vitals_record, form, actor=user, session=session, rows=[values]), form
    if action == "consent":
        return call_service(
            request, bedside.consent_record, form, actor=user, session=session, given=True, **values
        ), form
    if action == "escort":
        return call_service(request, bedside.escort_record, form, actor=user, session=session, **values), form
    if action == "side_effect":
        return call_service(request, bedside.side_effect_record, form, actor=user, session=session, **values), form
    alert = next((a for a in detail.alerts if a.pk == values["alert"]), None)
    if alert is None:
        raise Http404
    if action == "alert_ack":
        return call_service(request, alerting.alert_acknowledge, form, actor=user, alert=alert), form
    return call_service(
        request, alerting.alert_resolve, form, actor=user, alert=alert, note=values["note"], action=values["action"]
    ), form


def _current_vitals(vitals: list[Any]) -> list[Any]:
    """The sets that count: a corrected set is replaced by its correction."""
    replaced = {v.supersedes_id for v in vitals if v.supersedes_id}
    return [v for v in vitals if v.pk not in replaced]


def _discharge_checklist(detail: SessionDetail, policy: Any) -> list[dict[str, Any]]:
    """CLINICAL.md §4, item by item, marked from the service's list of what is unmet."""
    pct, spo2 = policy.discharge_within_baseline_percent, policy.discharge_spo2_min
    items: list[tuple[tuple[str, ...], str]] = [
        (("dosing_not_ended", "observation_time"), "Dosing has ended and the observation time has passed"),
        (("baseline_missing",), "A baseline vitals set is on record"),
        (("discharge_vitals_missing",), "A discharge vitals set is recorded"),
        (("systolic_not_near_baseline",), f"Systolic within {pct} % of baseline"),
        (("heart_rate_not_near_baseline",), f"Heart rate within {pct} % of baseline"),
        (("spo2_low",), f"SpO₂ at least {spo2} %"),
        (("alerts_unresolved",), "No high or emergency alert left open"),
        (("escort_missing",), "An escort is recorded (no driving until the next day)"),
    ]
    if detail.rems_missing is not None:
        items.append((("rems_form_incomplete",), "The REMS monitoring form is complete"))
    unmet = {u.rule: u.detail for u in detail.discharge.unmet} if detail.discharge is not None else None
    checklist = []
    for rules, label in items:
        if unmet is None:
            state, note = "pending", ""
        else:
            notes = [unmet[r] for r in rules if r in unmet]
            state, note = ("unmet", " ".join(notes)) if notes else ("met", "")
        checklist.append({"label": label, "state": state, "note": note})
    return checklist


def _epoch_ms(at: Any) -> int | None:
    return int(at.timestamp() * 1000) if at is not None else None


def _session_clock(detail: SessionDetail) -> dict[str, Any]:
    """Elapsed infusion time, the expected end of dosing (the protocol's duration plus the time
    spent paused) and the next set's due time, for the page's ticking clock (bedside.js)."""
    session, now = detail.session, timezone.now()
    paused, paused_since = timedelta(0), None
    for event in detail.events:
        if event.action == SessionAction.PAUSE:
            paused_since = event.at
        elif event.action == SessionAction.RESUME and paused_since is not None:
            paused, paused_since = paused + (event.at - paused_since), None
    if paused_since is not None and session.dosing_ended_at is None:
        paused += now - paused_since
    minutes = session.course.protocol.duration_minutes
    started = session.started_at
    expected_end = started + timedelta(minutes=minutes) + paused if started and minutes else None
    until = session.dosing_ended_at or now
    due = detail.next_due
    return {
        "started_at": started,
        "started_ms": _epoch_ms(started),
        "elapsed_minutes": int((until - started).total_seconds() // 60) if started else None,
        "expected_end": expected_end,
        "paused_minutes": int(paused.total_seconds() // 60),
        "dosing_ended_at": session.dosing_ended_at,
        "next_due_ms": _epoch_ms(due.at) if due is not None else None,
    }


def _bedside_context(detail: SessionDetail, bound: dict[str, forms.Form]) -> dict[str, Any]:
    session = detail.session
    patient = session.course.patient
    policy = session_policy(session)
    vitals = _current_vitals(detail.vitals)
    baseline = next((v for v in reversed(vitals) if v.phase == "baseline"), None)
    allowed = bedside.allowed_actions(session.status) if session.signed_at is None else []
    steps = []
    for step in allowed:
        form_class = STEP_FORMS[step]
        form = bound.get(step) or (form_class(prefix=step) if form_class else None)
        if form is not None and not form.fields and not form.errors:
            form = None
        if step in (SessionAction.COMPLETE, SessionAction.STOP) and step not in bound and form is not None:
            form.initial = {"actual_dose_mg": session.total_dose_mg}
        steps.append({"action": step, "label": STEP_LABELS[step], "form": form})
    alerts = sorted((a for a in detail.alerts if a.status in UNRESOLVED), key=alert_rank)
    resolved = [a for a in detail.alerts if a.status not in UNRESOLVED]
    appointment = session.appointment if session.appointment_id else None
    chart = {
        "vitals": [
            {
                "t": v.recorded_at.isoformat(),
                "phase": v.phase,
                "systolic": v.systolic,
                "diastolic": v.diastolic,
                "heart_rate": v.heart_rate,
                "spo2": v.spo2,
                "respiratory_rate": v.respiratory_rate,
            }
            for v in vitals
        ],
        # The site's alert thresholds (clinic.policy, CLINICAL.md §3), drawn on the chart.
        "thresholds": {
            "bp_high_systolic": policy.bp_high_systolic,
            "bp_high_diastolic": policy.bp_high_diastolic,
            "predose_systolic_above": policy.predose_systolic_above,
            "predose_diastolic_above": policy.predose_diastolic_above,
            "bp_rise_systolic": policy.bp_rise_systolic,
            "spo2_low_below": policy.spo2_low_below,
        },
        "baseline_systolic": baseline.systolic if baseline else None,
        "api": {"vitals": reverse("api:session-vitals", args=[session.pk])},
        "time_zone": str(site_zone(patient.site if patient.site_id else None)),
    }
    return {
        "detail": detail,
        "session": session,
        "patient": patient,
        "protocol": session.course.protocol,
        "chair": appointment.chair if appointment is not None else None,
        "vitals": list(reversed(vitals)),
        "alerts": alerts,
        "resolved_alerts": resolved,
        "alert_form": bound.get("alert_resolve") or bound.get("alert_ack"),
        "resolution_actions": ResolutionAction.choices,
        "steps": steps,
        "signed": session.signed_at is not None,
        "consent": detail.consents[-1] if detail.consents else None,
        "escort": detail.escorts[-1] if detail.escorts else None,
        "checklist": _discharge_checklist(detail, policy),
        "form": bound.get("vitals") or VitalsForm(),
        "consent_form": bound.get("consent") or ConsentForm(prefix="consent"),
        "escort_form": bound.get("escort") or EscortForm(prefix="escort"),
        "side_effect_form": bound.get("side_effect") or SideEffectForm(prefix="side_effect"),
        "chart": chart,
        "now": timezone.now(),
        "clock": _session_clock(detail),
        "live": live_context(session_site(session)),
    }


FOLLOWUPS_SHOWN = 100
WORKLIST_SHOWN = 20

DECISION_FORMS: dict[str, tuple[type[forms.Form], str]] = {
    "accept": (AcceptForm, DecisionKind.ACCEPTED),
    "change": (ChangeForm, DecisionKind.MODIFIED),
    "reject": (RejectForm, DecisionKind.REJECTED),
}


@role_required(*roles.CLINICAL)
def patient_chart(request: HttpRequest, patient_id: int) -> HttpResponse:
    """The clinician's (and nurse's) page about one patient: scores against the course's
    baseline, response and remission lines; courses, sessions and doses; screening; and the
    maintenance recommendation with its reasoning, which a prescriber accepts, changes or
    rejects (monitoring.outcomes.services.recommendation_decide)."""
    user = page_user(request)
    chart = page_selectors.patient_chart_get(user=user, patient_id=patient_id)
    course = chart.focus
    forms_: dict[str, forms.Form] = {name: cls(prefix=name) for name, (cls, _) in DECISION_FORMS.items()}
    status = 200
    action = request.POST.get("form", "") if request.method == "POST" else ""
    if action in DECISION_FORMS and course is not None:
        if user.role != Role.CLINICIAN:
            raise PermissionDenied
        form_class, decision = DECISION_FORMS[action]
        form = forms_[action] = form_class(request.POST, prefix=action)
        if form.is_valid():
            values = dict(form.cleaned_data)
            done = call_service(
                request,
                maintenance_services.recommendation_decide,
                form,
                actor=user,
                course=course,
                decision=decision,
                recommendation_id=values.pop("recommendation"),
                **values,
            )
            if done is not None:
                messages.success(request, _decision_message(done))
                return redirect("monitoring:patient", patient_id=chart.patient.pk)
        status = 400
    elif action in RECORD_ACTIONS:
        outcome = _record_post(request, user, chart, action, forms_)
        if outcome is not None:
            return outcome
        status = 400
    recommendation = None
    if course is not None and course.phase != CoursePhase.ENDED:
        if user.role == Role.CLINICIAN:
            # The same call as GET .../maintenance-recommendation/: stored when the answer changed.
            recommendation = call_service(request, maintenance_services.recommendation_refresh, None, course=course)
        else:
            recommendation = outcome_selectors.recommendation_latest(course=course)
    context = {
        "chart": chart,
        "patient": chart.patient,
        "now": timezone.now(),
        "recommendation": recommendation,
        "decidable": recommendation is not None
        and recommendation.status == "proposed"
        and recommendation.action in DECIDABLE_ACTIONS,
        "forms": forms_,
        "score_chart": _score_chart(chart),
        **_record_forms(user, chart, forms_),
    }
    return render(request, "monitoring/patient.html", context, status=status)


# Clinical records kept from the patient page: weight and screening (patients.services), a new
# course (prescribers) and a planned session with its computed dose (infusions.sessions.services).
RECORD_ACTIONS = ("weight", "screening", "course", "plan")


def _appointment_choices(chart: page_selectors.PatientChart) -> list[tuple[int, str]]:
    return [
        (a.pk, f"{timezone.localtime(a.starts_at):%a %-d %b %H:%M} · {a.chair.name if a.chair else a.site.name}")
        for a in chart.open_appointments
    ]


def _record_forms(user: Any, chart: page_selectors.PatientChart, bound: dict[str, forms.Form]) -> dict[str, Any]:
    """The record forms of the page, unbound unless `bound` holds a refused one."""
    plans = []
    for course in chart.courses:
        if course.phase in (CoursePhase.INDUCTION, CoursePhase.MAINTENANCE):
            form = bound.get(f"plan-{course.pk}") or SessionPlanForm(
                prefix=f"plan-{course.pk}",
                initial={"course": course.pk, "dose": course.protocol.default_dose},
                appointments=_appointment_choices(chart),
            )
            plans.append((course, form))
    return {
        "weight_form": bound.get("weight") or MeasurementForm(prefix="weight"),
        "screening_form": bound.get("screening") or ScreeningForm(prefix="screening"),
        "course_form": bound.get("course") or CourseForm(prefix="course"),
        "plans": plans,
        "can_start_course": user.role == Role.CLINICIAN,
    }


def _record_post(
    request: HttpRequest, user: Any, chart: page_selectors.PatientChart, action: str, bound: dict[str, forms.Form]
) -> HttpResponse | None:
    """Run one record form through its service; a redirect when done, else None (the bound
    form, with the refusal on it, is left in `bound`)."""
    patient = chart.patient
    back = redirect("monitoring:patient", patient_id=patient.pk)
    if action == "weight":
        weight = bound["weight"] = MeasurementForm(request.POST, prefix="weight")
        if (
            weight.is_valid()
            and call_service(
                request, patient_services.measurement_record, weight, actor=user, patient=patient, **weight.cleaned_data
            )
            is not None
        ):
            messages.success(request, "Weight recorded.")
            return back
        return None
    if action == "screening":
        screening = bound["screening"] = ScreeningForm(request.POST, prefix="screening")
        if screening.is_valid():
            done = call_service(
                request,
                patient_services.screening_record,
                screening,
                actor=user,
                patient=patient,
                answers=screening.answers(),
            )
            if done is not None:
                messages.success(request, f"Screening recorded: {done.outcome}.")
                return back
        return None
    if action == "course":
        if user.role != Role.CLINICIAN:
            raise PermissionDenied
        new_course = bound["course"] = CourseForm(request.POST, prefix="course")
        if (
            new_course.is_valid()
            and call_service(
                request,
                infusion_services.course_create,
                new_course,
                actor=user,
                patient=patient,
                **new_course.cleaned_data,
            )
            is not None
        ):
            messages.success(request, "Course started.")
            return back
        return None
    course_id = request.POST.get("form_course", "")
    course = next((c for c in chart.courses if str(c.pk) == course_id), None)
    if course is None:
        raise Http404
    prefix = f"plan-{course.pk}"
    plan = bound[prefix] = SessionPlanForm(request.POST, prefix=prefix, appointments=_appointment_choices(chart))
    if plan.is_valid():
        values = dict(plan.cleaned_data)
        values.pop("course")
        appointment_id = values.pop("appointment")
        appointment = next((a for a in chart.open_appointments if a.pk == appointment_id), None)
        session = call_service(
            request,
            infusion_services.session_create,
            plan,
            actor=user,
            course=course,
            appointment=appointment,
            **values,
        )
        if session is not None:
            note = " It awaits a prescriber's approval." if session.requires_approval else ""
            messages.success(request, f"Session planned: {session.total_dose_mg} mg.{note}")
            return redirect("monitoring:bedside", session_id=session.pk)
    return None


def _decision_message(decision: Any) -> str:
    text = f"Recommendation {decision.decision}."
    if decision.appointment_id:
        local = timezone.localtime(decision.appointment.starts_at)
        text += f" Booster booked for {local:%a %-d %b %H:%M}."
    elif decision.followup_id:
        text += " No free slot before the due date: a booster-due follow-up was created."
    return text


def _score_chart(chart: page_selectors.PatientChart) -> dict[str, Any] | None:
    """The primary instrument's scores with the course's baseline, response and remission
    lines (the thresholds are the site's policy numbers, CLINICAL.md §5)."""
    outcome, policy = chart.outcome, chart.policy
    instrument = outcome.instrument if outcome else None
    if instrument is None:
        instrument = next((a.instrument for a in chart.assessments), None)
    if instrument is None:
        return None
    lines: list[dict[str, Any]] = []
    if outcome is not None and outcome.baseline is not None:
        baseline = outcome.baseline.total
        lines.append({"label": f"Baseline ({baseline})", "y": baseline, "color": "#6b7280"})
        if outcome.response_threshold_percent:
            level = baseline * (100 - outcome.response_threshold_percent) / 100
            lines.append(
                {
                    "label": f"Response ({outcome.response_threshold_percent} % below baseline: {level:g})",
                    "y": level,
                    "color": "#b45309",
                }
            )
    if policy is not None and instrument == "PHQ9":
        below = policy.phq9_remission_below
        lines.append({"label": f"Remission (PHQ-9 < {below})", "y": below, "color": "#1c7c3c"})
    elif policy is not None and instrument == "MADRS":
        limit = policy.madrs_remission_max
        lines.append({"label": f"Remission (MADRS ≤ {limit})", "y": limit, "color": "#1c7c3c"})
    return score_chart_data(chart.assessments, instruments=[instrument], lines=lines)


@role_required(*roles.PRESCRIBER)
def worklist(request: HttpRequest) -> HttpResponse:
    """The clinician's start page: open alerts at the site, doses awaiting approval, and the
    follow-ups due (reviews, suicide-risk reviews, booster decisions)."""
    user = page_user(request)
    site = staff_site(user)
    if request.method == "POST" and request.POST.get("form") == "notice_ack":
        # Acknowledge from the escalation notice (the same role check as anywhere: the service).
        notice = next(
            (n for n in alert_escalation_list(user=user) if str(n.alert_id) == request.POST.get("alert", "")), None
        )
        if notice is None:
            raise Http404
        if call_service(request, alerting.alert_acknowledge, None, actor=user, alert=notice.alert) is not None:
            messages.success(request, "Alert acknowledged.")
        return redirect("monitoring:worklist")
    entries = board_list(user=user, site=site) if site is not None else []
    alerts = sorted(
        ((alert, entry) for entry in entries for alert in entry.alerts),
        key=lambda pair: alert_rank(pair[0]),
    )
    notices = [n for n in alert_escalation_list(user=user, limit=WORKLIST_SHOWN) if n.alert.status == "open"]
    approvals = list(approval_queue(user=user)[:WORKLIST_SHOWN])
    due = list(
        followup_selectors.followup_list(user=user, status=followup_selectors.OPEN, due_before=timezone.now())[
            :WORKLIST_SHOWN
        ]
    )
    context = {
        "site": site,
        "alerts": alerts,
        "approvals": approvals,
        "followups": due,
        "notices": notices,
        "now": timezone.now(),
        "on_call": on_call_shifts_now(site=site) if site is not None else [],
        "live": live_context(site),
    }
    return render(request, "monitoring/worklist.html", context)


@role_required(*REPORTS)
def outcomes(request: HttpRequest) -> HttpResponse:
    """The outcomes report per protocol and indication, with charts
    (monitoring.outcomes.selectors.outcomes_report; the same rows as /api/v1/reports/outcomes/)."""
    user = page_user(request)
    sites = site_list(user=user)
    chosen = request.GET.get("site", "")
    site = next((s for s in sites if str(s.pk) == chosen), None)
    rows = outcome_selectors.outcomes_report(user=user, site_id=site.pk if site else None)
    labels = [f"{row['protocol']} · {row['indication']}" for row in rows]
    chart = {
        "labels": labels,
        "rates": [
            {"label": "Response rate %", "color": "#0b5cad", "values": [_percent(r["response_rate"]) for r in rows]},
            {"label": "Remission rate %", "color": "#1c7c3c", "values": [_percent(r["remission_rate"]) for r in rows]},
            {
                "label": "Stopped after the first session %",
                "color": "#b42318",
                "values": [_percent(r["stopped_after_first_session_share"]) for r in rows],
            },
        ],
        "sessions": [
            {
                "label": "Median sessions to response",
                "color": "#7c3aed",
                "values": [r["median_sessions_to_response"] for r in rows],
            }
        ],
    }
    csv_url = reverse("api:outcomes-report-csv") + (f"?site={site.pk}" if site else "")
    context = {"rows": rows, "chart": chart, "sites": sites, "site": site, "csv_url": csv_url}
    return render(request, "monitoring/outcomes.html", context)


def _percent(rate: float | None) -> float | None:
    return None if rate is None else round(rate * 100, 1)


@role_required(*roles.STAFF)
def followups(request: HttpRequest) -> HttpResponse:
    """The staff member's follow-up inbox (monitoring.followups.services): complete with the outcome,
    or snooze with a reason."""
    user = page_user(request)
    bound: dict[tuple[str, int], forms.Form] = {}
    status = 200
    action = request.POST.get("form", "") if request.method == "POST" else ""
    if action in ("complete", "snooze"):
        done: Any = None
        followup = followup_selectors.followup_get(user=user, followup_id=request.POST.get(f"{action}-followup", ""))
        if action == "complete":
            complete = FollowUpCompleteForm(request.POST, prefix="complete")
            bound[(action, followup.pk)] = complete
            done = complete.is_valid() and call_service(
                request,
                followup_services.followup_complete,
                complete,
                actor=user,
                followup=followup,
                outcome=complete.cleaned_data["outcome"],
            )
        else:
            snooze = FollowUpSnoozeForm(request.POST, prefix="snooze")
            bound[(action, followup.pk)] = snooze
            done = snooze.is_valid() and call_service(
                request,
                followup_services.followup_snooze,
                snooze,
                actor=user,
                followup=followup,
                until=snooze.cleaned_data["until"],
                reason=snooze.cleaned_data["reason"],
            )
        if done:
            messages.success(
                request, f"{followup.get_kind_display()}: {'done' if action == 'complete' else 'snoozed'}."
            )
            return redirect("monitoring:followups")
        status = 400
    rows = [
        (
            f,
            bound.get(("complete", f.pk)) or FollowUpCompleteForm(prefix="complete", initial={"followup": f.pk}),
            bound.get(("snooze", f.pk)) or FollowUpSnoozeForm(prefix="snooze", initial={"followup": f.pk}),
        )
        for f in followup_selectors.followup_list(user=user, status=followup_selectors.OPEN)[:FOLLOWUPS_SHOWN]
    ]
    return render(request, "monitoring/followups.html", {"rows": rows, "now": timezone.now()}, status=status)


@role_required(*roles.PRESCRIBER)
def on_call(request: HttpRequest) -> HttpResponse:
    """The on-call roster of the clinician's site (clinic.oncall): who is the responsible
    clinician for which hours, and the next level; add a shift or cancel one."""
    user = page_user(request)
    site = staff_site(user)
    if site is None:
        raise Http404
    clinicians = page_selectors.site_clinicians(site=site)
    form = OnCallShiftForm(prefix="shift", clinicians=clinicians)
    status = 200
    action = request.POST.get("form", "") if request.method == "POST" else ""
    if action == "add":
        form = OnCallShiftForm(request.POST, prefix="shift", clinicians=clinicians)
        shift = (
            call_service(request, on_call_shift_add, form, actor=user, site=site, **form.cleaned_data)
            if form.is_valid()
            else None
        )
        if shift is not None:
            messages.success(request, "Shift added to the on-call roster.")
            return redirect("monitoring:on_call")
        status = 400
    elif action == "cancel":
        cancel = OnCallCancelForm(request.POST)
        shift = next(
            (s for s in on_call_shift_list(site=site) if cancel.is_valid() and s.pk == cancel.cleaned_data["shift"]),
            None,
        )
        if shift is None:
            raise Http404
        if call_service(request, on_call_shift_cancel, None, actor=user, shift=shift) is not None:
            messages.success(request, "Shift cancelled.")
            return redirect("monitoring:on_call")
        status = 400
    context = {
        "site": site,
        "form": form,
        "shifts": on_call_shift_list(site=site),
        "on_call": on_call_shifts_now(site=site),
        "refused": action,
    }
    return render(request, "monitoring/on_call.html", context, status=status)


@role_required(*roles.CLINICAL)
def alert_page(request: HttpRequest, alert_id: int) -> HttpResponse:
    """One alert, the page an escalation notice links to: acknowledge it in one press (the
    service checks the role: a pre-dose BP alert needs a prescriber)."""
    user = page_user(request)
    alert = alert_list(user=user).filter(pk=alert_id).first()
    if alert is None:
        raise Http404
    if request.method == "POST":
        if call_service(request, alerting.alert_acknowledge, None, actor=user, alert=alert) is not None:
            messages.success(request, "Alert acknowledged.")
        return redirect("monitoring:alert", alert_id=alert.pk)
    return render(request, "monitoring/alert.html", {"alert": alert})
