"""Pages at the chair and for the clinician: the day board, the bedside session page, the
clinician's patient page and worklist. Thin: selectors to read, services to write."""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from clinic.core import roles
from clinic.core.pages import call_service, page_user, role_required, staff_site
from monitoring import page_selectors, services
from monitoring.forms import VitalsForm


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


@role_required(*roles.CLINICAL)
def patient_chart(request: HttpRequest, patient_id: int) -> HttpResponse:
    """The clinician's (and nurse's) page about one patient."""
    user = page_user(request)
    chart = page_selectors.patient_chart_get(user=user, patient_id=patient_id)
    return render(request, "monitoring/patient.html", {"chart": chart, "patient": chart.patient, "now": timezone.now()})


@role_required(*roles.PRESCRIBER)
def worklist(request: HttpRequest) -> HttpResponse:
    """The clinician's start page: what needs a prescriber now."""
    user = page_user(request)
    site = staff_site(user)
    sessions = list(page_selectors.active_sessions(user=user, site=site))
    alerts = page_selectors.alerts_sorted([a for s in sessions for a in getattr(s, "open_alert_rows", [])])
    approvals = [s for s in sessions if s.requires_approval]
    return render(
        request,
        "monitoring/worklist.html",
        {"site": site, "alerts": alerts, "approvals": approvals, "sessions": sessions},
    )
