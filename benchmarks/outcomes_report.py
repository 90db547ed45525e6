"""Outcomes report and maintenance recommender (issue 5): the time of
`monitoring.outcomes.selectors.outcomes_report` at 200 and then 2,000 courses (8 sessions and
10 PHQ-9 scores each, across 3 protocols and 3 indications), its query count, and the time of
one recommendation for a course with a long history (a year: 60 sessions, 120 scores).

No target was set; the figures show how the report grows with the courses (three queries,
then Python) and that one recommendation stays well under a request's budget.

Standalone: reads DATABASE_URL, makes a throwaway database beside it
(`<name>_bench_outcomes_<pid>`), migrates it, and drops it at the end, whatever happens.
"""

import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import figure, in_throwaway_database  # noqa: E402

REPEAT = int(os.environ.get("BENCH_OUTCOMES_REPEAT", "5"))
PHQ9_ITEMS = 9


def main() -> None:
    in_throwaway_database("outcomes", run)


def _items(rng: random.Random, total: int) -> list[int]:
    items = [0] * PHQ9_ITEMS
    for _ in range(total):
        items[rng.choice([i for i in range(8) if items[i] < 3])] += 1
    return items


def _populate(count: int, offset: int, site, user, protocols) -> None:
    from infusions.sessions.models import InfusionSession, TreatmentCourse
    from patients.models import Assessment, Patient
    from patients.scoring import score

    rng = random.Random(offset)
    t0 = datetime(2025, 1, 6, 9, tzinfo=UTC)
    patients = Patient.objects.bulk_create(
        [
            Patient(
                mrn=f"BO{offset + n:06d}",
                given_name="B",
                family_name=f"O{n}",
                birth_date="1980-01-01",
                sex="other",
                site=site,
            )
            for n in range(count)
        ]
    )
    indications = ["trd", "depression", "crps"]
    courses = TreatmentCourse.objects.bulk_create(
        [
            TreatmentCourse(
                patient=p, protocol=protocols[n % len(protocols)], indication=indications[n % 3], created_by=user
            )
            for n, p in enumerate(patients)
        ]
    )
    sessions, scores = [], []
    for course in courses:
        start = t0 + timedelta(days=rng.randrange(300))
        total = rng.randrange(15, 25)
        factor = rng.choice([0.7, 0.85, 0.97])
        for n in range(10):
            at = start + timedelta(days=2 * n - 1, hours=-2)
            result = score("PHQ9", _items(rng, total))
            scores.append(
                Assessment(
                    patient_id=course.patient_id,
                    instrument="PHQ9",
                    items=list(result.items),
                    total=result.total,
                    severity=result.severity,
                    flags=[],
                    administered_at=at,
                    recorded_by=user,
                    source="staff",
                )
            )
            total = max(0, round(total * factor))
        for n in range(8):
            sessions.append(
                InfusionSession(
                    course=course,
                    status="discharged",
                    dose="0.5",
                    dose_unit="mg/kg",
                    total_dose_mg="41.2",
                    hard_max_at_creation="1.0",
                    created_by=user,
                    started_at=start + timedelta(days=2 * n),
                )
            )
    InfusionSession.objects.bulk_create(sessions, batch_size=5000)
    Assessment.objects.bulk_create(scores, batch_size=5000)


def _time(fn) -> tuple[float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    walls, queries = [], 0
    for _ in range(REPEAT):
        with CaptureQueriesContext(connection) as captured:
            began = time.perf_counter()
            fn()
            walls.append((time.perf_counter() - began) * 1000)
        queries = len(captured.captured_queries)
    return statistics.median(walls), queries


def run() -> None:
    from django.db import connection

    from clinic.core.roles import Role
    from clinic.models import Site, User
    from infusions.protocols.models import Protocol
    from infusions.sessions.models import InfusionSession, TreatmentCourse
    from monitoring.outcomes.selectors import course_history, outcomes_report
    from monitoring.outcomes.services import recommendation_compute
    from patients.models import Assessment, Patient

    site = Site.objects.create(name="Bench", code="bench-outcomes", time_zone="Europe/London")
    user = User.objects.create(username="bench-clinician", role=Role.CLINICIAN)
    protocols = list(Protocol.objects.filter(code__in=["ket-iv-dep", "esk-in-trd", "ket-iv-crps"]))
    print(f"# median of {REPEAT} runs; load average {os.getloadavg()[0]:.1f}", flush=True)
    figures = {}
    for size, offset in ((200, 0), (1800, 200)):
        _populate(size, offset, site, user, protocols)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        courses = TreatmentCourse.objects.count()
        ms, queries = _time(lambda: outcomes_report(user=user))
        figures[courses] = ms
        figure(f"outcomes report at {courses:,} courses ({queries} queries)", ms, "ms")
    small, big = sorted(figures)
    figure(
        f"outcomes report {big:,} / {small:,} courses",
        figures[big] / figures[small],
        "x",
        ratio=figures[big] / figures[small],
    )

    # One course with a year of maintenance: 60 sessions, 120 scores.
    patient = Patient.objects.create(
        mrn="BO-LONG", given_name="L", family_name="Long", birth_date="1980-01-01", sex="other", site=site
    )
    course = TreatmentCourse.objects.create(
        patient=patient, protocol=protocols[0], indication="trd", created_by=user, phase="maintenance"
    )
    t0 = datetime(2025, 1, 6, 9, tzinfo=UTC)
    rng = random.Random(3)
    InfusionSession.objects.bulk_create(
        InfusionSession(
            course=course,
            status="discharged",
            dose="0.5",
            dose_unit="mg/kg",
            total_dose_mg="41.2",
            hard_max_at_creation="1.0",
            created_by=user,
            started_at=t0 + timedelta(days=6 * n),
        )
        for n in range(60)
    )
    Assessment.objects.bulk_create(
        Assessment(
            patient=patient,
            instrument="PHQ9",
            items=_items(rng, t),
            total=t,
            severity="mild",
            flags=[],
            administered_at=t0 + timedelta(days=3 * n - 1),
            recorded_by=user,
            source="staff",
        )
        for n, t in enumerate([20] + [rng.randrange(3, 9) for _ in range(119)])
    )
    course = TreatmentCourse.objects.select_related("protocol", "patient__site").get(pk=course.pk)
    ms, queries = _time(lambda: recommendation_compute(history=course_history(course=course)))
    figure(f"one recommendation, 60 sessions and 120 scores ({queries} queries)", ms, "ms")


if __name__ == "__main__":
    main()
