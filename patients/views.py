"""Pages about who is treated: patient search, registration and demographics."""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from clinic.core import roles
from clinic.core.pages import call_service, page_user, role_required
from clinic.selectors import staff_site
from patients import selectors, services
from patients.forms import PatientEditForm, PatientForm, PatientSearchForm, PortalAccountForm, QuestionnaireForm
from patients.questionnaires import QUESTIONNAIRES
from patients.scoring import FLAG_SUICIDE_RISK, PORTAL_INSTRUMENTS

SEARCH_LIMIT = 50


@role_required(*roles.STAFF)
def patient_search(request: HttpRequest) -> HttpResponse:
    """Find a patient by name or MRN; front desk (and admin, clinicians) also register one."""
    user = page_user(request)
    form = PatientSearchForm(request.GET or None)
    query = form.cleaned_data["q"].strip() if form.is_valid() else ""
    patients = list(selectors.patient_list(user=user, search=query)[:SEARCH_LIMIT]) if query else []
    register = PatientForm(initial={"site": _staff_site_id(request)}) if user.role in roles.DEMOGRAPHICS else None
    return render(
        request,
        "patients/search.html",
        {"form": form, "query": query, "patients": patients, "register": register, "limit": SEARCH_LIMIT},
    )


@role_required(*roles.DEMOGRAPHICS)
def patient_register(request: HttpRequest) -> HttpResponse:
    user = page_user(request)
    form = PatientForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        patient = call_service(request, services.patient_create, form, actor=user, **form.cleaned_data)
        if patient is not None:
            return redirect("patients:detail", patient_id=patient.pk)
    return render(
        request,
        "patients/search.html",
        {"form": PatientSearchForm(), "query": "", "patients": [], "register": form, "limit": SEARCH_LIMIT},
        status=400 if request.method == "POST" else 200,
    )


@role_required(*roles.DEMOGRAPHICS)
def patient_detail(request: HttpRequest, patient_id: int) -> HttpResponse:
    """Demographics and the portal login (front desk's view of a patient: nothing clinical)."""
    user = page_user(request)
    patient = selectors.patient_get(user=user, patient_id=patient_id)
    initial = {name: getattr(patient, name) for name in PatientEditForm.base_fields if name != "mrn"}
    edit = PatientEditForm(initial=initial)
    portal = PortalAccountForm()
    status = 200
    if request.method == "POST" and request.POST.get("form") == "demographics":
        edit = PatientEditForm(request.POST)
        if (
            edit.is_valid()
            and call_service(
                request, services.patient_update, edit, actor=user, patient=patient, data=edit.cleaned_data
            )
            is not None
        ):
            return redirect("patients:detail", patient_id=patient.pk)
        status = 400
    elif request.method == "POST" and request.POST.get("form") == "portal":
        portal = PortalAccountForm(request.POST)
        if (
            portal.is_valid()
            and call_service(
                request,
                services.patient_portal_account_create,
                portal,
                actor=user,
                patient=patient,
                **portal.cleaned_data,
            )
            is not None
        ):
            return redirect("patients:detail", patient_id=patient.pk)
        status = 400
    return render(request, "patients/detail.html", {"patient": patient, "edit": edit, "portal": portal}, status=status)


@role_required(*roles.PATIENT)
def questionnaire(request: HttpRequest, instrument: str) -> HttpResponse:
    """The patient fills in their own PHQ-9 or GAD-7; the service scores it."""
    user = page_user(request)
    if instrument not in PORTAL_INSTRUMENTS or instrument not in QUESTIONNAIRES:
        raise Http404
    patient = selectors.patient_list(user=user).first()
    if patient is None:
        raise Http404
    spec = QUESTIONNAIRES[instrument]
    form = QuestionnaireForm(request.POST or None, questionnaire=spec)
    if request.method == "POST" and form.is_valid():
        assessment = call_service(
            request,
            services.assessment_record,
            form,
            actor=user,
            patient=patient,
            instrument=instrument,
            items=form.items(),
        )
        if assessment is not None:
            messages.success(request, f"Thank you. Your {spec.title} score is {assessment.total}.")
            if FLAG_SUICIDE_RISK in assessment.flags:
                messages.warning(
                    request,
                    "You said you have had thoughts of hurting yourself. A clinician will contact you soon. "
                    "If you might act on these thoughts, call the emergency services now.",
                )
            return redirect("infusions:portal")
    status = 400 if request.method == "POST" else 200
    return render(request, "patients/questionnaire.html", {"form": form, "questionnaire": spec}, status=status)


def _staff_site_id(request: HttpRequest) -> int | None:
    site = staff_site(page_user(request))
    return site.pk if site is not None else None
