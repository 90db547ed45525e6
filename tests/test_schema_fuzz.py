"""Schema fuzzer (issue 8): schemathesis generates requests for every operation of the
OpenAPI schema (valid ones, and invalid ones for the request bodies and parameters) and sends
them to the WSGI application in-process, signed in as a clinician with a token (and again as
an admin, for the admin-only operations). No answer may be a server error (5xx).

Bounded and deterministic (`derandomize`): FUZZ_EXAMPLES examples per operation and mode
(default 6; no invalid examples for operations without inputs): about 1,500 requests, some
90 s of CPU for the whole schema on the 2-core machine. Half of the
examples name objects that exist (a patient, a session, an alert, ...) so that the requests
reach past the 404 into the views' logic.
"""

import os
import time
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import schemathesis
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import override_settings
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode

from infusions.ledger import services as ledger
from monitoring.vitals.services import vitals_record
from tests.factories import AppointmentFactory, ChairFactory, CourseFactory, SessionFactory, vials_received

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(900)]

CALL_SECONDS = [0.0]
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "6"))
ALARMING = {"systolic": 185, "diastolic": 112, "heart_rate": 120, "spo2": 90, "respiratory_rate": 26}


@pytest.fixture
def wsgi_app():
    """Django's WSGI application, without closing the test's database connection at the end
    of each request (what Django's own test client does too)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield WSGIHandler()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def known(users, own_patient, other_patient, protocol, site):
    """Objects the fuzzer's path parameters can name, keyed by the path's first segment."""
    course = CourseFactory(patient=other_patient, protocol=protocol, created_by=users["clinician"])
    session = SessionFactory(course=course, status="running", started_at=timezone.now() - timedelta(minutes=15))
    planned = SessionFactory(course=course)
    recorded = vitals_record(actor=users["nurse"], session=session, rows=[dict(ALARMING)])[0]
    appointment = AppointmentFactory(patient=other_patient, chair=ChairFactory(site=site), site=site)
    container = vials_received(users["admin"], site)[0]
    entry = ledger.ledger_open(actor=users["nurse"], session=session, container=container, amount_mg=Decimal("50"))
    ids: dict[str, Any] = {
        "patients": other_patient.pk,
        "sessions": session.pk,
        "courses": course.pk,
        "alerts": recorded.alerts[0].pk,
        "vitals": recorded.vital.pk,
        "appointments": appointment.pk,
        "protocols": protocol.pk,
        "sites": site.pk,
        "chairs": appointment.chair_id,
        "ledger/containers": container.pk,
        "ledger/entries": entry.pk,
        "ledger/sessions": session.pk,
        "Patient": other_patient.pk,
        "Appointment": appointment.pk,
        "Observation": f"vs-{recorded.vital.pk}-bp",
        "MedicationAdministration": f"session-{session.pk}",
    }
    ids["planned_session"] = planned.pk
    return ids


def _known_id(path: str, name: str, ids: dict[str, Any]) -> Any:
    if name == "session_pk":
        return ids["sessions"]
    if name == "patient_pk":
        return ids["patients"]
    rest = path.removeprefix("/api/v1/").removeprefix("/fhir/")
    for key in sorted(ids, key=len, reverse=True):
        if rest.startswith(key + "/"):
            return ids[key]
    return None


def _with_known_ids(path: str, ids: dict[str, Any]) -> Callable[[Any], Any]:
    def apply(case: Any) -> Any:
        for name in list(case.path_parameters or {}):
            value = _known_id(path, name, ids)
            if value is not None:
                case.path_parameters[name] = value
        return case

    return apply


def _fuzz(schema: Any, headers: dict[str, str], ids: dict[str, Any], only: set[str] | None = None) -> tuple[list, int]:
    failures: list[str] = []
    sent = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if only is not None and operation.label not in only:
            continue
        has_input = any(len(part) for part in (operation.path_parameters, operation.query, operation.body))
        modes = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE) if has_input else (GenerationMode.POSITIVE,)
        for mode in modes:
            try:
                strategy = operation.as_strategy(generation_mode=mode)
            except Exception:  # noqa: S112 - an operation with no invalid input to generate
                continue
            if "{" in operation.path:
                strategy = st.one_of(strategy, strategy.map(_with_known_ids(operation.path, ids)))

            @hypothesis_settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                derandomize=True,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=strategy)
            def run(case: Any) -> None:
                nonlocal sent
                started = time.perf_counter()
                response = case.call(headers=headers)
                CALL_SECONDS[0] += time.perf_counter() - started
                sent += 1
                if response.status_code >= 500:
                    failures.append(
                        f"{response.status_code} {case.operation.label}: {case.as_curl_command()}\n"
                        f"{response.text[:300]}"
                    )

            try:
                run()
            except Unsatisfiable:  # e.g. no invalid value exists for this operation's inputs
                continue
    return failures, sent


def _rest_framework(**changes: Any) -> dict[str, Any]:
    conf = dict(settings.REST_FRAMEWORK)
    conf["DEFAULT_THROTTLE_RATES"] = {"anon": "100000/min", "user": "100000/min", "sign_in": "100000/min"}
    conf.update(changes)
    return conf


def test_the_whole_schema_answers_no_server_error(wsgi_app, users, known):
    with override_settings(REST_FRAMEWORK=_rest_framework()):
        schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", wsgi_app)
        clinician = Token.objects.create(user=users["clinician"]).key
        failures, sent = _fuzz(schema, {"Authorization": f"Token {clinician}"}, known)
        # The admin-only operations (receipts, ledger and audit exports) refuse a clinician at once: fuzz
        # them again as an admin so the requests reach the views.
        admin = Token.objects.create(user=users["admin"]).key
        admin_only = {
            op.ok().label
            for op in schema.get_all_operations()
            if op.ok().path.startswith("/api/v1/ledger/") and op.ok().method.upper() != "GET"
        } | {"GET /api/v1/ledger/export/", "GET /api/v1/audit/history/", "GET /api/v1/audit/access/"}
        more, sent_admin = _fuzz(schema, {"Authorization": f"Token {admin}"}, known, only=admin_only)
    operations = sum(1 for _ in schema.get_all_operations())
    print(
        f"schema fuzz: {operations} operations, {sent + sent_admin} requests ({CALL_SECONDS[0]:.0f} s in the app), "
        f"{len(failures + more)} server errors"
    )
    assert operations > 50
    assert not failures + more, "\n\n".join(failures + more)
