"""Availability search (issue 3 item 6): a 30-chair site with 2,000 and then 20,000 existing
appointments; the time of `infusions.scheduling.services.availability_search` (the earliest 20 slots of
ket-iv-dep in the next 14 days) and of enumerating every free slot in those 14 days.

Targets: under 50 ms at 20,000 appointments, and under 2x the 2,000 figure. The appointment
density in the searched fortnight is the same at both sizes (about 100 a day); the extra
18,000 rows lie in the past, so the ratio shows whether the query stays indexed.

Standalone: reads DATABASE_URL, makes a throwaway database beside it (`<name>_bench_avail_<pid>`),
migrates it, and drops it at the end, whatever happens.
"""

import os
import random
import statistics
import sys
import time
from datetime import datetime, timedelta
from datetime import time as dtime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import figure, in_throwaway_database  # noqa: E402

CHAIRS = 30
PER_DAY = 100  # live appointments per day across the site
SEARCH_DAYS = 14
REPEAT = int(os.environ.get("BENCH_AVAIL_REPEAT", "30"))


def main() -> None:
    in_throwaway_database("avail", run)


def _populate(site, chairs, patients, protocol, user, first_day, days: int, hold: timedelta) -> int:
    """About PER_DAY appointments a day over `days` local days from `first_day`: each chair has
    five hold-long places a day (8:00, 9:55, ...), PER_DAY of the 150 are taken at random."""
    from infusions.scheduling.models import Appointment

    rng = random.Random(7)
    rows = []
    places = [(c, p) for c in range(len(chairs)) for p in range(5)]
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        for chair_index, place in rng.sample(places, PER_DAY):
            starts_at = datetime.combine(day, dtime(8), tzinfo=site.tz) + place * hold
            rows.append(
                Appointment(
                    patient=patients[chair_index * 5 + place],
                    site=site,
                    chair=chairs[chair_index],
                    kind="infusion",
                    protocol=protocol,
                    starts_at=starts_at,
                    ends_at=starts_at + hold,
                    during=(starts_at, starts_at + hold),
                    status="completed" if starts_at < datetime.now(site.tz) else "booked",
                    booked_by=user,
                )
            )
    Appointment.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def _time_search(site, protocol, start, end, limit: int) -> tuple[float, float, float, float, int]:
    """Median and p95 wall-clock ms, median CPU ms of this process, median ms inside PostgreSQL
    (as Django measures each query), and the number of slots found."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from infusions.scheduling.services import availability_search

    walls, cpus, dbs = [], [], []
    found = 0
    for _ in range(REPEAT):
        with CaptureQueriesContext(connection) as queries:
            began, cpu = time.perf_counter(), time.process_time()
            found = len(availability_search(site=site, protocol=protocol, start=start, end=end, limit=limit))
            walls.append((time.perf_counter() - began) * 1000)
            cpus.append((time.process_time() - cpu) * 1000)
        dbs.append(sum(float(q["time"]) for q in queries.captured_queries) * 1000)
    p95 = sorted(walls)[max(0, int(len(walls) * 0.95) - 1)]
    return statistics.median(walls), p95, statistics.median(cpus), statistics.median(dbs), found


def _plan(site, start, end) -> str:
    """EXPLAIN ANALYZE of the search's first read (one day of bookings)."""
    from django.db import connection

    with connection.cursor() as cursor:
        day_before, day_after = start - timedelta(days=1), start + timedelta(days=1)
        cursor.execute(
            "EXPLAIN (ANALYZE, COSTS OFF) SELECT chair_id, kind, EXTRACT(EPOCH FROM starts_at)::bigint, "
            "EXTRACT(EPOCH FROM ends_at)::bigint FROM infusions_appointment "
            "WHERE NOT (status = 'cancelled') AND site_id = %s AND starts_at >= %s AND starts_at < %s "
            "AND ends_at > %s",
            [site.pk, day_before, day_after, start],
        )
        return " | ".join(row[0].strip() for row in cursor.fetchall())


