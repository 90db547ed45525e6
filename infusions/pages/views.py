"""Pages about what is planned and given: dose approval, the front desk's booking pages
(slot search, series booking, moving and cancelling, the site's day), and the patient portal.

Every rule is the services' (infusions.scheduling.services, infusions.sessions.services): a refusal comes back as
an error message on the page, with nothing booked."""

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from clinic.core import roles
from clinic.core.pages import call_service, page_user, role_required
from clinic.core.roles import BOOKERS, FRONT_OF_HOUSE
from clinic.models import Site
from clinic.selectors import site_list, staff_site
from infusions.pages import selectors as page_selectors
from infusions.pages.forms import (
    ApproveForm,
    BookForm,
    MoveForm,
    MoveSearchForm,
    OptionalReasonForm,
    ReasonForm,
    SeriesForm,
    SlotSearchForm,
    slot_value,
)
from infusions.scheduling import services as booking
from infusions.scheduling.calendar import appointment_preparation
from infusions.scheduling.models import Appointment, AppointmentStatus
from infusions.scheduling.selectors import (
    appointment_events,
    appointment_get,
    appointment_list,
    day_board,
    my_appointments,
)
from infusions.sessions import services
from infusions.sessions.selectors import session_get
from patients.charts import score_chart_data
from patients.questionnaires import QUESTIONNAIRES
from patients.scoring import PORTAL_INSTRUMENTS
from patients.selectors import assessment_list, patient_get, patient_list

# How far ahead a slot search looks, and how many times it offers.
SEARCH_DAYS = 14
SEARCH_LIMIT = 12
OPEN_STATUSES = (AppointmentStatus.BOOKED, AppointmentStatus.CHECKED_IN, AppointmentStatus.IN_PROGRESS)


@role_required(*roles.PRESCRIBER)
def approvals(request: HttpRequest) -> HttpResponse:
    """Doses outside the soft limits (or with a relative contraindication) that a nurse
    planned: the prescriber approves each with a written reason."""
    user = page_user(request)
    forms_by_session: dict[int, ApproveForm] = {}
    status = 200
    if request.method == "POST":
        session = session_get(user=user, session_id=request.POST.get("session", ""))
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


def _local_midnight(day: date, site: Site) -> datetime:
    return datetime.combine(day, time.min, tzinfo=site.tz)


def _split(appointments: list[Appointment]) -> tuple[list[Appointment], list[Appointment]]:
    """Upcoming (still open and not over) and past, for display."""
    now = timezone.now()
    upcoming = [a for a in appointments if a.status in OPEN_STATUSES and a.ends_at >= now]
    past = [a for a in appointments if a not in upcoming]
    return upcoming, list(reversed(past))


def _slot_rows(found: list[tuple[Any, datetime, datetime]]) -> list[dict[str, Any]]:
    """Free slots as the booking pages offer them (a form value per chair and time)."""
    return [
        {"value": slot_value(chair, starts_at), "chair": chair, "starts_at": starts_at, "ends_at": ends_at}
        for chair, starts_at, ends_at in found
    ]


def _search(site: Site, protocol: Any, patient: Any, start_date: date) -> list[tuple[Any, datetime, datetime]]:
    start = _local_midnight(start_date, site)
    end = start + timedelta(days=SEARCH_DAYS)
    return booking.availability_search(
        site=site, protocol=protocol, start=start, end=end, limit=SEARCH_LIMIT, patient=patient
    )


def _book_post(request: HttpRequest, user: Any, patient: Any, forms_: dict[str, Any]) -> HttpResponse | None:
    """Book one appointment or a whole induction series; the redirect when done, else None
    (the bound form in `forms_` carries the errors)."""
    which = request.POST.get("form")
    if which == "book":
        form = forms_["book"] = BookForm(request.POST)
        if not form.is_valid():
            return None
        chair, starts_at = form.cleaned_data["slot"]
        appointment = call_service(
            request,
            booking.appointment_book,
            form,
            actor=user,
            patient=patient,
            chair=chair,
            starts_at=starts_at,
            protocol=form.cleaned_data["protocol"],
            override_reason=form.cleaned_data["override_reason"],
        )
        if appointment is None:
            return None
        messages.success(
            request, f"Booked {timezone.localtime(appointment.starts_at):%a %-d %b %H:%M} in {chair.name}."
        )
    elif which == "series":
        series_form = forms_["series"] = SeriesForm(request.POST)
        if not series_form.is_valid():
            return None
        values = series_form.cleaned_data
        series = call_service(
            request,
            booking.appointment_series_book,
            series_form,
            actor=user,
            patient=patient,
            protocol=values["protocol"],
            slots=values["slots"],
            override_reason=values["override_reason"],
        )
        if series is None:
            return None
        messages.success(request, f"Booked a series of {len(values['slots'])} sessions.")
    else:
        return None
    return redirect("infusions:book", patient_id=patient.pk)


