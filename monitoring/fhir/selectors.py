"""FHIR reads, scoped to the acting user, searched and paged in the database.

Every search is one COUNT and one page query (LIMIT/OFFSET on an index-ordered query), plus, for
Observation, one fetch per kind of row on the page (vitals sets, weighings, questionnaires): a
fixed number of queries and memory bounded by the page size, whatever the patient's history.

Observation ids name the row they come from: `vs-{vitals set}-{bp|hr|spo2|rr|temp}`,
`bm-{weighing}-{weight|height}`, `as-{assessment}`. A search's observation rows are a UNION
ALL of one branch per kind of observation, each filtered by the search's parameters.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db.models import F, IntegerField, Q, QuerySet, Value
from django.http import Http404

from clinic.core.roles import Role
from clinic.models import User
from infusions.scheduling.models import Appointment
from infusions.scheduling.selectors import appointment_list
from infusions.sessions.models import InfusionSession
from monitoring.fhir import codes
from monitoring.fhir.search import DateValue, Search, SearchError, StringValue, Token
from monitoring.vitals.models import VitalSign
from patients.models import Assessment, BodyMeasurement, Patient
from patients.selectors import patient_get, patient_list


@dataclass(frozen=True)
class Page:
    total: int
    rows: list[Any]


def _date_q(value: DateValue, start: str, end: str | None = None, *, open_end: bool = False) -> Q:
    """R4 date matching of a target `[start, end]` (a point when `end` is None; `open_end`: a
    missing end is still going on) against the search value's range `[low, high)`."""
    end = end or start
    low, high = value.low, value.high

    def at_least(name: str, bound: datetime) -> Q:
        q = Q(**{f"{name}__gte": bound})
        return q | Q(**{f"{name}__isnull": True}) if open_end and name == end and end != start else q

    def below(name: str, bound: datetime) -> Q:
        q = Q(**{f"{name}__lt": bound})
        return q & Q(**{f"{name}__isnull": False}) if open_end and name == end and end != start else q

    inside = Q(**{f"{start}__gte": low}) & below(end, high)
    return {
        "eq": inside,
        "ne": ~inside,
        "gt": at_least(end, high),
        "ge": at_least(end, low),
        "lt": Q(**{f"{start}__lt": low}),
        "le": Q(**{f"{start}__lt": high}),
        "sa": Q(**{f"{start}__gte": high}),
        "eb": below(end, low),
    }[value.prefix]


def _date_filter(search: Search, name: str, start: str, end: str | None = None, *, open_end: bool = False) -> Q:
    """Every `name` parameter (AND), each a list of values (OR)."""
    q = Q()
    for alternatives in search.values(name):
        any_of = Q()
        for value in alternatives:
            if isinstance(value, DateValue):
                any_of |= _date_q(value, start, end, open_end=open_end)
        q &= any_of
    return q


def _birthdate_q(value: DateValue) -> Q:
    """Birth dates are days: the search range in whole days (of the value's own zone)."""
    low = value.low.date()
    high = value.high.date() if value.high.time() == time.min else value.high.date() + timedelta(days=1)
    inside = Q(birth_date__gte=low, birth_date__lt=high)
    return {
        "eq": inside,
        "ne": ~inside,
        "gt": Q(birth_date__gte=high),
        "sa": Q(birth_date__gte=high),
        "ge": Q(birth_date__gte=low),
        "lt": Q(birth_date__lt=low),
        "eb": Q(birth_date__lt=low),
        "le": Q(birth_date__lt=high),
    }[value.prefix]


def _any_of(search: Search, name: str, one: Callable[[Any], Q]) -> Q:
    q = Q()
    for alternatives in search.values(name):
        any_of = Q(pk__in=[])
        for value in alternatives:
            any_of |= one(value)
        q &= any_of
    return q


def _ids(search: Search) -> list[str] | None:
    """The `_id` values every `_id` parameter allows (None: no `_id` given)."""
    allowed: set[str] | None = None
    for alternatives in search.values("_id"):
        these = {value.code for value in alternatives if isinstance(value, Token) and value.code}
        allowed = these if allowed is None else allowed & these
    return None if allowed is None else sorted(allowed)


