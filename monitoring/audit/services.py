"""Patient access logging and the audit exports.

`PatientAccessMiddleware` logs every successful staff request that names a patient's record
(directly, or through a session, course, appointment, alert, vitals set or follow-up of that
patient; the patient search's results; FHIR resources). It adds one query per request: an
`INSERT ... SELECT` that resolves the object to its patient in the database, so the count
stays constant whatever the request read. Patients reading their own record are not logged.

The exports (`history_rows`, `access_rows`) serve the admin-only API and `manage.py
audit_export`: one query per audited model, diffs computed in Python.
"""

import heapq
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import ResolverMatch
from django.utils import timezone

from clinic.core.roles import STAFF
from clinic.models import User
from infusions.scheduling.models import Appointment
from infusions.sessions.models import InfusionSession, TreatmentCourse
from monitoring.alerts.models import Alert, AlertResolution
from monitoring.audit.models import AUDITED_MODELS, PatientAccessLog
from monitoring.followups.models import FollowUp
from monitoring.vitals.models import VitalSign
from patients.models import Assessment, BodyMeasurement, Patient, Screening

MAX_LOGGED_PER_REQUEST = 1000
SAFE_STATUS = 400


def _ids(values: Iterable[Any]) -> list[int]:
    out: list[int] = []
    for value in values:
        text = str(value).removeprefix("Patient/")
        if text.isdigit():
            out.append(int(text))
    return out


def _patients(ids: Iterable[Any]) -> QuerySet[Any] | None:
    wanted = _ids(ids)[:MAX_LOGGED_PER_REQUEST]
    return Patient.objects.filter(pk__in=wanted).values("pk") if wanted else None


# How an object named in the URL leads to its patient (a query, run inside the INSERT).
OBJECT_PATIENT: dict[str, Callable[[int], QuerySet[Any]]] = {
    "patient": lambda pk: Patient.objects.filter(pk=pk).values("pk"),
    "session": lambda pk: InfusionSession.objects.filter(pk=pk).values("course__patient_id"),
    "course": lambda pk: TreatmentCourse.objects.filter(pk=pk).values("patient_id"),
    "appointment": lambda pk: Appointment.objects.filter(pk=pk).values("patient_id"),
    "alert": lambda pk: Alert.objects.filter(pk=pk).values("session__course__patient_id"),
    "vital": lambda pk: VitalSign.objects.filter(pk=pk).values("session__course__patient_id"),
    "followup": lambda pk: FollowUp.objects.filter(pk=pk).values("patient_id"),
}
KWARG_KIND = {
    "patient_pk": "patient",
    "patient_id": "patient",
    "session_pk": "session",
    "session_id": "session",
    "appointment_id": "appointment",
}
# URL names whose `pk` is the object of that kind (router basenames and the bedside paths).
NAME_PREFIX_KIND = (
    ("patient-", "patient"),
    ("session-", "session"),
    ("course-", "course"),
    ("appointment-", "appointment"),
    ("alert-", "alert"),
    ("vital-", "vital"),
    ("followup-", "followup"),
)
QUERY_KIND = {"patient": "patient", "session": "session", "course": "course"}


def _fhir_patients(data: Any, found: set[str]) -> None:
    """Every `Patient/{id}` reference (and Patient resource) in a FHIR answer."""
    if isinstance(data, dict):
        if data.get("resourceType") == "Patient" and "id" in data:
            found.add(str(data["id"]))
        reference = data.get("reference")
        if isinstance(reference, str) and reference.startswith("Patient/"):
            found.add(reference)
        for value in data.values():
            _fhir_patients(value, found)
    elif isinstance(data, list):
        for value in data:
            _fhir_patients(value, found)