def run() -> None:
    from django.db import connection
    from django.utils import timezone

    from clinic.core.roles import Role
    from clinic.models import Chair, Site, User
    from infusions.protocols.models import Protocol
    from infusions.scheduling.models import Appointment
    from infusions.scheduling.services import chair_hold
    from patients.models import Patient

    site = Site.objects.create(
        name="Bench", code="bench-avail", time_zone="Europe/London", infusions_per_nurse=4, default_nurses_on_duty=8
    )
    chairs = Chair.objects.bulk_create([Chair(site=site, name=f"Chair {n:02d}") for n in range(1, CHAIRS + 1)])
    user = User.objects.create(username="bench-frontdesk", role=Role.FRONTDESK)
    patients = Patient.objects.bulk_create(
        [
            Patient(
                mrn=f"BA{n:05d}", given_name="B", family_name=f"P{n}", birth_date="1980-01-01", sex="other", site=site
            )
            for n in range(CHAIRS * 5)
        ]
    )
    protocol = Protocol.objects.get(code="ket-iv-dep")
    hold = chair_hold(site=site, protocol=protocol)
    today = timezone.now().astimezone(site.tz).date()
    start = datetime.combine(today + timedelta(days=1), dtime(0), tzinfo=site.tz)
    end = start + timedelta(days=SEARCH_DAYS)
    print(
        f"# {CHAIRS} chairs, ~{PER_DAY} appointments a day, ket-iv-dep hold {hold}, "
        f"search {SEARCH_DAYS} days, median of {REPEAT} runs; load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )

    # 2,000: the searched fortnight plus 6 days before it.
    lead_days = 2000 // PER_DAY - SEARCH_DAYS - 1
    count = _populate(site, chairs, patients, protocol, user, today - timedelta(days=lead_days), 2000 // PER_DAY, hold)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE infusions_appointment")
    small, small_p95, small_cpu, small_db, found = _time_search(site, protocol, start, end, 20)
    small_all, _, _, _, all_found = _time_search(site, protocol, start, end, 100_000)
    figure(f"availability earliest 20 at {count:,} appointments (median)", small, "ms", target="< 50 ms")
    figure(f"availability earliest 20 at {count:,} appointments (p95)", small_p95, "ms")
    figure(f"  of which Python CPU / inside PostgreSQL (medians) at {count:,}", small_cpu, f"ms / {small_db:.2f} ms")
    figure(f"availability all {all_found:,} slots in 14 days at {count:,}", small_all, "ms")
    print(f"# plan at {count:,}: {_plan(site, start, end)}", flush=True)

    # 20,000: 18,000 more, in the past.
    more = _populate(
        site,
        chairs,
        patients,
        protocol,
        user,
        today - timedelta(days=lead_days + 18000 // PER_DAY),
        18000 // PER_DAY,
        hold,
    )
    count = Appointment.objects.count()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE infusions_appointment")
    big, big_p95, big_cpu, big_db, found = _time_search(site, protocol, start, end, 20)
    big_all, _, _, _, all_found = _time_search(site, protocol, start, end, 100_000)
    ratio = big / small if small else 0.0
    figure(
        f"availability earliest 20 at {count:,} appointments (median)",
        big,
        "ms",
        target="< 50 ms and < 2x the 2,000 figure",
        ratio=ratio,
    )
    figure(f"availability earliest 20 at {count:,} appointments (p95)", big_p95, "ms")
    figure(f"  of which Python CPU / inside PostgreSQL (medians) at {count:,}", big_cpu, f"ms / {big_db:.2f} ms")
    figure(
        f"availability all {all_found:,} slots in 14 days at {count:,}",
        big_all,
        "ms",
        ratio=big_all / small_all if small_all else None,
    )
    print(f"# plan at {count:,}: {_plan(site, start, end)}", flush=True)
    print(f"# {more:,} rows added for the second size; found {found} slots", flush=True)
    verdict = "MET" if big < 50 and ratio < 2 else "MISSED"
    print(f"# target {verdict}: {big:.2f} ms at 20,000 (< 50 ms), ratio {ratio:.2f} (< 2)", flush=True)


if __name__ == "__main__":
    main()
