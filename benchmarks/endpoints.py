"""Query counts and response times of every list, board and page at 10 and at 1,000 rows.

Query counts are measured in-process (Django test client, the same code path as the web
workers); response times through gunicorn (`BENCH_BASE_URL`), median of several requests.
The counts at both sizes must be equal (issue 9).
"""

import http.client
import math
import os
import statistics
import sys
import time
from datetime import timedelta
from urllib.parse import urlparse

from _common import ROOT, django_setup

django_setup()
sys.path.insert(0, str(ROOT))

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

from clinic.core.roles import Role  # noqa: E402
from clinic.models import Chair, Site, StaffMember, User  # noqa: E402
from infusions.protocols.models import Protocol  # noqa: E402
from infusions.sessions.models import InfusionSession, SessionStatus, TreatmentCourse  # noqa: E402
from monitoring.alerts.models import Alert  # noqa: E402
from monitoring.followups.services import followup_ensure  # noqa: E402
from monitoring.vitals.models import VitalSign  # noqa: E402
from patients.models import Assessment, Patient  # noqa: E402
from tests.factories import AppointmentFactory, MeasurementFactory, ScreeningFactory  # noqa: E402

SIZES = (10, 1000)
REPEAT = int(os.environ.get("BENCH_ENDPOINT_REPEAT", "5"))


def user(username: str, role: str) -> User:
    u, _ = User.objects.get_or_create(username=username, defaults={"role": role})
    return u