def patients_read(request: HttpRequest, match: ResolverMatch, response: HttpResponse) -> QuerySet[Any] | None:
    """The query naming the patients this request read, or None."""
    kwargs = match.kwargs
    if match.namespace == "fhir":
        found: set[str] = set()
        _fhir_patients(getattr(response, "data", None), found)
        return _patients(found)
    for name, kind in KWARG_KIND.items():
        if name in kwargs and str(kwargs[name]).isdigit():
            return OBJECT_PATIENT[kind](int(kwargs[name]))
    url_name = match.url_name or ""
    if "pk" in kwargs and str(kwargs["pk"]).isdigit():
        for prefix, kind in NAME_PREFIX_KIND:
            if url_name.startswith(prefix):
                return OBJECT_PATIENT[kind](int(kwargs["pk"]))
    if url_name == "patient-list" and isinstance(getattr(response, "data", None), list):
        data: list[Any] = response.data  # type: ignore[attr-defined]
        return _patients(row.get("id") for row in data if isinstance(row, dict))
    for param, kind in QUERY_KIND.items():
        value = request.GET.get(param, "")
        if value.isdigit():
            return OBJECT_PATIENT[kind](int(value))
    return None


def access_log_write(
    *, user: User, request: HttpRequest, match: ResolverMatch, status: int, patients: QuerySet[Any]
) -> None:
    """One INSERT ... SELECT: a row per distinct patient the query names (none if it names
    no existing patient)."""
    sub_sql, sub_params = patients.query.sql_with_params()
    table = PatientAccessLog._meta.db_table
    view = f"{match.namespace}:{match.url_name}" if match.namespace else (match.url_name or match.view_name)
    sql = (
        f"INSERT INTO {table} (created_at, patient_id, user_id, role, method, view, path, status_code) "  # noqa: S608
        "SELECT DISTINCT %s, sub.patient_ref, %s, %s, %s, %s, %s, %s "
        f"FROM ({sub_sql}) AS sub (patient_ref) WHERE sub.patient_ref IS NOT NULL"
    )
    params = (
        timezone.now(),
        user.pk,
        user.role,
        (request.method or "")[:8],
        view[:120],
        request.path[:300],
        status,
        *sub_params,
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


class PatientAccessMiddleware:
    """Log staff requests that read a patient's record (after the view ran)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        match = getattr(request, "resolver_match", None)
        if match is None or response.status_code >= SAFE_STATUS or not isinstance(user, User) or user.role not in STAFF:
            return response
        patients = patients_read(request, match, response)
        if patients is not None:
            access_log_write(user=user, request=request, match=match, status=response.status_code, patients=patients)
        return response


# --- exports ------------------------------------------------------------------------------------

HISTORY_TYPES = {"+": "created", "~": "changed", "-": "deleted"}
# Append-only clinical records: created once, never changed; who and when are on the row.
APPEND_ONLY: tuple[tuple[type[Model], str, str], ...] = (
    (BodyMeasurement, "recorded_by", "patient_id"),
    (Screening, "screened_by", "patient_id"),
    (Assessment, "recorded_by", "patient_id"),
    (VitalSign, "recorded_by", "session__course__patient_id"),
    (AlertResolution, "resolved_by", "alert__session__course__patient_id"),
)
HISTORY_COLUMNS = ("at", "model", "object_id", "event", "user", "reason", "changes", "history_id")


def _user_label(user: Any) -> str:
    if user is None:
        return "system"
    return user.username


def _field_names(model: type[Model]) -> list[str]:
    return [f.attname for f in model._meta.concrete_fields]


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | float | str | list | dict):
        return value
    return str(value)


def history_model(model: type[Model]) -> Any:
    return model.history.model  # type: ignore[attr-defined]


def _changes_of(audited: type[Model], since: datetime | None, until: datetime | None) -> Iterator[dict[str, Any]]:
    """One audited model's history records, oldest first, each with its changed fields."""
    label = audited._meta.label
    records_model = history_model(audited)
    fields = [name for name in _field_names(audited) if name not in ("updated_at",)]
    qs = records_model.objects.select_related("history_user").order_by("history_date", "history_id")
    if until is not None:
        qs = qs.filter(history_date__lt=until)
    previous: dict[Any, dict[str, Any]] = {}  # each record's last values (for the diff)
    for record in qs.iterator(chunk_size=2000):
        values = {name: getattr(record, name) for name in fields}
        before = previous.get(record.id)
        previous[record.id] = values
        if since is not None and record.history_date < since:
            continue
        if before is None:
            changes = {name: [None, _jsonable(value)] for name, value in values.items()}
        else:
            changes = {
                name: [_jsonable(before[name]), _jsonable(value)]
                for name, value in values.items()
                if before[name] != value
            }
        yield {
            "at": record.history_date,
            "model": label,
            "object_id": record.id,
            "event": HISTORY_TYPES.get(record.history_type, record.history_type),
            "user": _user_label(record.history_user),
            # Who or what caused it beyond the user: the Celery task and the rule (e.g.
            # "task monitoring.followups_deliver[1a2b3c4d]; rule followup_due").
            "reason": record.history_change_reason or "",
            "changes": changes,
            "history_id": record.history_id,
        }


def _creations_of(
    append_model: type[Model], user_field: str, since: datetime | None, until: datetime | None
) -> Iterator[dict[str, Any]]:
    """One append-only model's rows, oldest first, as their creation."""
    label = append_model._meta.label
    rows = append_model._default_manager.select_related(user_field).order_by("created_at", "pk")
    if since is not None:
        rows = rows.filter(created_at__gte=since)
    if until is not None:
        rows = rows.filter(created_at__lt=until)
    fields = _field_names(append_model)
    for row in rows.iterator(chunk_size=2000):
        yield {
            "at": row.created_at,  # type: ignore[attr-defined]
            "model": label,
            "object_id": row.pk,
            "event": "created",
            "user": _user_label(getattr(row, user_field)),
            "reason": "",
            "changes": {name: [None, _jsonable(getattr(row, name))] for name in fields},
            "history_id": None,  # no history record: the row is the record
        }


def history_rows(
    *, since: datetime | None = None, until: datetime | None = None, model: str | None = None
) -> Iterator[dict[str, Any]]:
    """Every audited change and the creation of every append-only record, all in time order
    (ties: model, then object): who, when, and each changed field's value before and after
    (`changes: {field: [before, after]}`). Each model is read oldest first in its own query; the
    streams are merged as they are read, so memory holds one row per stream (and, for the
    diffs, each audited record's last values)."""
    streams: list[Iterator[dict[str, Any]]] = [
        _changes_of(audited, since, until) for audited in AUDITED_MODELS if not model or model == audited._meta.label
    ]
    streams += [
        _creations_of(append_model, user_field, since, until)
        for append_model, user_field, _patient_path in APPEND_ONLY
        if not model or model == append_model._meta.label
    ]
    for row in heapq.merge(*streams, key=lambda r: (r["at"], r["model"], r["object_id"])):
        yield {**row, "at": row["at"].isoformat()}


ACCESS_COLUMNS = ("at", "patient", "user", "role", "method", "view", "path", "status_code")


def access_rows(
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    patient_id: int | None = None,
    user_id: int | None = None,
) -> Iterator[dict[str, Any]]:
    qs = PatientAccessLog.objects.select_related("user").order_by("created_at", "id")
    if since is not None:
        qs = qs.filter(created_at__gte=since)
    if until is not None:
        qs = qs.filter(created_at__lt=until)
    if patient_id is not None:
        qs = qs.filter(patient_id=patient_id)
    if user_id is not None:
        qs = qs.filter(user_id=user_id)
    for row in qs.iterator(chunk_size=2000):
        yield {
            "at": row.created_at.isoformat(),
            "patient": row.patient_id,
            "user": row.user.username,
            "role": row.role,
            "method": row.method,
            "view": row.view,
            "path": row.path,
            "status_code": row.status_code,
        }
