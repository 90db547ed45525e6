"""Pages about what is planned and given: dose approval, booking, the patient portal."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from clinic.core import roles
from clinic.core.pages import call_service, page_user, role_required
from infusions import page_selectors, selectors, services
from infusions.forms import ApproveForm


@role_required(*roles.PRESCRIBER)
def approvals(request: HttpRequest) -> HttpResponse:
    """Doses outside the soft limits (or with a relative contraindication) that a nurse
    planned: the prescriber approves each with a written reason."""
    user = page_user(request)
    forms_by_session: dict[int, ApproveForm] = {}
    status = 200
    if request.method == "POST":
        session = selectors.session_get(user=user, session_id=request.POST.get("session", ""))
        form = ApproveForm(request.POST, prefix=f"s{session.pk}")
        if (
            form.is_valid()
            and call_service(
                request, services.session_approve, form, actor=user, session=session, reason=form.cleaned_data["reason"]
            )
            is not None
        ):
            patient = session.course.patient
            messages.success(request, f"Dose approved for {patient.given_name} {patient.family_name}.")
            return redirect("infusions:approvals")
        forms_by_session[session.pk] = form
        status = 400
    queue = list(page_selectors.approval_queue(user=user))
    rows = [(s, forms_by_session.get(s.pk) or ApproveForm(prefix=f"s{s.pk}")) for s in queue]
    return render(request, "infusions/approvals.html", {"rows": rows}, status=status)


@role_required(*roles.PATIENT)
def portal(request: HttpRequest) -> HttpResponse:
    """The patient's own page: appointments with preparation, questionnaires, scores."""
    return render(request, "infusions/portal.html", {})
