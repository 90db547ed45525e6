"""Pages about what is planned and given: dose approval, the front desk's booking pages
(slot search, series booking, moving and cancelling, the site's day), and the patient portal.

Every rule is the services' (infusions.scheduling.services, infusions.sessions.services): a refusal comes back as
an error message on the page, with nothing booked."""

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


@role_required(*BOOKERS)
def book(request: HttpRequest, patient_id: int) -> HttpResponse:
    """The front desk's page for one patient: their appointments, a slot search, and booking
    one appointment or a whole induction series (all or nothing)."""
    user = page_user(request)
    patient = patient_get(user=user, patient_id=patient_id)
    default_site = patient.site or staff_site(user)
    today = timezone.localdate()
    search = SlotSearchForm(
        request.GET or None,
        initial={"site": default_site, "start_date": today + timedelta(days=1), "mode": "series"},
    )
    book_form, series_form = BookForm(), SeriesForm()
    status = 200
    if request.method == "POST":
        status = 400
        if request.POST.get("form") == "book":
            book_form = BookForm(request.POST)
            if book_form.is_valid():
                chair, starts_at = book_form.cleaned_data["slot"]
                appointment = call_service(
                    request,
                    booking.appointment_book,
                    book_form,
                    actor=user,
                    patient=patient,
                    chair=chair,
                    starts_at=starts_at,
                    protocol=book_form.cleaned_data["protocol"],
                    override_reason=book_form.cleaned_data["override_reason"],
                )
                if appointment is not None:
                    local = timezone.localtime(appointment.starts_at)
                    messages.success(request, f"Booked {local:%a %-d %b %H:%M} in {chair.name}.")
                    return redirect("infusions:book", patient_id=patient.pk)
        elif request.POST.get("form") == "series":
            series_form = SeriesForm(request.POST)
            if series_form.is_valid():
                series = call_service(
                    request,
                    booking.appointment_series_book,
                    series_form,
                    actor=user,
                    patient=patient,
                    protocol=series_form.cleaned_data["protocol"],
                    slots=series_form.cleaned_data["slots"],
                    override_reason=series_form.cleaned_data["override_reason"],
                )
                if series is not None:
                    count = len(series_form.cleaned_data["slots"])
                    messages.success(request, f"Booked a series of {count} sessions.")
                    return redirect("infusions:book", patient_id=patient.pk)
    slots: list[dict[str, Any]] = []
    proposal = None
    if search.is_valid():
        values = search.cleaned_data
        site, protocol = values["site"], values["protocol"]
        start = _local_midnight(values["start_date"], site)
        if values["mode"] == "single":
            found = booking.availability_search(
                site=site,
                protocol=protocol,
                start=start,
                end=start + timedelta(days=SEARCH_DAYS),
                limit=SEARCH_LIMIT,
                patient=patient,
            )
        else:
            proposal = booking.series_propose(site=site, protocol=protocol, patient=patient, start=start)
            found = proposal.slots
        slots = [
            {"value": slot_value(chair, starts_at), "chair": chair, "starts_at": starts_at, "ends_at": ends_at}
            for chair, starts_at, ends_at in found
        ]
    upcoming, past = _split(list(appointment_list(user=user, patient_id=patient.pk)))
    context = {
        "patient": patient,
        "search": search,
        "slots": slots,
        "proposal": proposal,
        "book_form": book_form,
        "series_form": series_form,
        "upcoming": upcoming,
        "past": past,
        "query": request.GET.urlencode(),
    }
    return render(request, "infusions/book.html", context, status=status)


@role_required(*roles.STAFF)
def appointment_detail(request: HttpRequest, appointment_id: int) -> HttpResponse:
    """One appointment: preparation, history, and the steps the role may take (move, cancel,
    check in, no-show)."""
    user = page_user(request)
    appointment = appointment_get(user=user, appointment_id=appointment_id)
    forms: dict[str, Any] = {
        "move": MoveForm(),
        "cancel": ReasonForm(prefix="cancel"),
        "no_show": OptionalReasonForm(prefix="no_show"),
    }
    status = 200
    action = request.POST.get("form") if request.method == "POST" else None
    allowed = {
        "move": user.role in BOOKERS,
        "cancel": user.role in BOOKERS,
        "check_in": user.role in FRONT_OF_HOUSE,
        "no_show": user.role in FRONT_OF_HOUSE,
    }
    if action in allowed and not allowed[action]:
        messages.error(request, "Your role may not do this.")
        return redirect("infusions:appointment", appointment_id=appointment.pk)
    done: Any = None
    if action == "move":
        move = forms["move"] = MoveForm(request.POST)
        if move.is_valid():
            chair, starts_at = move.cleaned_data["slot"]
            done = call_service(
                request,
                booking.appointment_move,
                move,
                actor=user,
                appointment=appointment,
                starts_at=starts_at,
                chair=chair,
                reason=move.cleaned_data["reason"],
            )
    elif action == "cancel":
        cancel = forms["cancel"] = ReasonForm(request.POST, prefix="cancel")
        if cancel.is_valid():
            done = call_service(
                request,
                booking.appointment_cancel,
                cancel,
                actor=user,
                appointment=appointment,
                reason=cancel.cleaned_data["reason"],
            )
    elif action == "no_show":
        no_show = forms["no_show"] = OptionalReasonForm(request.POST, prefix="no_show")
        if no_show.is_valid():
            done = call_service(
                request,
                booking.appointment_no_show,
                no_show,
                actor=user,
                appointment=appointment,
                reason=no_show.cleaned_data["reason"],
            )
    elif action == "check_in":
        done = call_service(request, booking.appointment_check_in, None, actor=user, appointment=appointment)
    if done is not None:
        messages.success(request, "Saved.")
        return redirect("infusions:appointment", appointment_id=appointment.pk)
    if action:
        status = 400
    move_search = MoveSearchForm(request.GET or None, initial={"start_date": timezone.localdate()})
    move_slots: list[dict[str, Any]] = []
    if (
        allowed["move"]
        and appointment.status == AppointmentStatus.BOOKED
        and appointment.protocol
        and move_search.is_valid()
    ):
        start = _local_midnight(move_search.cleaned_data["start_date"], appointment.site)
        found = booking.availability_search(
            site=appointment.site,
            protocol=appointment.protocol,
            start=start,
            end=start + timedelta(days=SEARCH_DAYS),
            limit=SEARCH_LIMIT,
            patient=appointment.patient,
        )
        move_slots = [
            {"value": slot_value(chair, starts_at), "chair": chair, "starts_at": starts_at, "ends_at": ends_at}
            for chair, starts_at, ends_at in found
        ]
    context = {
        "appointment": appointment,
        "preparation": appointment_preparation(appointment),
        "events": list(appointment_events(appointment=appointment)),
        "forms": forms,
        "allowed": allowed,
        "move_search": move_search,
        "move_slots": move_slots,
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
