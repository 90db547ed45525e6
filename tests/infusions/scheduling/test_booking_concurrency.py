"""Issue 3: no chair is ever double-booked, even under a burst of concurrent requests.

Real PostgreSQL, one connection per thread, committed transactions (transactional test)."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from clinic.core.exceptions import ApplicationError
from infusions.protocols.models import Protocol
from infusions.scheduling import services as booking
from infusions.scheduling.models import Appointment
from tests.factories import ChairFactory, PatientFactory, ScreeningFactory, SiteFactory, UserFactory
from tests.infusions.scheduling.helpers import local, next_weekday

REQUESTS = 50


def _overlaps_in_db() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*) FROM infusions_appointment a JOIN infusions_appointment b
              ON a.id < b.id AND a.during && b.during
             AND (a.chair_id = b.chair_id OR a.patient_id = b.patient_id)
            WHERE a.status <> 'cancelled' AND b.status <> 'cancelled'
            """
        )
        return cursor.fetchone()[0]


@pytest.fixture
def burst_setup():
    site = SiteFactory(code="burst", infusions_per_nurse=4, default_nurses_on_duty=20)
    chair = ChairFactory(site=site, name="Chair 1")
    patients = []
    for _ in range(REQUESTS):
        patient = PatientFactory(site=site)
        ScreeningFactory(patient=patient)
        patients.append(patient)
    frontdesk = UserFactory(username="burst-frontdesk", role="frontdesk")
    token, _ = Token.objects.get_or_create(user=frontdesk)
    protocol = Protocol.objects.get(code="ket-iv-dep")
    return {
        "site": site,
        "chair": chair,
        "patients": patients,
        "frontdesk": frontdesk,
        "token": token.key,
        "protocol": protocol,
        "starts_at": local(site, next_weekday(site, 1), 9),
    }


def _run_burst(work, count: int) -> list:
    barrier = threading.Barrier(count)

    def run(index: int):
        try:
            barrier.wait(timeout=30)
            return work(index)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_fifty_concurrent_api_requests_for_one_chair_exactly_one_wins(burst_setup):
    s = burst_setup

    def request(index: int) -> tuple[int, str | None]:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {s['token']}")
        response = client.post(
            "/api/v1/appointments/",
            {
                "patient": s["patients"][index].pk,
                "chair": s["chair"].pk,
                "starts_at": s["starts_at"].isoformat(),
                "kind": "infusion",
                "protocol": s["protocol"].pk,
            },
            format="json",
        )
        return response.status_code, response.json().get("rule")

    results = _run_burst(request, REQUESTS)
    assert sorted(code for code, _ in results).count(201) == 1
    assert [r for r in results if r[0] != 201] == [(409, "chair_conflict")] * (REQUESTS - 1)
    assert Appointment.objects.filter(chair=s["chair"]).count() == 1
    assert _overlaps_in_db() == 0


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_with_the_checks_raced_past_the_database_still_lets_exactly_one_win(burst_setup, monkeypatch):
    """No site lock and no pre-check: every request reaches INSERT at once and the exclusion
    constraint decides. The losers still get the 409 `chair_conflict`, never a 500."""
    s = burst_setup
    monkeypatch.setattr(booking, "_check_conflicts", lambda **kwargs: None)
    monkeypatch.setattr(booking, "_lock_site", lambda site: site)

    def attempt(index: int) -> str:
        try:
            booking.appointment_book(
                actor=s["frontdesk"],
                patient=s["patients"][index],
                chair=s["chair"],
                starts_at=s["starts_at"],
                kind="infusion",
                protocol=s["protocol"],
            )
        except ApplicationError as error:
            return error.rule
        return "booked"

    results = _run_burst(attempt, REQUESTS)
    assert results.count("booked") == 1
    assert results.count("chair_conflict") == REQUESTS - 1
    assert Appointment.objects.filter(chair=s["chair"]).count() == 1
    assert _overlaps_in_db() == 0