@role_required(*BOOKERS)
def book(request: HttpRequest, patient_id: int) -> HttpResponse:
    """The front desk's page for one patient: their appointments, a slot search, and booking
    one appointment or a whole induction series (all or nothing)."""
    user = page_user(request)
    patient = patient_get(user=user, patient_id=patient_id)
    today = timezone.localdate()
    search = SlotSearchForm(
        request.GET or None,
        initial={"site": patient.site or staff_site(user), "start_date": today + timedelta(days=1), "mode": "series"},
    )
    forms_: dict[str, Any] = {"book": BookForm(), "series": SeriesForm()}
    status = 200
    if request.method == "POST":
        done = _book_post(request, user, patient, forms_)
        if done is not None:
            return done
        status = 400
    found: list[tuple[Any, datetime, datetime]] = []
    proposal = None
    if search.is_valid():
        values = search.cleaned_data
        if values["mode"] == "single":
            found = _search(values["site"], values["protocol"], patient, values["start_date"])
        else:
            start = _local_midnight(values["start_date"], values["site"])
            proposal = booking.series_propose(
                site=values["site"], protocol=values["protocol"], patient=patient, start=start
            )
            found = proposal.slots
    upcoming, past = _split(list(appointment_list(user=user, patient_id=patient.pk)))
    context = {
        "patient": patient,
        "search": search,
        "slots": _slot_rows(found),
        "proposal": proposal,
        "book_form": forms_["book"],
        "series_form": forms_["series"],
        "upcoming": upcoming,
        "past": past,
        "query": request.GET.urlencode(),
    }
    return render(request, "infusions/book.html", context, status=status)


# The steps on an appointment's page: the role set allowed, the form (class, prefix) and the
# service with its arguments from the form's cleaned data.
APPOINTMENT_STEPS: dict[str, tuple[tuple[str, ...], type[Any] | None, str | None, Callable[..., Any], Any]] = {
    "move": (
        BOOKERS,
        MoveForm,
        None,
        booking.appointment_move,
        lambda d: {"chair": d["slot"][0], "starts_at": d["slot"][1], "reason": d["reason"]},
    ),
    "cancel": (BOOKERS, ReasonForm, "cancel", booking.appointment_cancel, lambda d: {"reason": d["reason"]}),
    "no_show": (
        FRONT_OF_HOUSE,
        OptionalReasonForm,
        "no_show",
        booking.appointment_no_show,
        lambda d: {"reason": d["reason"]},
    ),
    "check_in": (FRONT_OF_HOUSE, None, None, booking.appointment_check_in, lambda d: {}),
}


def _appointment_step(
    request: HttpRequest, user: Any, appointment: Appointment, action: str, forms_: dict[str, Any]
) -> Any:
    """Run one step through its service; the result, or None (errors on the bound form)."""
    _roles, form_class, prefix, service, arguments = APPOINTMENT_STEPS[action]
    form = None
    if form_class is not None:
        form = forms_[action] = form_class(request.POST, prefix=prefix)
        if not form.is_valid():
            return None
    data = form.cleaned_data if form is not None else {}
    return call_service(request, service, form, actor=user, appointment=appointment, **arguments(data))


def _move_slots(appointment: Appointment, allowed: bool, move_search: MoveSearchForm) -> list[dict[str, Any]]:
    """Free times to move a booked appointment to (when the role may move it)."""
    if not (allowed and appointment.status == AppointmentStatus.BOOKED and appointment.protocol):
        return []
    if not move_search.is_valid():
        return []
    found = _search(appointment.site, appointment.protocol, appointment.patient, move_search.cleaned_data["start_date"])
    return _slot_rows(found)