def _numeric_ids(search: Search, prefix: str = "") -> Q:
    ids = _ids(search)
    if ids is None:
        return Q()
    numbers = [int(i.removeprefix(prefix)) for i in ids if i.startswith(prefix) and i.removeprefix(prefix).isdigit()]
    return Q(pk__in=numbers)


def _page(qs: QuerySet[Any], search: Search) -> Page:
    total = qs.count()
    if search.summary_count or search.count == 0:
        return Page(total=total, rows=[])
    return Page(total=total, rows=list(qs[search.offset : search.offset + search.count]))


def _ordered(qs: QuerySet[Any], search: Search, fields: dict[str, str], default: Sequence[str]) -> QuerySet[Any]:
    order = [f"-{fields[key]}" if descending else fields[key] for key, descending in search.sort]
    return qs.order_by(*order, *default)


# --- the patient a search is about ----------------------------------------------------------------


def search_patient(*, user: User, search: Search) -> Patient:
    """The `patient` (or `subject`) of a search. A patient account may leave it out (their own
    record); staff name exactly one. Another patient's (or no such patient) answers 404."""
    named = [v for name in ("patient", "subject") for alternatives in search.values(name) for v in alternatives]
    if not named:
        if user.role == Role.PATIENT:
            own = Patient.objects.filter(user=user).first()
            if own is None:
                raise Http404
            return own
        raise SearchError("patient", "Name the patient: ?patient={id}.")
    if len(set(named)) > 1:
        raise SearchError("patient", "Name one patient per search.")
    return patient_get(user=user, patient_id=str(named[0]))


# --- Patient --------------------------------------------------------------------------------------


def _identifier_q(token: Token) -> Q:
    if token.system not in (None, settings.FHIR_MRN_SYSTEM):
        return Q(pk__in=[])
    return Q() if token.code is None else Q(mrn=token.code)


def _name_q(value: StringValue) -> Q:
    if value.modifier == "exact":
        return Q(family_name=value.text) | Q(given_name=value.text)
    lookup = "icontains" if value.modifier == "contains" else "istartswith"
    return Q(**{f"family_name__{lookup}": value.text}) | Q(**{f"given_name__{lookup}": value.text})


def patient_search(*, user: User, search: Search) -> Page:
    qs = patient_list(user=user).filter(
        _numeric_ids(search),
        _any_of(search, "identifier", _identifier_q),
        _any_of(search, "name", _name_q),
        _any_of(search, "birthdate", _birthdate_q),
    )
    return _page(_ordered(qs, search, {"birthdate": "birth_date"}, ("id",)), search)


# --- Observation ----------------------------------------------------------------------------------

# The observations a vitals set, a weighing and an assessment give: part -> (category, codes).
VITAL_PARTS: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "bp": (codes.VITAL_SIGNS, (codes.BP_PANEL,)),
    "hr": (codes.VITAL_SIGNS, (codes.HEART_RATE,)),
    "spo2": (codes.VITAL_SIGNS, (codes.SPO2, codes.SPO2_PULSE_OX)),
    "rr": (codes.VITAL_SIGNS, (codes.RESPIRATORY_RATE,)),
    "temp": (codes.VITAL_SIGNS, (codes.TEMPERATURE,)),
}
MEASUREMENT_PARTS: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "weight": (codes.VITAL_SIGNS, (codes.WEIGHT,)),
    "height": (codes.VITAL_SIGNS, (codes.HEIGHT,)),
}
KIND_VITAL, KIND_MEASUREMENT, KIND_ASSESSMENT = 0, 1, 2
KIND_PREFIX = {KIND_VITAL: "vs", KIND_MEASUREMENT: "bm", KIND_ASSESSMENT: "as"}
PARTS = {KIND_VITAL: tuple(VITAL_PARTS), KIND_MEASUREMENT: tuple(MEASUREMENT_PARTS), KIND_ASSESSMENT: ("",)}


def _all_match(search: Search, name: str, system: str, code_list: Sequence[tuple[str, str]]) -> bool:
    """Whether a concept with these codes (all in `system`) meets every `name` parameter."""
    for alternatives in search.values(name):
        if not any(
            isinstance(v, Token) and any(v.matches(system, code) for code, _ in code_list) for v in alternatives
        ):
            return False
    return True


