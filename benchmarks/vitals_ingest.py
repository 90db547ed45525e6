"""Vitals ingest through the API (one set per request; batches of 100) side by side with raw
psycopg into the same table (single-row INSERT round trips; COPY).

Targets (issue 9): batch ingest >= 50 % of the COPY rate; one set per request >= 20 % of the
raw single-row rate. The headline figures are rows per second from one client on loopback,
as the raw figures are from one connection. The same again with CLIENTS clients at once (a
clinic's tablets and monitors posting together) against as many raw connections, because
that is what the web processes are sized by (docs/PERFORMANCE.md).

The sets go to the running sessions of one 20-chair clinic in turn, as at a real clinic,
rather than thousands of sets into one session.
"""

import http.client
import json
import os
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from urllib.parse import urlparse

from _common import django_setup, figure

django_setup()

import psycopg  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

from clinic.core.roles import Role  # noqa: E402
from clinic.models import Site, User  # noqa: E402
from infusions.protocols.models import Protocol  # noqa: E402
from infusions.sessions.models import InfusionSession, SessionStatus, TreatmentCourse  # noqa: E402
from patients.models import BodyMeasurement, Patient  # noqa: E402

SINGLE = int(os.environ.get("BENCH_VITALS_SINGLE", "1000"))
BATCHES = int(os.environ.get("BENCH_VITALS_BATCHES", "40"))
RAW_SINGLE = int(os.environ.get("BENCH_VITALS_RAW_SINGLE", "3000"))
COPY_ROWS = int(os.environ.get("BENCH_VITALS_COPY", "50000"))
CLIENTS = int(os.environ.get("BENCH_VITALS_CLIENTS", "4"))
CHAIRS = 20
ROW = {"systolic": 124, "diastolic": 79, "heart_rate": 71, "spo2": 98, "respiratory_rate": 14, "temperature_c": 36.7}


def fixtures() -> tuple[list[InfusionSession], User, str]:
    site, _ = Site.objects.get_or_create(code="bench", defaults={"name": "Bench"})
    nurse, _ = User.objects.get_or_create(username="bench-nurse", defaults={"role": Role.NURSE})
    token, _ = Token.objects.get_or_create(user=nurse)
    protocol = Protocol.objects.get(code="ket-iv-dep")
    sessions = []
    for chair in range(CHAIRS):
        patient, _ = Patient.objects.get_or_create(
            mrn=f"BENCH-{chair + 1}",
            defaults={
                "given_name": "B",
                "family_name": "Bench",
                "birth_date": "1980-01-01",
                "sex": "other",
                "site": site,
            },
        )
        BodyMeasurement.objects.create(patient=patient, weight_kg=80, measured_at=datetime.now(UTC), recorded_by=nurse)
        course = TreatmentCourse.objects.create(patient=patient, protocol=protocol, indication="trd", created_by=nurse)
        sessions.append(
            InfusionSession.objects.create(
                course=course,
                status=SessionStatus.RUNNING,
                weight_kg=80,
                dose="0.5",
                dose_unit="mg/kg",
                total_dose_mg=40,
                hard_max_at_creation=1,
                created_by=nurse,
            )
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # as autovacuum would have, after the benchmarks before this one
    return sessions, nurse, token.key


def _post_all(token: str, requests: list[tuple[str, str]]) -> None:
    url = urlparse(os.environ["BENCH_BASE_URL"])
    conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port)
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json", "Connection": "keep-alive"}
    for path, body in requests:
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
        if response.status != 201:
            raise SystemExit(f"API answered {response.status}: {data[:300]!r}")
    conn.close()


def _seconds_in_parallel(jobs: list[Callable[[], None]]) -> float:
    """Wall-clock seconds to run the jobs at the same time, one thread each."""
    threads = [threading.Thread(target=job) for job in jobs]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - start


def api_rate(sessions: list[InfusionSession], token: str, payload: object, count: int, clients: int = 1) -> float:
    """Rows per second for `count` requests of `payload`, spread over the sessions in turn and
    shared between `clients` connections posting at the same time."""
    body = json.dumps(payload)
    rows_each = len(payload) if isinstance(payload, list) else 1
    requests = [(f"/api/v1/sessions/{sessions[i % len(sessions)].id}/vitals/", body) for i in range(count)]
    shares = [requests[c::clients] for c in range(clients)]
    return count * rows_each / _seconds_in_parallel([partial(_post_all, token, share) for share in shares])


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


def raw_single_rate(dsn: str, sessions: list[InfusionSession], nurse: User, clients: int = 1) -> float:
    """Single-row INSERTs, each its own transaction (autocommit), from `clients` connections."""
    sql = f"INSERT INTO monitoring_vitalsign ({COLUMNS}) VALUES ({', '.join(['%s'] * 18)})"  # noqa: S608
    share = RAW_SINGLE // clients

    def insert(offset: int) -> None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            for i in range(offset, offset + share):
                conn.execute(sql, raw_values(sessions[i % len(sessions)], nurse, i))

    return share * clients / _seconds_in_parallel([partial(insert, c * share) for c in range(clients)])


def copy_rate(dsn: str, sessions: list[InfusionSession], nurse: User) -> float:
    rows = [raw_values(sessions[i % len(sessions)], nurse, i) for i in range(COPY_ROWS)]
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
    sessions, nurse, token = fixtures()
    api_rate(sessions, token, ROW, 40)  # warm the workers' connections
    single = api_rate(sessions, token, ROW, SINGLE)
    batch = api_rate(sessions, token, [ROW] * 100, BATCHES)
    single_n = api_rate(sessions, token, ROW, SINGLE, clients=CLIENTS)
    batch_n = api_rate(sessions, token, [ROW] * 100, BATCHES, clients=CLIENTS)
    raw_single = raw_single_rate(dsn(), sessions, nurse)
    raw_single_n = raw_single_rate(dsn(), sessions, nurse, clients=CLIENTS)
    copy = copy_rate(dsn(), sessions, nurse)
    print(
        f"# {SINGLE:,} sets one per request, {BATCHES} batches of 100, into {CHAIRS} running sessions in turn; "
        f"{RAW_SINGLE:,} raw rows"
    )
    figure("vitals: raw psycopg single-row INSERT (1 connection)", raw_single, "rows/s")
    figure(f"vitals: raw psycopg single-row INSERT ({CLIENTS} connections)", raw_single_n, "rows/s")
    figure("vitals: raw psycopg COPY (1 connection)", copy, "rows/s")
    figure(
        "vitals: API one set per request (1 client)",
        single,
        "rows/s",
        target=">= 20 % of raw INSERT",
        ratio=single / raw_single,
    )
    figure(f"vitals: API one set per request ({CLIENTS} clients)", single_n, "rows/s", ratio=single_n / raw_single_n)
    figure("vitals: API batches of 100 (1 client)", batch, "rows/s", target=">= 50 % of COPY", ratio=batch / copy)
    figure(f"vitals: API batches of 100 ({CLIENTS} clients)", batch_n, "rows/s", ratio=batch_n / copy)
    print(
        f"# per request: one set {1000 / single:.1f} ms, a batch of 100 {100_000 / batch:.1f} ms (1 client); "
        f"raw single-row INSERT {1000 / raw_single:.2f} ms",
        flush=True,
    )


if __name__ == "__main__":
    main()
