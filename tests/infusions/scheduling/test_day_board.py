"""A site's day board (issue 3 item 10): chairs x time with patient, protocol and status, in a
fixed number of queries whatever the number of chairs and appointments."""

from datetime import timedelta

import pytest

from infusions.scheduling.selectors import day_board
from tests.factories import AppointmentFactory, ChairFactory, PatientFactory
from tests.infusions.scheduling.helpers import local, next_weekday

pytestmark = pytest.mark.django_db


def _fill(site, day, chairs: int, per_chair: int):
    made = [ChairFactory(site=site, name=f"Chair {site.chairs.count() + 1:02d}") for _ in range(chairs)]
    for chair in made:
        for slot in range(per_chair):
            AppointmentFactory(
                chair=chair,
                site=site,
                patient=PatientFactory(site=site),
                starts_at=local(site, day, 8) + timedelta(hours=2 * slot),
            )
    return made


def _render(board):
    return [
        (
            row.chair.name,
            [(a.patient.family_name, a.protocol.code if a.protocol else None, a.status) for a in row.appointments],
        )
        for row in board.rows
    ]


def test_board_groups_by_chair_and_leaves_cancelled_off(site):
    day = next_weekday(site, 0)
    chair_a, chair_b = ChairFactory(site=site, name="A"), ChairFactory(site=site, name="B")
    first = AppointmentFactory(chair=chair_a, site=site, starts_at=local(site, day, 9))
    AppointmentFactory(chair=chair_a, site=site, starts_at=local(site, day, 13), status="cancelled")
    other_day = AppointmentFactory(chair=chair_b, site=site, starts_at=local(site, day + timedelta(days=1), 9))
    consult = AppointmentFactory(chair=None, site=site, kind="consult", protocol=None, starts_at=local(site, day, 10))
    board = day_board(site=site, day=day)
    assert [row.chair.name for row in board.rows] == ["A", "B"]
    assert [a.pk for a in board.rows[0].appointments] == [first.pk]
    assert board.rows[1].appointments == []
    assert other_day.pk not in [a.pk for row in board.rows for a in row.appointments]
    assert [a.pk for a in board.unassigned] == [consult.pk]
    assert board.opens_at == local(site, day, 8)
    assert board.closes_at == local(site, day, 18)


def test_board_query_count_does_not_grow(site, django_assert_num_queries):
    day = next_weekday(site, 0)
    _fill(site, day, chairs=2, per_chair=1)
    # the site's calendar (hours, closures, roster in one), chairs, appointments (with patient,
    # protocol, chair)
    with django_assert_num_queries(3):
        small = _render(day_board(site=site, day=day))
    _fill(site, day, chairs=20, per_chair=4)
    with django_assert_num_queries(3):
        large = _render(day_board(site=site, day=day))
    assert len(small) == 2
    assert len(large) == 22
    assert sum(len(appts) for _, appts in large) == 2 + 80


@pytest.mark.parametrize("role", ["admin", "clinician", "nurse", "frontdesk"])
def test_board_api_for_staff_without_doses(api, users, site, role):
    day = next_weekday(site, 0)
    _fill(site, day, chairs=3, per_chair=2)
    client = api(users[role])
    response = client.get("/api/v1/appointments/board/", {"site": site.pk, "date": day.isoformat()})
    assert response.status_code == 200
    body = response.json()
    assert [len(row["appointments"]) for row in body["rows"]] == [2, 2, 2]
    appointment = body["rows"][0]["appointments"][0]
    assert set(appointment) == {
        "id",
        "patient",
        "patient_name",
        "protocol_code",
        "kind",
        "status",
        "starts_at",
        "ends_at",
    }


def test_board_api_query_count_two_sizes(api, users, site, django_assert_num_queries):
    day = next_weekday(site, 0)
    client = api(users["nurse"])
    _fill(site, day, chairs=2, per_chair=1)
    client.get("/api/v1/appointments/board/", {"site": site.pk, "date": day.isoformat()})
    with django_assert_num_queries(5) as small:  # token+user, site, then the 3 of the selector
        client.get("/api/v1/appointments/board/", {"site": site.pk, "date": day.isoformat()})
    _fill(site, day, chairs=10, per_chair=4)
    with django_assert_num_queries(len(small.captured_queries)):
        client.get("/api/v1/appointments/board/", {"site": site.pk, "date": day.isoformat()})


def test_board_is_not_for_patients(api, users, site):
    assert api(users["patient"]).get("/api/v1/appointments/board/", {"site": site.pk}).status_code == 403
