"""Security hardening (issue 8, DESIGN.md non-negotiables): production settings pass
`check --deploy`, Argon2 passwords, throttled sign-in and API, expiring sessions and tokens,
revocable tokens, and no patient data in logs or Celery messages."""

import importlib
import inspect
import json
import logging
import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.core import mail
from django.core.cache import cache
from django.db import transaction
from django.test import override_settings
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from clinic.api import TokenApi
from patients.models import Patient
from tests.factories import clear_answers

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.django_db


def _production_env() -> dict[str, str]:
    # The process environment a deployment has: not the test run's async escape hatch.
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        DJANGO_SECRET_KEY="x7Qp-" + "k2Vw9zLr4TgH8mYc3NbF6sJd1QaXe5UoPiR0lKjMnBvCxZ-deploy-check",
        DJANGO_ALLOWED_HOSTS="clinic.example.org",
    )
    return env


def _manage(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own manage.py with fixed arguments
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=_production_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


# --- production settings --------------------------------------------------------------


def test_production_settings_pass_check_deploy_with_no_warning():
    result = _manage("check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout + result.stderr


def test_production_settings_refuse_to_start_without_a_secret_key():
    env = _production_env()
    del env["DJANGO_SECRET_KEY"]
    result = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_production_hashes_passwords_with_argon2():
    code = "from django.conf import settings; print(settings.PASSWORD_HASHERS[0])"
    result = _manage("shell", "-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "django.contrib.auth.hashers.Argon2PasswordHasher"


def test_base_settings_hash_new_passwords_with_argon2():
    base = importlib.import_module("config.settings.base")
    assert base.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    with override_settings(PASSWORD_HASHERS=base.PASSWORD_HASHERS):
        encoded = make_password("correct horse battery staple")
        assert encoded.startswith("argon2$argon2id$")
        assert check_password("correct horse battery staple", encoded)


def test_env_example_lists_every_setting_variable():
    names: set[str] = set()
    for path in (ROOT / "config" / "settings").glob("*.py"):
        names |= set(re.findall(r'env(?:\.[a-z]+)?\(\s*"([A-Z][A-Z0-9_]*)"', path.read_text()))
    listed = set(re.findall(r"^([A-Z][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), re.MULTILINE))
    assert names, "no env() calls found"
    # Set by the test runner itself (pytest-xdist), never by an operator.
    runner = {"PYTEST_XDIST_WORKER"}
    assert names - listed - runner == set()


# --- throttles ---------------------------------------------------------------------------


def _rates(**rates: str) -> dict[str, Any]:
    conf = dict(settings.REST_FRAMEWORK)
    conf["DEFAULT_THROTTLE_RATES"] = {**conf["DEFAULT_THROTTLE_RATES"], **rates}
    return conf


def test_throttle_rates_come_from_the_environment_and_count_in_redis():
    conf = settings.REST_FRAMEWORK
    assert set(conf["DEFAULT_THROTTLE_RATES"]) >= {"anon", "user", "sign_in"}
    assert TokenApi.throttle_scope == "sign_in"
    assert settings.CACHES["default"]["BACKEND"] == "django_redis.cache.RedisCache"


def test_sign_in_is_throttled_per_client(users):
    client = APIClient()
    with override_settings(REST_FRAMEWORK=_rates(sign_in="3/min")):
        codes = [
            client.post("/api/v1/auth/token/", {"username": "nurse", "password": "wrong"}).status_code for _ in range(4)
        ]
        assert codes == [400, 400, 400, 429]
        # Even the right password is refused while throttled: no brute-force window.
        right = client.post("/api/v1/auth/token/", {"username": "nurse", "password": "pw-for-tests-1"})
        assert right.status_code == 429
        assert "detail" in right.json()
    # The counter lives in the shared cache (Redis): clearing it lets the client in again.
    cache.clear()
    with override_settings(REST_FRAMEWORK=_rates(sign_in="3/min")):
        ok = client.post("/api/v1/auth/token/", {"username": "nurse", "password": "pw-for-tests-1"})
        assert ok.status_code == 200


def test_api_is_throttled_per_user(users, api):
    nurse, clinician = api(users["nurse"]), api(users["clinician"])
    with override_settings(REST_FRAMEWORK=_rates(user="5/min")):
        codes = [nurse.get("/api/v1/sites/").status_code for _ in range(6)]
        assert codes == [200] * 5 + [429]
        assert clinician.get("/api/v1/sites/").status_code == 200  # counted per user
        assert cache.get(f"throttle_user_{users['nurse'].pk}") is not None


def test_anonymous_requests_are_throttled(users):
    """Open endpoints (sign-in) count anonymous clients too; closed ones answer 401 first."""
    client = APIClient()
    with override_settings(REST_FRAMEWORK=_rates(anon="2/min", sign_in="100/min")):
        codes = [client.post("/api/v1/auth/token/", {"username": "x", "password": "y"}).status_code for _ in range(3)]
    assert codes == [400, 400, 429]


# --- sessions and tokens -------------------------------------------------------------------


def test_browser_sessions_expire(users):
    client = APIClient()
    client.force_login(users["nurse"])
    assert client.get("/api/v1/sites/").status_code == 200
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE is True
    with time_machine.travel(timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE + 1)):
        assert client.get("/api/v1/sites/").status_code in (401, 403)


def test_tokens_can_be_revoked(users):
    client = APIClient()
    r = client.post("/api/v1/auth/token/", {"username": "nurse", "password": "pw-for-tests-1"})
    assert r.status_code == 200
    key = r.json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/v1/sites/").status_code == 200
    assert client.delete("/api/v1/auth/token/").status_code == 204
    assert not Token.objects.filter(key=key).exists()
    assert client.get("/api/v1/sites/").status_code == 401
    # Signing in again gives a fresh token.
    again = APIClient().post("/api/v1/auth/token/", {"username": "nurse", "password": "pw-for-tests-1"})
    assert again.json()["token"] != key


def test_revoking_needs_a_signed_in_user():
    assert APIClient().delete("/api/v1/auth/token/").status_code == 401


def test_tokens_expire_and_signing_in_again_replaces_them(users):
    token = Token.objects.create(user=users["nurse"])
    Token.objects.filter(pk=token.pk).update(
        created=timezone.now() - timedelta(hours=settings.API_TOKEN_TTL_HOURS, seconds=1)
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    r = client.get("/api/v1/sites/")
    assert r.status_code == 401
    assert "expired" in r.json()["detail"]
    r = APIClient().post("/api/v1/auth/token/", {"username": "nurse", "password": "pw-for-tests-1"})
    fresh = r.json()["token"]
    assert fresh != token.key
    client.credentials(HTTP_AUTHORIZATION=f"Token {fresh}")
    assert client.get("/api/v1/sites/").status_code == 200


# --- no patient data in logs or Celery messages ----------------------------------------------

GIVEN, FAMILY, MRN, BIRTH = "Zebediah", "Quillfeather", "PHI-MRN-7731", "1961-04-23"
PORTAL_PASSWORD = "Portal-Secret-9a7d!"  # noqa: S105
SECRETS = (GIVEN, FAMILY, MRN, BIRTH, "1961, 4, 23", "23/04/1961", PORTAL_PASSWORD)


@pytest.fixture
def celery_messages(monkeypatch) -> list[dict[str, Any]]:
    """Every Celery message the code publishes, captured instead of sent to the broker."""
    from config.celery import app

    sent: list[dict[str, Any]] = []

    def capture(producer: Any, name: str, message: Any, **options: Any) -> None:
        headers, properties, body, _ = message
        sent.append({"name": name, "headers": headers, "properties": properties, "body": body})

    monkeypatch.setattr(app.amqp, "send_task_message", capture)
    return sent


def _text(value: Any) -> str:
    return json.dumps(value, default=str, ensure_ascii=False)


def _full_flow(api, users, protocol) -> None:
    """Register, search, weigh, screen, portal account, course, dose, session, vitals,
    correction, alerts, sign-in as the patient; plus refusals (400, 404, 409)."""
    front, clinician, nurse = api(users["frontdesk"]), api(users["clinician"]), api(users["nurse"])
    person = {"mrn": MRN, "given_name": GIVEN, "family_name": FAMILY, "birth_date": BIRTH, "sex": "male"}
    r = front.post("/api/v1/patients/", person, format="json")
    assert r.status_code == 201, r.content
    pid = r.json()["id"]
    assert front.post("/api/v1/patients/", person, format="json").status_code == 400  # duplicate MRN
    assert front.get(f"/api/v1/patients/?search={FAMILY}").status_code == 200
    assert front.patch(f"/api/v1/patients/{pid}/", {"phone": "+44 7700 900123"}, format="json").status_code == 200
    assert front.patch(f"/api/v1/patients/{pid}/", {"birth_date": "not-a-date"}, format="json").status_code == 400
    r = front.post(
        f"/api/v1/patients/{pid}/portal-account/", {"username": "zq", "password": PORTAL_PASSWORD}, format="json"
    )
    assert r.status_code == 201, r.content
    assert nurse.post(f"/api/v1/patients/{pid}/measurements/", {"weight_kg": 82.4}, format="json").status_code == 201
    r = nurse.post(f"/api/v1/patients/{pid}/screenings/", {"answers": clear_answers()}, format="json")
    assert r.status_code == 201, r.content
    r = clinician.post("/api/v1/courses/", {"patient": pid, "protocol": protocol.id, "indication": "trd"})
    assert r.status_code == 201, r.content
    course = r.json()["id"]
    assert nurse.get(f"/api/v1/sessions/dose-preview/?course={course}&dose=0.5").status_code == 200
    assert nurse.post("/api/v1/sessions/", {"course": course, "dose": 5}, format="json").status_code == 409
    r = nurse.post("/api/v1/sessions/", {"course": course, "dose": 0.5}, format="json")
    assert r.status_code == 201, r.content
    session = r.json()["id"]
    vitals = {"systolic": 182, "diastolic": 95, "heart_rate": 80, "spo2": 90, "respiratory_rate": 16}
    r = nurse.post(f"/api/v1/sessions/{session}/vitals/", vitals, format="json")
    assert r.status_code == 201, r.content
    vital = r.json()["id"]
    r = nurse.post(f"/api/v1/vitals/{vital}/correct/", {"spo2": 95, "correction_reason": "probe"}, format="json")
    assert r.status_code == 201, r.content
    assert nurse.get(f"/api/v1/alerts/?session={session}").status_code == 200
    assert nurse.get(f"/api/v1/patients/{pid}/").status_code == 200
    assert nurse.get("/api/v1/patients/999999/").status_code == 404
    r = APIClient().post("/api/v1/auth/token/", {"username": "zq", "password": PORTAL_PASSWORD})
    assert r.status_code == 200
    assert APIClient().post("/api/v1/auth/token/", {"username": "zq", "password": "wrong"}).status_code == 400
    me = APIClient()
    me.credentials(HTTP_AUTHORIZATION=f"Token {r.json()['token']}")
    assert me.get(f"/api/v1/patients/{pid}/").status_code == 200


def test_no_patient_data_in_logs_or_celery_messages(
    api, users, protocol, caplog, celery_messages, django_capture_on_commit_callbacks
):
    caplog.set_level(logging.DEBUG)
    for name in ("django", "django.request", "django.security", "celery", "clinic", "patients"):
        caplog.set_level(logging.DEBUG, logger=name)
    with django_capture_on_commit_callbacks(execute=True):
        _full_flow(api, users, protocol)
        users["nurse"].email = "nurse@clinic.test"
        users["nurse"].save()
        _dispatch_tick_for(Patient.objects.get(mrn=MRN))

    assert caplog.records, "the flow logged nothing at all: the capture is not working"
    # The capture saw the dispatch: the tick's delivery task and the outbox's send task, with
    # their ids, and the e-mail the outbox sent (issue 21: a check that captured nothing
    # proves nothing).
    names = [m["name"] for m in celery_messages]
    assert {"monitoring.followups_deliver", "monitoring.outbox_send"} <= set(names), names
    assert all(m["body"][0] and m["body"][0][0] for m in celery_messages), celery_messages  # ids were sent
    assert len(mail.outbox) == 1
    sent = _text([(m.subject, m.body, m.to, m.extra_headers) for m in mail.outbox])
    for secret in SECRETS:
        assert secret not in sent, f"{secret!r} appeared in an e-mail"
    logged = "\n".join(
        f"{r.name} {r.getMessage()} {r.exc_text or ''} {_text(getattr(r, 'request', ''))}" for r in caplog.records
    )
    for secret in SECRETS:
        assert secret not in logged, f"{secret!r} appeared in a log record"
    published = _text(celery_messages)
    for secret in SECRETS:
        assert secret not in published, f"{secret!r} appeared in a Celery message"


def _dispatch_tick_for(patient: Patient) -> None:
    """A follow-up of this patient comes due: the beat tick claims it (publishing the delivery
    task), the delivery runs as the worker would (publishing the outbox's send task), and the
    outbox sends the e-mail."""
    from monitoring.followups.dispatch import followups_claim_due, followups_deliver
    from monitoring.followups.services import followup_ensure
    from monitoring.outbox.services import outbox_due, outbox_send

    followup_ensure(
        kind="check_in_call", key="leak-check", patient=patient, due_at=timezone.now(), assignee_role="nurse"
    )
    with transaction.atomic():
        claimed = followups_claim_due()
    assert claimed.ids
    with transaction.atomic():
        followups_deliver(followup_ids=claimed.ids)
    for ids in outbox_due().values():
        outbox_send(message_ids=ids)


def _id_like(name: str, annotation: Any) -> bool:
    if name.endswith(("_id", "_ids")) or name in ("self", "pk"):
        return True
    return annotation in (int, bool, float, "int", "bool", "float", list[int], "list[int]")


def test_every_celery_task_takes_ids_only():
    """STYLE.md: tasks take ids only (no patient data in Redis). A guard for every task the
    apps register, present and future: each argument is an id, a number or a flag."""
    from config.celery import app

    app.loader.import_default_modules()
    ours = {name: task for name, task in app.tasks.items() if not name.startswith("celery.")}
    for name, task in ours.items():
        for param in inspect.signature(task.run).parameters.values():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                continue
            assert _id_like(param.name, param.annotation), f"task {name} takes {param.name}: {param.annotation}"
