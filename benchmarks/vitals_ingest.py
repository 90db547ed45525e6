"""Vitals ingest through the API (one set per request; batches of 100) side by side with raw
psycopg into the same table (single-row INSERT round trips; COPY).

Targets (issue 9): batch ingest >= 50 % of the COPY rate; one set per request >= 20 % of the
raw single-row rate. Every figure is rows per second from one client on loopback.
"""

import http.client
import json
import os
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlparse

from _common import django_setup, figure

django_setup()

import psycopg  # noqa: E402
from django.conf import settings  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

from clinic.models import Role, Site, User  # noqa: E402
from infusions.models import InfusionSession, Protocol, SessionStatus, TreatmentCourse  # noqa: E402
from patients.models import BodyMeasurement, Patient  # noqa: E402

SINGLE = int(os.environ.get("BENCH_VITALS_SINGLE", "1000"))
BATCHES = int(os.environ.get("BENCH_VITALS_BATCHES", "40"))
RAW_SINGLE = int(os.environ.get("BENCH_VITALS_RAW_SINGLE", "3000"))
COPY_ROWS = int(os.environ.get("BENCH_VITALS_COPY", "50000"))
ROW = {"systolic": 124, "diastolic": 79, "heart_rate": 71, "spo2": 98, "respiratory_rate": 14, "temperature_c": 36.7}


def fixtures() -> tuple[InfusionSession, User, str]:
    site, _ = Site.objects.get_or_create(code="bench", defaults={"name": "Bench"})
    nurse, _ = User.objects.get_or_create(username="bench-nurse", defaults={"role": Role.NURSE})
    token, _ = Token.objects.get_or_create(user=nurse)
    patient, _ = Patient.objects.get_or_create(
        mrn="BENCH-1",
        defaults={"given_name": "B", "family_name": "Bench", "birth_date": "1980-01-01", "sex": "other", "site": site},
    )
    BodyMeasurement.objects.create(patient=patient, weight_kg=80, measured_at=datetime.now(UTC), recorded_by=nurse)
    course = TreatmentCourse.objects.create(
        patient=patient, protocol=Protocol.objects.get(code="ket-iv-dep"), indication="trd", created_by=nurse
    )
    session = InfusionSession.objects.create(
        course=course,
        status=SessionStatus.RUNNING,
        weight_kg=80,
        dose="0.5",
        dose_unit="mg/kg",
        total_dose_mg=40,
        hard_max_at_creation=1,
        created_by=nurse,
    )
    return session, nurse, token.key


def api_rate(session: InfusionSession, token: str, payloads: list[object]) -> float:
    url = urlparse(os.environ["BENCH_BASE_URL"])
    conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port)
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json", "Connection": "keep-alive"}
    path = f"/api/v1/sessions/{session.id}/vitals/"
    bodies = [json.dumps(p) for p in payloads]
    rows = 0
    start = time.perf_counter()
    for body in bodies:
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
        if response.status != 201:
            raise SystemExit(f"API answered {response.status}: {data[:300]!r}")
        rows += len(payloads[0]) if isinstance(payloads[0], list) else 1  # type: ignore[arg-type]
    return rows / (time.perf_counter() - start)


COLUMNS = (
    "session_id, recorded_at, recorded_by_id, source, phase, systolic, diastolic, heart_rate, spo2, "
    "respiratory_rate, temperature_c, consciousness, on_oxygen, moaas, news2_score, news2_risk, "
    "correction_reason, created_at"
)


def raw_values(session: InfusionSession, nurse: User, i: int) -> tuple:
    now = datetime.now(UTC)
    return (
        session.id,
        now - timedelta(seconds=i),
        nurse.id,
        "device",
        "running",
        124,
        79,
        71,
        98,
        14,
        36.7,
        "A",
        False,
        None,
        0,
        "low",
        "",
        now,
    )


def raw_single_rate(dsn: str, session: InfusionSession, nurse: User) -> float:
    sql = f"INSERT INTO monitoring_vitalsign ({COLUMNS}) VALUES ({', '.join(['%s'] * 18)})"  # noqa: S608
    with psycopg.connect(dsn, autocommit=True) as conn:
        start = time.perf_counter()
        for i in range(RAW_SINGLE):
            conn.execute(sql, raw_values(session, nurse, i))
        return RAW_SINGLE / (time.perf_counter() - start)


def copy_rate(dsn: str, session: InfusionSession, nurse: User) -> float:
    rows = [raw_values(session, nurse, i) for i in range(COPY_ROWS)]
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        start = time.perf_counter()
        with cur.copy(f"COPY monitoring_vitalsign ({COLUMNS}) FROM STDIN") as copy:  # noqa: S608
            for row in rows:
                copy.write_row(row)
        conn.commit()
        return COPY_ROWS / (time.perf_counter() - start)


def dsn() -> str:
    db = settings.DATABASES["default"]
    return f"host={db['HOST']} port={db['PORT']} dbname={db['NAME']} user={db['USER']} password={db['PASSWORD']}"


def main() -> None:
    session, nurse, token = fixtures()
    api_rate(session, token, [ROW] * 20)  # warm the workers' connections
    single = api_rate(session, token, [ROW] * SINGLE)
    batch = api_rate(session, token, [[ROW] * 100] * BATCHES)
    raw_single = raw_single_rate(dsn(), session, nurse)
    copy = copy_rate(dsn(), session, nurse)
    figure("vitals: raw psycopg single-row INSERT", raw_single, "rows/s")
    figure("vitals: raw psycopg COPY", copy, "rows/s")
    figure(
        "vitals: API one set per request", single, "rows/s", target=">= 20 % of raw INSERT", ratio=single / raw_single
    )
    figure("vitals: API batches of 100", batch, "rows/s", target=">= 50 % of COPY", ratio=batch / copy)


if __name__ == "__main__":
    main()