@role_required(*roles.STAFF)
def appointment_detail(request: HttpRequest, appointment_id: int) -> HttpResponse:
    """One appointment: preparation, history, and the steps the role may take (move, cancel,
    check in, no-show)."""
    user = page_user(request)
    appointment = appointment_get(user=user, appointment_id=appointment_id)
    forms_: dict[str, Any] = {
        "move": MoveForm(),
        "cancel": ReasonForm(prefix="cancel"),
        "no_show": OptionalReasonForm(prefix="no_show"),
    }
    allowed = {action: user.role in step[0] for action, step in APPOINTMENT_STEPS.items()}
    action = request.POST.get("form") if request.method == "POST" else None
    status = 200
    if action in APPOINTMENT_STEPS:
        if not allowed[action]:
            messages.error(request, "Your role may not do this.")
            return redirect("infusions:appointment", appointment_id=appointment.pk)
        if _appointment_step(request, user, appointment, action, forms_) is not None:
            messages.success(request, "Saved.")
            return redirect("infusions:appointment", appointment_id=appointment.pk)
    if action:
        status = 400
    move_search = MoveSearchForm(request.GET or None, initial={"start_date": timezone.localdate()})
    context = {
        "appointment": appointment,
        "preparation": appointment_preparation(appointment),
        "events": list(appointment_events(appointment=appointment)),
        "forms": forms_,
        "allowed": allowed,
        "move_search": move_search,
        "move_slots": _move_slots(appointment, allowed["move"], move_search),
        "query": request.GET.urlencode(),
    }
    return render(request, "infusions/appointment.html", context, status=status)


@role_required(*roles.STAFF)
def schedule(request: HttpRequest) -> HttpResponse:
    """The site's day: each chair with its appointments (patient, protocol, status)."""
    user = page_user(request)
    site = staff_site(user)
    sites = site_list(user=user)
    chosen = request.GET.get("site")
    if chosen and chosen.isdigit():
        site = next((s for s in sites if s.pk == int(chosen)), site)
    if site is None and sites:
        site = sites[0]
    if site is None:
        return render(request, "infusions/schedule.html", {"board": None, "sites": sites})
    try:
        day = date.fromisoformat(request.GET.get("date", ""))
    except ValueError:
        day = timezone.now().astimezone(site.tz).date()
    board = day_board(site=site, day=day)
    context = {
        "board": board,
        "site": site,
        "sites": sites,
        "day": day,
        "previous": day - timedelta(days=1),
        "next": day + timedelta(days=1),
    }
    return render(request, "infusions/schedule.html", context)


@role_required(*roles.PATIENT)
def portal(request: HttpRequest) -> HttpResponse:
    """The patient's own page: upcoming and past appointments with their preparation, the
    calendar link, the questionnaires to fill in and the score history."""
    user = page_user(request)
    patient = patient_list(user=user).first()
    calendar_url = None
    if request.method == "POST" and patient is not None:
        if request.POST.get("form") == "calendar_link":
            token = booking.calendar_feed_create(patient=patient)
            path = reverse("api:calendar-feed", args=[token])
            calendar_url = request.build_absolute_uri(path)
        elif request.POST.get("form") == "calendar_revoke":
            booking.calendar_feed_revoke(patient=patient)
            messages.success(request, "Your calendar link no longer works.")
            return redirect("infusions:portal")
    upcoming, past = _split(list(my_appointments(user=user)))
    scores = list(assessment_list(patient=patient)) if patient is not None else []
    last_done = {code: next((a for a in scores if a.instrument == code), None) for code in PORTAL_INSTRUMENTS}
    context = {
        "patient": patient,
        "upcoming": [(a, appointment_preparation(a)) for a in upcoming],
        "past": past,
        "calendar_url": calendar_url,
        "questionnaires": [(QUESTIONNAIRES[code], last_done[code]) for code in PORTAL_INSTRUMENTS],
        "scores": [a for a in scores if a.instrument in PORTAL_INSTRUMENTS],
        "score_chart": score_chart_data(scores, instruments=PORTAL_INSTRUMENTS),
    }
    return render(request, "infusions/portal.html", context)