def _observation_kind(search: Search, category: str, code_list: Sequence[tuple[str, str]]) -> bool:
    category_codes = [(category, category)]
    return _all_match(search, "category", codes.OBSERVATION_CATEGORY, category_codes) and (
        _all_match(search, "code", codes.LOINC, code_list) if code_list else not search.values("code")
    )


@dataclass(frozen=True)
class ObservationRow:
    kind: int
    part: str
    obj: Any


def _branch(qs: QuerySet[Any], kind: int, part: int, at: str) -> QuerySet[Any]:
    return (
        qs.order_by()
        .annotate(
            at=F(at),
            kind=Value(kind, output_field=IntegerField()),
            row=F("id"),
            part=Value(part, output_field=IntegerField()),
        )
        .values("at", "kind", "row", "part")
    )


def _wanted_ids(search: Search) -> dict[tuple[int, str], set[int]] | None:
    """`_id` values as (kind, part) -> row ids; None when no `_id` was given."""
    ids = _ids(search)
    if ids is None:
        return None
    wanted: dict[tuple[int, str], set[int]] = {}
    for text in ids:
        prefix, _, rest = text.partition("-")
        number, _, part = rest.partition("-")
        kind = next((k for k, p in KIND_PREFIX.items() if p == prefix), None)
        if kind is not None and number.isdigit() and part in PARTS[kind]:
            wanted.setdefault((kind, part), set()).add(int(number))
    return wanted


def _observation_branches(search: Search, patient: Patient) -> list[QuerySet[Any]]:
    wanted = _wanted_ids(search)
    branches: list[QuerySet[Any]] = []

    def add(qs: QuerySet[Any], kind: int, part: str, at: str) -> None:
        if wanted is not None:
            if (kind, part) not in wanted:
                return
            qs = qs.filter(pk__in=wanted[(kind, part)])
        branches.append(_branch(qs.filter(_date_filter(search, "date", at)), kind, PARTS[kind].index(part), at))

    vitals = VitalSign.objects.filter(session__course__patient=patient, superseded_by__isnull=True)
    for part, (category, code_list) in VITAL_PARTS.items():
        if _observation_kind(search, category, code_list):
            add(
                vitals.filter(temperature_c__isnull=False) if part == "temp" else vitals,
                KIND_VITAL,
                part,
                "recorded_at",
            )
    measurements = BodyMeasurement.objects.filter(patient=patient)
    for part, (category, code_list) in MEASUREMENT_PARTS.items():
        if _observation_kind(search, category, code_list):
            qs = measurements.filter(height_cm__isnull=False) if part == "height" else measurements
            add(qs, KIND_MEASUREMENT, part, "measured_at")
    instruments = [
        instrument
        for instrument in codes.INSTRUMENT_TEXT
        if _observation_kind(
            search, codes.SURVEY, [codes.INSTRUMENT_TOTAL[instrument]] if instrument in codes.INSTRUMENT_TOTAL else []
        )
    ]
    if instruments:
        add(
            Assessment.objects.filter(patient=patient, instrument__in=instruments),
            KIND_ASSESSMENT,
            "",
            "administered_at",
        )
    return branches


def observation_search(*, patient: Patient, search: Search) -> Page:
    """The patient's current observations matching the search, one page of them."""
    branches = _observation_branches(search, patient)
    if not branches:
        return Page(total=0, rows=[])
    union = branches[0].union(*branches[1:], all=True) if len(branches) > 1 else branches[0]
    descending = any(desc for _, desc in search.sort)
    ordered = union.order_by(*(("-at",) if descending else ("at",)), "kind", "row", "part")
    page = _page(ordered, search)
    if not page.rows:
        return page
    return Page(total=page.total, rows=_observation_rows(page.rows))