def build(n: int) -> dict:
    """A site with n of everything the lists show, around one focus patient."""
    now = timezone.now()
    site = Site.objects.create(name=f"Bench {n}", code=f"bench-{n}-{int(time.time())}", time_zone="UTC")
    # Staff of this site (pages show the site a staff member works at).
    staff = {r: user(f"bench-{r}-{site.code}", r) for r in ("clinician", "nurse", "frontdesk")}
    StaffMember.objects.bulk_create(StaffMember(user=u, site=site) for u in staff.values())
    portal = user(f"bench-patient-{site.code}", Role.PATIENT)
    protocol = Protocol.objects.get(code="ket-iv-dep")
    patients = Patient.objects.bulk_create(
        Patient(
            mrn=f"{site.code}-{i}",
            given_name="P",
            family_name=f"Bench{i:05d}",
            birth_date="1980-01-01",
            sex="other",
            site=site,
        )
        for i in range(n)
    )
    focus = patients[0]
    focus.user = portal
    focus.save(update_fields=["user"])
    MeasurementFactory(patient=focus, recorded_by=staff["nurse"])
    ScreeningFactory(patient=focus, screened_by=staff["nurse"])
    courses = TreatmentCourse.objects.bulk_create(
        TreatmentCourse(patient=p, protocol=protocol, indication="trd", created_by=staff["clinician"]) for p in patients
    )
    course = courses[0]
    sessions = InfusionSession.objects.bulk_create(
        InfusionSession(
            course=course,
            status=SessionStatus.DISCHARGED,
            weight_kg=82.4,
            dose="0.5",
            dose_unit="mg/kg",
            total_dose_mg="41.2",
            hard_max_at_creation=1,
            created_by=staff["nurse"],
        )
        for _ in range(n)
    )
    session = InfusionSession.objects.create(
        course=course,
        status=SessionStatus.RUNNING,
        weight_kg=82.4,
        dose="0.5",
        dose_unit="mg/kg",
        total_dose_mg="41.2",
        hard_max_at_creation=1,
        created_by=staff["nurse"],
        started_at=now - timedelta(minutes=30),
    )
    vitals = VitalSign.objects.bulk_create(
        VitalSign(
            session=session,
            recorded_at=now - timedelta(seconds=n - i),
            recorded_by=staff["nurse"],
            phase="running",
            systolic=120,
            diastolic=80,
            heart_rate=70,
            spo2=97,
            respiratory_rate=14,
            news2_score=0,
            news2_risk="low",
        )
        for i in range(n)
    )
    Alert.objects.bulk_create(
        Alert(
            session=session,
            vital=v,
            rule="spo2_low",
            severity="high",
            status="resolved",
            message="bench",
            raised_at=v.recorded_at,
        )
        for v in vitals
    )
    Assessment.objects.bulk_create(
        Assessment(
            patient=focus,
            instrument="PHQ9",
            items=[1] * 9,
            total=9,
            severity="mild",
            flags=[],
            administered_at=now - timedelta(days=n - i),
            recorded_by=staff["nurse"],
            source="staff",
        )
        for i in range(n)
    )
    chairs = Chair.objects.bulk_create(Chair(site=site, name=f"C{i}") for i in range(math.ceil(n / 8)))
    day = now.replace(hour=7, minute=30, second=0, microsecond=0)
    for i in range(n):
        starts = day + timedelta(hours=2 * (i // len(chairs)))
        AppointmentFactory(
            site=site,
            chair=chairs[i % len(chairs)],
            patient=patients[i],
            starts_at=starts,
            booked_by=staff["frontdesk"],
            protocol=protocol,
        )
    for i in range(n):
        followup_ensure(
            kind="check_in_call",
            key=f"bench:{site.code}:{i}",
            patient=patients[i],
            due_at=now - timedelta(minutes=i),
            assignee_role="nurse",
        )
    del sessions
    return {
        "site": site.id,
        "focus": focus.id,
        "course": course.id,
        "session": session.id,
        "portal": portal,
        "staff": staff,
    }


def endpoints(ctx: dict) -> list[tuple[str, str, str]]:
    s, p, c, x = ctx["site"], ctx["focus"], ctx["course"], ctx["session"]
    return [
        ("frontdesk", "API patients list", "/api/v1/patients/"),
        ("nurse", "API sessions of a course", f"/api/v1/sessions/?course={c}"),
        ("nurse", "API vitals of a session", f"/api/v1/sessions/{x}/vitals/"),
        ("nurse", "API alerts of a session", f"/api/v1/alerts/?session={x}"),
        ("nurse", "API nurse board (my chairs now)", f"/api/v1/board/?site={s}"),
        ("nurse", "API session detail", f"/api/v1/sessions/{x}/detail/"),
        ("frontdesk", "API appointments of the site", f"/api/v1/appointments/?site={s}"),
        ("frontdesk", "API day board (chairs x time)", f"/api/v1/appointments/board/?site={s}"),
        ("nurse", "API follow-ups inbox", "/api/v1/followups/"),
        ("clinician", "API assessments of a patient", f"/api/v1/patients/{p}/assessments/"),
        ("clinician", "API outcomes report", "/api/v1/reports/outcomes/"),
        ("clinician", "API maintenance recommendation", f"/api/v1/courses/{c}/maintenance-recommendation/"),
        ("patient", "API my appointments", "/api/v1/me/appointments/"),
        ("patient", "API my assessments", "/api/v1/me/assessments/"),
        ("clinician", "FHIR vital-signs bundle", f"/fhir/Observation?patient={p}&category=vital-signs"),
        ("nurse", "page day board", "/board/"),
        ("nurse", "page bedside session", f"/sessions/{x}/"),
        ("clinician", "page patient", f"/patients/{p}/"),
        ("frontdesk", "page patient search", "/patients/"),
        ("patient", "page portal", "/portal/"),
    ]


def actor(ctx: dict, role: str) -> User:
    return ctx["portal"] if role == "patient" else ctx["staff"][role]


def count_queries(u: User, url: str) -> tuple[int, int]:
    client = Client()
    client.force_login(u)
    client.get(url)  # warm caches (sessions, content types)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
        count = len(ctx.captured_queries)
    return count, response.status_code


def http_ms(u: User, url: str) -> float:
    token, _ = Token.objects.get_or_create(user=u)
    base = urlparse(os.environ["BENCH_BASE_URL"])
    conn = http.client.HTTPConnection(base.hostname or "127.0.0.1", base.port)
    headers = {"Authorization": f"Token {token.key}"}
    if not url.startswith(("/api/", "/fhir/")):  # pages use the session cookie
        client = Client()
        client.force_login(u)
        headers = {"Cookie": f"sessionid={client.cookies['sessionid'].value}"}
    times = []
    for _ in range(REPEAT + 1):
        start = time.perf_counter()
        conn.request("GET", url, headers=headers)
        conn.getresponse().read()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times[1:])


def main() -> None:
    results: dict[str, dict[int, tuple[int, int, float]]] = {}
    for n in SIZES:
        ctx = build(n)
        for role, name, url in endpoints(ctx):
            u = actor(ctx, role)
            queries, status = count_queries(u, url)
            results.setdefault(name, {})[n] = (queries, status, http_ms(u, url))
    print(f"{'endpoint':<40} {'q@10':>5} {'q@1000':>7} {'equal':>6} {'ms@10':>8} {'ms@1000':>8} {'ratio':>6}")
    for name, by_size in results.items():
        (q1, s1, t1), (q2, s2, t2) = by_size[SIZES[0]], by_size[SIZES[1]]
        note = "" if s1 == s2 == 200 else f"  HTTP {s1}/{s2}"
        print(
            f"{name:<40} {q1:>5} {q2:>7} {'yes' if q1 == q2 else 'NO':>6} {t1:>8.1f} {t2:>8.1f} {t2 / t1:>6.2f}{note}"
        )


if __name__ == "__main__":
    main()
