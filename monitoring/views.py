"""Pages at the chair and for the clinician: the day board, the bedside session page, the
clinician's patient page and worklist. Thin: selectors to read, services to write."""

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from clinic.core import roles
from clinic.core.pages import call_service, page_user, role_required, staff_site
from clinic.models import Role, Site
from infusions.models import CoursePhase
from infusions.page_selectors import approval_queue
from monitoring import followups as followup_services
from monitoring import maintenance_services, outcome_selectors, page_selectors, services
from monitoring.followups import selectors as followup_selectors
from monitoring.forms import (
    AcceptForm,
    ChangeForm,
    FollowUpCompleteForm,
    FollowUpSnoozeForm,
    RejectForm,
    VitalsForm,
)
from monitoring.maintenance import DECIDABLE_ACTIONS
from monitoring.models import DecisionKind
from patients.charts import score_chart_data


@role_required(*roles.CLINICAL)
def board(request: HttpRequest) -> HttpResponse:
    """The nurse's day board of their site: alerts on top, then one card per session."""
    user = page_user(request)
    site = staff_site(user)
    sessions = list(page_selectors.active_sessions(user=user, site=site))
    alerts = page_selectors.alerts_sorted([a for s in sessions for a in getattr(s, "open_alert_rows", [])])
    session_by_id = {s.pk: s for s in sessions}
    return render(
        request,
        "monitoring/board.html",
        {"site": site, "sessions": sessions, "alerts": alerts, "session_by_id": session_by_id},
    )


@role_required(*roles.CLINICAL)
def bedside(request: HttpRequest, session_id: int) -> HttpResponse:
    """One screen at the chair: log a vitals set, the live chart, alerts and the steps."""
    user = page_user(request)
    view = page_selectors.bedside_get(user=user, session_id=session_id)
    form = VitalsForm()
    status = 200
    if request.method == "POST" and request.POST.get("form") == "vitals":
        form = VitalsForm(request.POST)
        if (
            form.is_valid()
            and call_service(
                request, services.vitals_record, form, actor=user, session=view.session, rows=[form.cleaned_data]
            )
            is not None
        ):
            return redirect("monitoring:bedside", session_id=view.session.pk)
        status = 400
    return render(request, "monitoring/bedside.html", _bedside_context(view, form), status=status)


def _bedside_context(view: page_selectors.BedsideView, form: VitalsForm) -> dict[str, Any]:
    policy, session = view.policy, view.session
    vitals = view.current_vitals
    baseline = next((v for v in reversed(vitals) if v.phase == "baseline"), None)
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
        "api": {
            "vitals": reverse("api:session-vitals", args=[session.pk]),
            "alerts": reverse("api:alert-list") + f"?session={session.pk}",
        },
        "time_zone": view.patient.site.time_zone if view.patient.site_id and view.patient.site else "UTC",
    }
    return {
        "view": view,
        "session": session,
        "patient": view.patient,
        "protocol": session.course.protocol,
        "vitals": list(reversed(vitals)),
        "alerts": view.open_alerts,
        "form": form,
        "chart": chart,
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
    rejects (monitoring.maintenance_services.recommendation_decide)."""
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
    }
    return render(request, "monitoring/patient.html", context, status=status)


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
    sessions = list(page_selectors.active_sessions(user=user, site=site))
    alerts = page_selectors.alerts_sorted([a for s in sessions for a in getattr(s, "open_alert_rows", [])])
    approvals = list(approval_queue(user=user)[:WORKLIST_SHOWN])
    due = list(
        followup_selectors.followup_list(user=user, status=followup_selectors.OPEN, due_before=timezone.now())[
            :WORKLIST_SHOWN
        ]
    )
    return render(
        request,
        "monitoring/worklist.html",
        {"site": site, "alerts": alerts, "approvals": approvals, "followups": due},
    )


@role_required(Role.CLINICIAN, Role.ADMIN)
def outcomes(request: HttpRequest) -> HttpResponse:
    """The outcomes report per protocol and indication, with charts
    (monitoring.outcome_selectors.outcomes_report; the same rows as /api/v1/reports/outcomes/)."""
    user = page_user(request)
    sites = list(Site.objects.order_by("name"))
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
    """The staff member's follow-up inbox (monitoring.followups): complete with the outcome,
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
