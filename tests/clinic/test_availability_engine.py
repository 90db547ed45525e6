"""The pure availability engine (clinic.availability): no database."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from clinic.availability import BusyIndex, SiteCalendar, concurrent_max, free_slots, overlaps

TZ = ZoneInfo("Europe/London")
MONDAY = date(2031, 3, 3)  # a Monday
HOLD = timedelta(minutes=115)  # ket-iv-dep: 15 prep + 40 dosing + 60 observation (CLINICAL.md §1)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=TZ)


def calendar(**changes) -> SiteCalendar:
    values = {
        "tz": TZ,
        "default_hours": (time(8), time(18)),
        "infusions_per_nurse": 4,
        "default_nurses": 1,
    }
    values.update(changes)
    return SiteCalendar(**values)


def slots(cal: SiteCalendar, *, chairs=(1, 2), busy=None, load=(), start=None, end=None, **kwargs):
    return list(
        free_slots(
            calendar=cal,
            chairs=list(chairs),
            busy=busy or {},
            load=list(load),
            duration=kwargs.pop("duration", HOLD),
            start=start or at(MONDAY, 0),
            end=end or at(MONDAY, 23, 59),
            **kwargs,
        )
    )


def test_half_open_intervals_touching_do_not_overlap():
    assert not overlaps((at(MONDAY, 8), at(MONDAY, 9)), (at(MONDAY, 9), at(MONDAY, 10)))
    assert overlaps((at(MONDAY, 8), at(MONDAY, 9, 1)), (at(MONDAY, 9), at(MONDAY, 10)))


def test_busy_index_checks_neighbours():
    index = BusyIndex([(at(MONDAY, 10), at(MONDAY, 11)), (at(MONDAY, 8), at(MONDAY, 9))])
    assert index.is_free(at(MONDAY, 9), at(MONDAY, 10))
    assert not index.is_free(at(MONDAY, 8, 30), at(MONDAY, 9, 30))
    assert not index.is_free(at(MONDAY, 10, 59), at(MONDAY, 12))
    assert index.is_free(at(MONDAY, 11), at(MONDAY, 12))


def test_earliest_first_then_chair_order_and_whole_hold_inside_hours():
    found = slots(calendar())
    assert found[0].starts_at == at(MONDAY, 8)
    assert found[0].chair == 1
    assert found[1].starts_at == at(MONDAY, 8)
    assert found[1].chair == 2
    assert all(s.ends_at - s.starts_at == HOLD for s in found)
    assert max(s.ends_at for s in found) <= at(MONDAY, 18)
    assert [s.starts_at for s in found] == sorted(s.starts_at for s in found)
    # the last start that still ends by closing time: 18:00 - 1 h 55 = 16:05 -> 16:00 on the grid
    assert max(s.starts_at for s in found) == at(MONDAY, 16)


def test_busy_chair_is_skipped_and_a_slot_starts_right_after_a_booking():
    busy = {1: [(at(MONDAY, 8), at(MONDAY, 9, 55))]}
    found = slots(calendar(), chairs=(1,), busy=busy)
    assert found[0].starts_at == at(MONDAY, 9, 55)


def test_closed_date_and_closed_weekday_have_no_slots():
    assert slots(calendar(closed_dates=frozenset({MONDAY}))) == []
    assert slots(calendar(weekly={0: None})) == []


def test_weekday_hours_override_the_default():
    found = slots(calendar(weekly={0: (time(10), time(14))}))
    assert found[0].starts_at == at(MONDAY, 10)
    assert max(s.ends_at for s in found) <= at(MONDAY, 14)


def test_nurse_capacity_ratio_times_nurses_on_duty():
    # 4 infusions per nurse [U] x 1 nurse: with 4 running 8:00-10:00 nothing starts before 10:00.
    load = [(at(MONDAY, 8), at(MONDAY, 10))] * 4
    found = slots(calendar(), chairs=(1, 2, 3, 4, 5), load=load)
    assert found[0].starts_at == at(MONDAY, 10)
    # two nurses on duty that day: capacity 8, the 5th chair is free at 8:00.
    found = slots(calendar(nurses={MONDAY: 2}), chairs=(5,), load=load)
    assert found[0].starts_at == at(MONDAY, 8)


def test_patient_blocked_times_apply_to_every_chair():
    blocked = [(at(MONDAY, 8), at(MONDAY, 12))]
    assert slots(calendar(), blocked=blocked)[0].starts_at == at(MONDAY, 12)


def test_start_bound_is_respected():
    found = slots(calendar(), start=at(MONDAY, 13, 7))
    assert found[0].starts_at == at(MONDAY, 13, 15)


def test_concurrent_max_counts_only_overlapping_moments():
    load = [(at(MONDAY, 8), at(MONDAY, 9)), (at(MONDAY, 9), at(MONDAY, 10)), (at(MONDAY, 8, 30), at(MONDAY, 9, 30))]
    assert concurrent_max(load, at(MONDAY, 8), at(MONDAY, 10)) == 2
    assert concurrent_max(load, at(MONDAY, 10), at(MONDAY, 11)) == 0


def test_lazy_generation_stops_early():
    generator = free_slots(
        calendar=calendar(),
        chairs=[1],
        busy={},
        load=[],
        duration=HOLD,
        start=at(MONDAY, 0),
        end=at(MONDAY, 0) + timedelta(days=365),
    )
    assert next(generator).starts_at == at(MONDAY, 8)


def test_duration_must_be_positive():
    with pytest.raises(ValueError, match="positive"):
        slots(calendar(), duration=timedelta(0))
