"""NEWS2 (Royal College of Physicians 2017, SpO2 scale 1), from the chart in CLINICAL.md §3:
every band edge of every parameter, the aggregate risk bands, and consciousness counted only
before start and at discharge (ketamine dissociation is expected)."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from clinic.policy import DEFAULT_POLICY
from monitoring.vitals.news2 import news2_score
from tests.factories import SessionFactory
from tests.monitoring.bedside_helpers import NORMAL, complete, precheck, record, refresh, start

# Every parameter scores 0 here (RCP 2017 chart): the single parameter under test moves.
ZERO = {
    "respiratory_rate": 16,
    "spo2": 98,
    "on_oxygen": False,
    "systolic": 120,
    "heart_rate": 70,
    "consciousness": "A",
    "temperature_c": Decimal("37.0"),
}


def score(count_consciousness=True, **changes):
    values = {**ZERO, **changes}
    return news2_score(
        **values,
        count_consciousness=count_consciousness,
        emergency_at=DEFAULT_POLICY.news2_emergency_at,  # 7, RCP 2017
        high_at=DEFAULT_POLICY.news2_high_at,  # 5, RCP 2017
    )


def edges(parameter, table):
    return [
        pytest.param(parameter, value, points, id=f"RCP-2017-{parameter}-{value}-scores-{points}")
        for value, points in table
    ]


# (value, points) at each side of every band boundary of the chart, plus the extremes.
RESPIRATION = [(0, 3), (8, 3), (9, 1), (11, 1), (12, 0), (20, 0), (21, 2), (24, 2), (25, 3), (80, 3)]
SPO2_SCALE_1 = [(50, 3), (91, 3), (92, 2), (93, 2), (94, 1), (95, 1), (96, 0), (100, 0)]
SYSTOLIC = [(40, 3), (90, 3), (91, 2), (100, 2), (101, 1), (110, 1), (111, 0), (219, 0), (220, 3), (300, 3)]
PULSE = [
    (20, 3),
    (40, 3),
    (41, 1),
    (50, 1),
    (51, 0),
    (90, 0),
    (91, 1),
    (110, 1),
    (111, 2),
    (130, 2),
    (131, 3),
    (250, 3),
]
TEMPERATURE = [
    (Decimal("25.0"), 3),
    (Decimal("35.0"), 3),
    (Decimal("35.1"), 1),
    (Decimal("36.0"), 1),
    (Decimal("36.1"), 0),
    (Decimal("38.0"), 0),
    (Decimal("38.1"), 1),
    (Decimal("39.0"), 1),
    (Decimal("39.1"), 2),
    (Decimal("45.0"), 2),
]
AIR_OR_OXYGEN = [(False, 0), (True, 2)]
CONSCIOUSNESS = [("A", 0), ("C", 3), ("V", 3), ("P", 3), ("U", 3)]
PARAMETER_NAME = {
    "respiratory_rate": "respiratory_rate",
    "spo2": "spo2",
    "on_oxygen": "air_or_oxygen",
    "systolic": "systolic",
    "heart_rate": "heart_rate",
    "consciousness": "consciousness",
    "temperature_c": "temperature",
}


@pytest.mark.parametrize(
    ("parameter", "value", "points"),
    edges("respiratory_rate", RESPIRATION)
    + edges("spo2", SPO2_SCALE_1)
    + edges("on_oxygen", AIR_OR_OXYGEN)
    + edges("systolic", SYSTOLIC)
    + edges("heart_rate", PULSE)
    + edges("temperature_c", TEMPERATURE)
    + edges("consciousness", CONSCIOUSNESS),
)
def test_every_band_edge_of_the_chart(parameter, value, points):
    result = score(**{parameter: value})
    assert result.parameters[PARAMETER_NAME[parameter]] == points
    assert result.score == points  # every other parameter scores 0


def test_temperature_not_taken_scores_nothing():
    assert score(temperature_c=None).score == 0


@pytest.mark.parametrize(
    ("changes", "total", "risk"),
    [
        pytest.param({}, 0, "low", id="RCP-2017-total-0-low"),
        pytest.param({"respiratory_rate": 21, "heart_rate": 111}, 4, "low", id="RCP-2017-total-4-no-red-low"),
        pytest.param({"respiratory_rate": 25}, 3, "low_medium", id="RCP-2017-single-3-low-medium"),
        pytest.param(
            {"respiratory_rate": 25, "heart_rate": 91}, 4, "low_medium", id="RCP-2017-total-4-with-a-red-low-medium"
        ),
        pytest.param(
            {"respiratory_rate": 21, "heart_rate": 111, "temperature_c": Decimal("38.1")},
            5,
            "medium",
            id="RCP-2017-total-5-medium",
        ),
        pytest.param(
            {"respiratory_rate": 21, "heart_rate": 111, "systolic": 101, "temperature_c": Decimal("38.1")},
            6,
            "medium",
            id="RCP-2017-total-6-medium",
        ),
        pytest.param(
            {"respiratory_rate": 21, "heart_rate": 111, "systolic": 101, "temperature_c": Decimal("38.1"), "spo2": 95},
            7,
            "high",
            id="RCP-2017-total-7-high",
        ),
        pytest.param(
            {"respiratory_rate": 25, "heart_rate": 131, "systolic": 90, "spo2": 91, "on_oxygen": True},
            14,
            "high",
            id="RCP-2017-total-14-high",
        ),
    ],
)
def test_risk_bands(changes, total, risk):
    result = score(**changes)
    assert (result.score, result.risk) == (total, risk)


@pytest.mark.parametrize("level", ["C", "V", "P", "U"])
def test_consciousness_is_not_counted_when_the_caller_says_so(level):
    assert score(consciousness=level, count_consciousness=False).score == 0


# ---- consciousness counted only before start and at discharge (CLINICAL.md §3) ----------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("stage", "phase", "counted"),
    [
        pytest.param("planned", "baseline", True, id="CLINICAL.md-3-before-start-counted"),
        pytest.param("prechecked", "baseline", True, id="CLINICAL.md-3-prechecked-counted"),
        pytest.param("running", "running", False, id="CLINICAL.md-3-infusion-not-counted"),
        pytest.param("paused", "running", False, id="CLINICAL.md-3-paused-not-counted"),
        pytest.param("observation", "observation", False, id="CLINICAL.md-3-observation-not-counted"),
        pytest.param("discharge", "discharge", True, id="CLINICAL.md-3-discharge-set-counted"),
    ],
)
def test_consciousness_points_only_before_start_and_at_discharge(users, course, stage, phase, counted):
    nurse = users["nurse"]
    session = SessionFactory(course=course)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        if stage == "prechecked":
            session = precheck(session, nurse)
        elif stage in ("running", "paused"):
            session = start(session, nurse)
            if stage == "paused":
                from monitoring.bedside.services import session_pause

                session = session_pause(actor=nurse, session=session)
        elif stage in ("observation", "discharge"):
            session = complete(session, nurse)
            # ket-iv-dep observes 60 min after dosing (CLINICAL.md §1): before, observation; after, discharge.
            clock.shift(timedelta(minutes=30 if stage == "observation" else 60))
        vital, alerts = record(refresh(session), nurse, **{**NORMAL, "consciousness": "V"})
    assert vital.phase == phase
    assert vital.news2_score == (3 if counted else 0)
    # A single red parameter is a medium NEWS2 alert; when not counted, none.
    assert [(a.rule, a.severity) for a in alerts] == ([("news2", "medium")] if counted else [])
