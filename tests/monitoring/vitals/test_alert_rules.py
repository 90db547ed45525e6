"""Every alert rule of CLINICAL.md §3, from tables that name their source, at each edge:
pre-dose BP (Spravato label), BP high (Del Sant 2020), rise from baseline (Spravato label),
SpO2 (Modified Aldrete; NEWS2 scale 1), NEWS2 aggregate and single red (RCP 2017), MOAA/S 0
or ACVPU U. Alerts are stored with the vitals set that raised them."""

from decimal import Decimal

import pytest

from monitoring.alerts.models import Alert
from tests.factories import SessionFactory
from tests.monitoring.bedside_helpers import NORMAL, record, start

pytestmark = pytest.mark.django_db


def rules(alerts):
    return sorted((a.rule, a.severity) for a in alerts)


@pytest.fixture
def planned(course):
    return SessionFactory(course=course)


@pytest.fixture
def running(course, users):
    """Running, with a baseline of 122/78 (NORMAL)."""
    return start(SessionFactory(course=course), users["nurse"])


@pytest.mark.parametrize(
    ("bp", "expected"),
    [
        pytest.param((140, 90), [], id="Spravato-label-140/90-not-above"),
        pytest.param((141, 90), [("predose_bp", "high")], id="Spravato-label-systolic-141"),
        pytest.param((140, 91), [("predose_bp", "high")], id="Spravato-label-diastolic-91"),
    ],
)
def test_predose_bp_before_start(users, planned, bp, expected):
    _, alerts = record(planned, users["nurse"], systolic=bp[0], diastolic=bp[1])
    assert rules(alerts) == expected


def test_predose_bp_is_only_a_before_start_rule(users, running):
    _, alerts = record(running, users["nurse"], systolic=150, diastolic=95)
    assert "predose_bp" not in {a.rule for a in alerts}


@pytest.mark.parametrize(
    ("bp", "expected"),
    [
        pytest.param((179, 109), [("bp_rise", "medium")], id="Del-Sant-2020-179/109-not-high"),
        pytest.param((180, 80), [("bp_high", "high"), ("bp_rise", "medium")], id="Del-Sant-2020-systolic-180"),
        pytest.param((150, 110), [("bp_high", "high"), ("bp_rise", "medium")], id="Del-Sant-2020-diastolic-110"),
    ],
)
def test_bp_high_while_running(users, running, bp, expected):
    # Baseline 122/78: each of these also rises >= 40 systolic or >= 25 diastolic (Spravato label).
    _, alerts = record(running, users["nurse"], systolic=bp[0], diastolic=bp[1])
    assert rules(alerts) == expected


@pytest.mark.parametrize(
    ("bp", "expected"),
    [
        pytest.param((161, 78), [], id="Spravato-label-rise-39-systolic"),
        pytest.param((162, 78), [("bp_rise", "medium")], id="Spravato-label-rise-40-systolic"),
        pytest.param((122, 102), [], id="Spravato-label-rise-24-diastolic"),
        pytest.param((122, 103), [("bp_rise", "medium")], id="Spravato-label-rise-25-diastolic"),
    ],
)
def test_rise_from_baseline(users, running, bp, expected):
    _, alerts = record(running, users["nurse"], systolic=bp[0], diastolic=bp[1])
    assert rules(alerts) == expected


@pytest.mark.parametrize(
    ("spo2", "expected"),
    [
        pytest.param(92, [], id="Modified-Aldrete-SpO2-92-no-alert"),
        # SpO2 91 also scores 3 on NEWS2 scale 1 (RCP 2017): a single red, medium.
        pytest.param(91, [("news2", "medium"), ("spo2_low", "high")], id="NEWS2-scale-1-SpO2-91-high"),
    ],
)
def test_spo2_low(users, running, spo2, expected):
    _, alerts = record(running, users["nurse"], spo2=spo2)
    assert rules(alerts) == expected


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param({"respiratory_rate": 21, "heart_rate": 111}, [], id="RCP-2017-aggregate-4-no-alert"),
        pytest.param({"respiratory_rate": 25}, [("news2", "medium")], id="RCP-2017-single-red-3-medium"),
        pytest.param(
            {"respiratory_rate": 21, "heart_rate": 111, "temperature_c": Decimal("38.1")},
            [("news2", "high")],
            id="RCP-2017-aggregate-5-high",
        ),
        pytest.param(
            {"respiratory_rate": 21, "heart_rate": 111, "systolic": 101, "temperature_c": Decimal("38.1")},
            [("news2", "high")],
            id="RCP-2017-aggregate-6-high",
        ),
        pytest.param(
            {"respiratory_rate": 21, "heart_rate": 111, "systolic": 101, "temperature_c": Decimal("38.1"), "spo2": 95},
            [("news2", "emergency")],
            id="RCP-2017-aggregate-7-emergency",
        ),
    ],
)
def test_news2_alerts(users, running, changes, expected):
    _, alerts = record(running, users["nurse"], **changes)
    assert rules(alerts) == expected


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param({"moaas": 1}, [], id="MOAA/S-1-no-alert"),
        pytest.param({"moaas": 0}, [("unresponsive", "emergency")], id="MOAA/S-0-emergency"),
        # During the infusion ACVPU does not count in NEWS2, but "U" is still an emergency.
        pytest.param({"consciousness": "V"}, [], id="ACVPU-V-expected-dissociation"),
        pytest.param({"consciousness": "U"}, [("unresponsive", "emergency")], id="ACVPU-U-emergency"),
    ],
)
def test_unresponsive(users, running, changes, expected):
    _, alerts = record(running, users["nurse"], **changes)
    assert rules(alerts) == expected


def test_unresponsive_before_start_also_counts_in_news2(users, planned):
    _, alerts = record(planned, users["nurse"], consciousness="U")
    assert rules(alerts) == [("news2", "medium"), ("unresponsive", "emergency")]


def test_alerts_are_stored_with_the_set_that_raised_them_and_not_repeated_while_open(users, running):
    vital, alerts = record(running, users["nurse"], spo2=90)
    assert {a.vital_id for a in alerts} == {vital.id}
    _, again = record(running, users["nurse"], spo2=89)
    # An open alert of the same rule is not raised again (one alarm per problem).
    assert "spo2_low" not in {a.rule for a in again}
    assert Alert.objects.filter(session=running, rule="spo2_low").count() == 1


def test_normal_vitals_raise_nothing(users, running):
    _, alerts = record(running, users["nurse"], **NORMAL)
    assert alerts == []
