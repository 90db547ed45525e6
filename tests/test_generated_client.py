"""A typed client generated from the OpenAPI schema with openapi-python-client (issue 17) runs
the clinic's first journey against a live server: sign-in -> create patient -> weight ->
screening -> course -> session -> post vitals (one set, then a batch) -> list alerts. Every
generated module imports (request bodies are JSON only, so none is declared three ways), and
the schema passes openapi-spec-validator.

Clinical numbers: CLINICAL.md §1 (ket-iv-dep 0.5 mg/kg; 82.4 kg -> 41.2 mg) and §3 (before
start, systolic > 140 raises `predose_bp`; systolic >= 180 raises `bp_high`; SpO2 < 92 `spo2_low`,
and SpO2 90 scores NEWS2 3 on its own: `news2`)."""

import datetime
import importlib
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from openapi_spec_validator import validate

from infusions.protocols.models import Protocol
from patients.screening import ANSWER_KEYS

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "pw-for-tests-1"  # tests.factories.UserFactory


@pytest.fixture(scope="module")
def generated(live_server, tmp_path_factory):
    """The client package generated from the served schema (once for this module), importable
    as `clinic_client`."""
    tmp_path = tmp_path_factory.mktemp("generated")
    schema = requests.get(f"{live_server.url}/api/schema/?format=json", timeout=60).json()
    validate(schema)  # openapi-spec-validator: raises on any error
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(schema))
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"post_hooks": [], "project_name_override": "clinic_client"}))
    generator = Path(sys.executable).parent / "openapi-python-client"
    done = subprocess.run(  # noqa: S603 - our own tool, fixed arguments
        [
            str(generator),
            "generate",
            "--path",
            str(path),
            "--config",
            str(config),
            "--meta",
            "none",
            "--output-path",
            str(tmp_path / "clinic_client"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Warning" not in done.stdout + done.stderr, done.stdout + done.stderr
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module("clinic_client")
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m == "clinic_client" or m.startswith("clinic_client.")]:
            del sys.modules[name]


def _module(package, name):
    return importlib.import_module(f"clinic_client.{name}")


def test_every_generated_module_imports(generated):
    names = [m.name for m in pkgutil.walk_packages(generated.__path__, "clinic_client.")]
    failures = {}
    for name in names:
        try:
            importlib.import_module(name)
        except Exception as error:  # noqa: BLE001 - collect them all
            failures[name] = repr(error)
    assert len(names) > 100
    assert failures == {}


def test_the_generated_client_runs_the_first_journey(generated, live_server, users, site):
    api = lambda name: _module(generated, f"api.api.{name}")  # noqa: E731
    models = _module(generated, "models")
    anonymous = generated.Client(base_url=live_server.url, raise_on_unexpected_status=True)

    token = api("api_v1_auth_token_create").sync(
        client=anonymous, body=models.AuthTokenRequest(username="clinician", password=PASSWORD)
    )
    assert isinstance(token, models.Token)
    client = generated.AuthenticatedClient(base_url=live_server.url, token=token.token, prefix="Token")

    patient = api("api_v1_patients_create").sync(
        client=client,
        body=models.PatientCreateRequest(
            mrn="GEN-1",
            given_name="Gen",
            family_name="Client",
            birth_date=datetime.date(1980, 5, 17),
            sex=models.SexEnum.FEMALE,
            site=site.pk,
        ),
    )
    assert isinstance(patient, models.Patient)
    assert patient.mrn == "GEN-1"

    weight = api("api_v1_patients_measurements_create").sync(
        patient.id, client=client, body=models.MeasurementCreateRequest(weight_kg=82.4)
    )
    assert isinstance(weight, models.Measurement)
    assert weight.weight_kg == 82.4

    answers = dict.fromkeys(ANSWER_KEYS, False)  # DESIGN.md: every contraindication answered
    screening = api("api_v1_patients_screenings_create").sync(
        patient.id,
        client=client,
        body=models.ScreeningCreateRequest(answers=models.ScreeningAnswersRequest(**answers, medications=[])),
    )
    assert isinstance(screening, models.Screening)
    assert screening.outcome == models.OutcomeEnum.CLEAR
    assert screening.reasons == []

    protocol = Protocol.objects.get(code="ket-iv-dep")
    course = api("api_v1_courses_create").sync(
        client=client,
        body=models.CourseCreateRequest(patient=patient.id, protocol=protocol.pk, indication=models.IndicationEnum.TRD),
    )
    assert isinstance(course, models.Course)

    session = api("api_v1_sessions_create").sync(
        client=client, body=models.SessionCreateRequest(course=course.id, dose=0.5)
    )
    assert isinstance(session, models.Session)
    assert (session.total_dose_mg, session.rate_mg_per_h, session.approval_reasons) == (41.2, 61.8, [])

    post_vitals = api("api_v1_sessions_vitals_create")
    one = post_vitals.sync(
        session.id,
        client=client,
        body=models.VitalInputRequest(systolic=150, diastolic=85, heart_rate=80, spo2=97, respiratory_rate=14),
    )
    assert isinstance(one, models.Vital)  # one object in, one out
    assert [a.rule for a in one.alerts] == ["predose_bp"]
    assert (one.news2.score, one.news2.risk) == (0, "low")
    batch = post_vitals.sync(
        session.id,
        client=client,
        body=[
            models.VitalInputRequest(systolic=185, diastolic=95, heart_rate=80, spo2=97, respiratory_rate=14),
            models.VitalInputRequest(systolic=130, diastolic=80, heart_rate=80, spo2=90, respiratory_rate=14),
        ],
    )
    assert isinstance(batch, list)
    assert all(isinstance(v, models.Vital) for v in batch)
    assert len(batch) == 2

    alerts_list = api("api_v1_alerts_list")
    detailed = alerts_list.sync_detailed(client=client, session=session.id)
    alerts = detailed.parsed
    assert all(isinstance(a, models.Alert) for a in alerts)
    assert sorted(a.rule for a in alerts) == ["bp_high", "news2", "predose_bp", "spo2_low"]
    assert {str(a.status) for a in alerts} == {"open"}
    assert detailed.headers["X-Total-Count"] == "4"  # the declared pagination header
    first_page = alerts_list.sync_detailed(client=client, session=session.id, limit=1)
    assert len(first_page.parsed) == 1
    assert 'rel="next"' in first_page.headers["Link"]