def _observation_rows(keys: list[dict[str, Any]]) -> list[ObservationRow]:
    """The page's rows (one query per kind present), in the page's order."""
    by_kind: dict[int, set[int]] = {}
    for key in keys:
        by_kind.setdefault(key["kind"], set()).add(key["row"])
    loaded: dict[tuple[int, int], Any] = {}
    if KIND_VITAL in by_kind:
        for vital in VitalSign.objects.filter(pk__in=by_kind[KIND_VITAL]).select_related(
            "recorded_by", "superseded_by", "session__course"
        ):
            loaded[(KIND_VITAL, vital.pk)] = vital
    if KIND_MEASUREMENT in by_kind:
        for measurement in BodyMeasurement.objects.filter(pk__in=by_kind[KIND_MEASUREMENT]).select_related(
            "recorded_by"
        ):
            loaded[(KIND_MEASUREMENT, measurement.pk)] = measurement
    if KIND_ASSESSMENT in by_kind:
        for assessment in Assessment.objects.filter(pk__in=by_kind[KIND_ASSESSMENT]).select_related("recorded_by"):
            loaded[(KIND_ASSESSMENT, assessment.pk)] = assessment
    return [
        ObservationRow(kind=key["kind"], part=PARTS[key["kind"]][key["part"]], obj=loaded[(key["kind"], key["row"])])
        for key in keys
    ]


def observation_get(*, user: User, observation_id: str) -> ObservationRow:
    """One observation by its id, superseded ones included (their status says so); 404 when it
    does not exist or is another patient's."""
    prefix, _, rest = observation_id.partition("-")
    number, _, part = rest.partition("-")
    kind = next((k for k, p in KIND_PREFIX.items() if p == prefix), None)
    if kind is None or not number.isdigit() or part not in PARTS[kind]:
        raise Http404
    obj: Any
    if kind == KIND_VITAL:
        obj = (
            VitalSign.objects.select_related("recorded_by", "superseded_by", "session__course")
            .filter(pk=int(number))
            .first()
        )
        if obj is None or (part == "temp" and obj.temperature_c is None):
            raise Http404
        patient_id = obj.session.course.patient_id
    elif kind == KIND_MEASUREMENT:
        obj = BodyMeasurement.objects.select_related("recorded_by").filter(pk=int(number)).first()
        if obj is None or (part == "height" and obj.height_cm is None):
            raise Http404
        patient_id = obj.patient_id
    else:
        obj = Assessment.objects.select_related("recorded_by").filter(pk=int(number)).first()
        if obj is None:
            raise Http404
        patient_id = obj.patient_id
    patient_get(user=user, patient_id=patient_id)
    return ObservationRow(kind=kind, part=part, obj=obj)


# --- Appointment ----------------------------------------------------------------------------------


def _appointment_status_q(token: Token) -> Q:
    statuses = [ours for ours, fhir in codes.APPOINTMENT_STATUS.items() if token.code is None or token.code == fhir]
    return Q(status__in=statuses) if token.system in (None, "http://hl7.org/fhir/appointmentstatus") else Q(pk__in=[])


def appointment_search(*, user: User, patient: Patient, search: Search) -> Page:
    qs = appointment_list(user=user, patient_id=patient.pk).filter(
        _numeric_ids(search),
        _date_filter(search, "date", "starts_at"),
        _any_of(search, "status", _appointment_status_q),
    )
    return _page(_ordered(qs, search, {"date": "starts_at"}, ("starts_at", "id")), search)


def appointment_get(*, user: User, appointment_id: str) -> Appointment:
    if not appointment_id.isdigit():
        raise Http404
    appointment = appointment_list(user=user).filter(pk=int(appointment_id)).first()
    if appointment is None:
        raise Http404
    patient_get(user=user, patient_id=appointment.patient_id)
    return appointment


# --- MedicationAdministration ---------------------------------------------------------------------


def _administrations() -> QuerySet[InfusionSession]:
    return InfusionSession.objects.filter(status__in=list(codes.ADMINISTRATION_STATUS)).select_related(
        "course__protocol", "created_by"
    )


def administration_search(*, patient: Patient, search: Search) -> Page:
    qs = _administrations().filter(
        _numeric_ids(search, "session-"),
        _date_filter(search, "effective-time", "started_at", "dosing_ended_at", open_end=True),
        course__patient=patient,
    )
    return _page(_ordered(qs, search, {"effective-time": "started_at"}, ("started_at", "id")), search)


def administration_get(*, user: User, administration_id: str) -> InfusionSession:
    number = administration_id.removeprefix("session-")
    if not administration_id.startswith("session-") or not number.isdigit():
        raise Http404
    session = _administrations().filter(pk=int(number)).first()
    if session is None:
        raise Http404
    patient_get(user=user, patient_id=session.course.patient_id)
    return session
