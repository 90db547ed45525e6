"""The maintenance recommender's rules, one by one, on the pure function (CLINICAL.md §6).

Defaults per protocol (CLINICAL.md §6): min_interval_days 7, extend_step_days 7,
max_interval_days 112, exit_after_stable_at_max 3. Response >= 50 % below baseline
(CLINICAL.md §5); a rise of >= 5 points is not stable [U]; paused: a PHQ-9 every 4 weeks [U];
esketamine from week 9 weekly or every 2 weeks (Spravato label).
"""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from monitoring.outcomes.measures import ScorePoint, baseline_of
from monitoring.outcomes.recommender import MaintenanceInput, MaintenanceParams, PastDecision, Visit, recommend
from tests.monitoring.outcome_helpers import items_for

TZ = ZoneInfo("UTC")
T0 = datetime(2027, 1, 4, 9, tzinfo=TZ)
INDUCTION = [0, 2, 4, 7, 9, 11]
DEFAULT = MaintenanceParams()


def at(day: float, hour: int = 9) -> datetime:
    return T0 + timedelta(days=day, hours=hour - 9)


def day(n: int) -> date:
    return (T0 + timedelta(days=n)).date()


def phq(d: float, total: int, item9: int = 0) -> ScorePoint:
    """A PHQ-9 two hours before 09:00 on day `d`."""
    return ScorePoint(at=at(d, 7), instrument="PHQ9", total=total, items=tuple(items_for("PHQ9", total, item9=item9)))


def booked(d: float, interval: int, kind: str = "accepted", action: str = "book") -> PastDecision:
    return PastDecision(at=at(d, 12), kind=kind, action=action, interval_days=interval, next_due=None)


def run(visits, scores, *, decisions=(), now=None, phase="maintenance", params=DEFAULT, alerts=()):
    visit_rows = [Visit(at=at(v), high_alert=v in alerts) for v in visits]
    return recommend(
        MaintenanceInput(
            phase=phase,
            now=now or at(visits[-1], 12),
            tz=TZ,
            visits=visit_rows,
            scores=scores,
            phq9=scores,
            instrument="PHQ9",
            baseline=baseline_of(scores, visit_rows[0].at if visit_rows else None),
            decisions=list(decisions),
            params=params,
        )
    )


BASE = [phq(-1, 20)]


# ---- rule 1: after induction --------------------------------------------------------------


@pytest.mark.parametrize(
    ("latest", "rule", "action", "interval"),
    [
        (10, "induction_responder", "book", 7),  # exactly 50 % below 20: response
        (4, "induction_responder", "book", 7),
        (11, "induction_nonresponder", "review", None),  # 45 %: no response
        (19, "induction_nonresponder", "review", None),
    ],
    ids=["50pct-edge", "remission", "45pct", "no-change"],
)
def test_rule1_after_induction(latest, rule, action, interval):
    rec = run(INDUCTION, [*BASE, phq(11, latest)], phase="induction")
    assert (rec.rule, rec.rule_number, rec.action, rec.interval_days) == (rule, 1, action, interval)
    if action == "book":
        assert rec.next_due == day(11 + 7)
        assert not rec.needs_clinician
    else:
        assert rec.next_due is None
        assert rec.needs_clinician


def test_rule1_induction_in_progress():
    rec = run(INDUCTION[:3], [*BASE, phq(4, 10)], phase="induction")
    assert (rec.rule, rec.action, rec.interval_days) == ("induction_in_progress", "continue_induction", None)
    assert "3 of 6 sessions" in rec.rationale


def test_rule1_oxford_review_after_three_sessions():
    params = MaintenanceParams(nonresponse_review_after_sessions=3)
    assert run(INDUCTION[:2], [*BASE, phq(2, 19)], phase="induction", params=params).rule == "induction_in_progress"
    assert run(INDUCTION[:3], [*BASE, phq(4, 19)], phase="induction", params=params).rule == "induction_nonresponder"
    assert run(INDUCTION[:3], [*BASE, phq(4, 9)], phase="induction", params=params).rule == "induction_in_progress"


def test_rule1_without_a_baseline_a_clinician_reviews():
    rec = run(INDUCTION, [phq(3, 8)], phase="induction")
    assert (rec.rule, rec.action) == ("baseline_missing", "review")


# ---- rules 2 and 3: stable extends, worse shortens ---------------------------------------------


def test_rule3_stable_extends_by_the_step():
    rec = run([*INDUCTION, 18], [*BASE, phq(11, 8), phq(18, 7)], decisions=[booked(11, 7)])
    assert (rec.rule, rec.rule_number, rec.interval_days, rec.next_due) == ("stable_extend", 3, 14, day(32))
    assert rec.automatic_change
    assert not rec.needs_clinician
    assert "Interval 7 -> 14 days" in rec.rationale


@pytest.mark.parametrize(
    ("previous", "now", "stable"),
    [(4, 8, True), (4, 9, False)],  # a rise of 4 points is stable, of 5 is not [U]
    ids=["rise-4", "rise-5"],
)
def test_rule2_a_rise_of_five_points_is_not_stable(previous, now, stable):
    scores = [*BASE, phq(11, 8), phq(18, previous), phq(32, now)]
    rec = run([*INDUCTION, 18, 32], scores, decisions=[booked(11, 7), booked(18, 14)])
    if stable:
        assert (rec.rule, rec.interval_days) == ("stable_extend", 21)
    else:
        # Still 55 % below baseline, but 5 points up: back to the last stable interval (7).
        assert (rec.rule, rec.interval_days, rec.needs_clinician) == ("worse_shorten", 7, True)
        assert "a rise of 5 points" in rec.rationale
        assert "back to the last stable interval of 7 days" in rec.rationale


def test_rule3_worse_without_a_stable_visit_steps_back_never_below_the_minimum():
    rec = run([*INDUCTION, 25], [*BASE, phq(11, 8), phq(25, 12)], decisions=[booked(11, 14)])
    assert (rec.rule, rec.interval_days, rec.next_due) == ("worse_shorten", 7, day(32))  # 14 - 7
    rec = run([*INDUCTION, 18], [*BASE, phq(11, 8), phq(18, 12)], decisions=[booked(11, 7)])
    assert (rec.rule, rec.interval_days) == ("worse_shorten", 7)  # 7 - 7 = 0, held at 7
    assert "held at the minimum of 7 days" in rec.rationale


def test_rule3_caps_at_the_maximum():
    params = MaintenanceParams(max_interval_days=21)
    scores = [*BASE, phq(11, 8), phq(18, 7), phq(32, 7)]
    rec = run([*INDUCTION, 18, 32], scores, decisions=[booked(11, 7), booked(18, 14)], params=params)
    assert rec.interval_days == 21
    scores.append(phq(53, 6))
    rec = run(
        [*INDUCTION, 18, 32, 53], scores, decisions=[booked(11, 7), booked(18, 14), booked(32, 21)], params=params
    )
    assert (rec.rule, rec.interval_days) == ("stable_at_maximum", 21)


def test_rule2_no_score_since_the_previous_visit_means_no_extension():
    rec = run([*INDUCTION, 18], [*BASE, phq(11, 8)], decisions=[booked(11, 7)])
    assert (rec.rule, rec.rule_number, rec.interval_days, rec.automatic_change) == ("score_missing", 2, 7, False)


def test_between_visits_a_decision_stands_unless_a_newer_score_is_worse():
    scores = [*BASE, phq(11, 8), phq(18, 7)]
    decisions = [booked(11, 7), booked(18, 14)]
    rec = run([*INDUCTION, 18], scores, decisions=decisions, now=at(25))
    assert (rec.rule, rec.interval_days, rec.next_due) == ("stable_keep", 14, day(32))
    rec = run([*INDUCTION, 18], [*scores, phq(25, 13)], decisions=decisions, now=at(25, 12))
    assert (rec.rule, rec.interval_days, rec.next_due) == ("worse_shorten", 7, day(25))


# ---- rule 4: safety flags ----------------------------------------------------------------------


def test_rule4_item9_holds_the_interval():
    rec = run([*INDUCTION, 18], [*BASE, phq(11, 8), phq(18, 4, item9=1)], decisions=[booked(11, 7)])
    assert (rec.rule, rec.rule_number, rec.interval_days, rec.automatic_change, rec.needs_clinician) == (
        "safety_hold",
        4,
        7,
        False,
        True,
    )
    assert rec.details["flags"] == ["PHQ-9 item 9 = 1 on 2027-01-22"]


def test_rule4_a_high_alert_in_the_last_session_holds_the_interval():
    rec = run([*INDUCTION, 18], [*BASE, phq(11, 8), phq(18, 5)], decisions=[booked(11, 7)], alerts=(18,))
    assert (rec.rule, rec.interval_days) == ("safety_hold", 7)


def test_rule4_a_clinicians_decision_clears_the_flag():
    scores = [*BASE, phq(11, 8), phq(18, 4, item9=1)]
    rec = run([*INDUCTION, 18], scores, decisions=[booked(11, 7), booked(18, 7)], now=at(20))
    assert rec.rule == "stable_keep"


def test_rule4_during_induction_a_clinician_reviews():
    rec = run(INDUCTION, [*BASE, phq(11, 6, item9=2)], phase="induction")
    assert (rec.rule, rec.action) == ("safety_hold", "review")


# ---- rule 5: pause at the maximum, reopen on relapse ----------------------------------------------


def _at_maximum(visits_at_max: int):
    params = MaintenanceParams(max_interval_days=21)
    visits, decisions, scores = [*INDUCTION], [booked(11, 7)], [*BASE, phq(11, 8)]
    day_, interval = 11, 7
    for _ in range(2 + visits_at_max):
        day_ += interval
        visits.append(day_)
        scores.append(phq(day_, 6))
        interval = min(interval + 7, 21)
        decisions.append(booked(day_, interval))
    return visits, scores, decisions[:-1], params


@pytest.mark.parametrize(("visits_at_max", "rule"), [(2, "stable_at_maximum"), (3, "pause_suggested")])
def test_rule5_three_stable_visits_at_the_maximum_suggest_a_pause(visits_at_max, rule):
    visits, scores, decisions, params = _at_maximum(visits_at_max)
    rec = run(visits, scores, decisions=decisions, params=params)
    assert rec.rule == rule
    if rule == "pause_suggested":
        assert (rec.action, rec.interval_days, rec.next_due) == ("pause", None, day(visits[-1] + 28))
        assert rec.details["stable_at_max_visits"] == 3


def test_rule5_paused_monitoring_and_relapse_reopens():
    visits, scores, decisions, params = _at_maximum(3)
    last = visits[-1]
    decisions = [*decisions, booked(last, 0, action="pause")]
    decisions[-1] = PastDecision(at=at(last, 12), kind="accepted", action="pause")
    ok = run(
        visits, [*scores, phq(last + 28, 6)], decisions=decisions, phase="paused", params=params, now=at(last + 28, 12)
    )
    assert (ok.rule, ok.action, ok.next_due) == ("paused_monitoring", "monitor", day(last + 56))
    bad = run(
        visits, [*scores, phq(last + 56, 14)], decisions=decisions, phase="paused", params=params, now=at(last + 56, 12)
    )
    assert (bad.rule, bad.rule_number, bad.action, bad.interval_days, bad.next_due) == (
        "relapse_reopen",
        5,
        "book",
        21,
        day(last + 56),
    )
    assert bad.needs_clinician


# ---- rule 6: esketamine -----------------------------------------------------------------------------


ESK = MaintenanceParams(induction_sessions=8, esketamine=True)
ESK_INDUCTION = [0, 3, 7, 10, 14, 17, 21, 24]


@pytest.mark.parametrize(
    ("visit_day", "current", "expected"),
    [
        (31, 7, 7),  # week 5: weekly (label)
        (52, 7, 7),  # week 8: weekly
        (56, 7, 14),  # week 9: may be every 2 weeks
        (70, 14, 14),  # stable at 14: never 21 (label)
    ],
)
def test_rule6_esketamine_weekly_then_every_two_weeks(visit_day, current, expected):
    scores = [phq(-1, 21), phq(24, 8), phq(visit_day, 6)]
    rec = run(
        [*ESK_INDUCTION, visit_day], scores, decisions=[booked(24, 7), booked(visit_day - current, current)], params=ESK
    )
    assert rec.interval_days == expected
    if expected != current + 7:
        assert (rec.rule, rec.rule_number) == ("esketamine_label", 6)


def test_rule6_esketamine_shortens_to_weekly():
    scores = [phq(-1, 21), phq(24, 8), phq(56, 6), phq(70, 15)]
    rec = run([*ESK_INDUCTION, 56, 70], scores, decisions=[booked(24, 7), booked(56, 14)], params=ESK)
    assert (rec.interval_days, rec.rule) == (7, "worse_shorten")


# ---- rule 7: the reasoning ---------------------------------------------------------------------------


def test_rule7_rationale_shows_scores_intervals_and_durability():
    # Response lost 10 days after the session on day 18 and 12 days after the one on day 32.
    scores = [*BASE, phq(11, 8), phq(18, 7), phq(28, 12), phq(32, 7), phq(44, 13), phq(46, 8)]
    rec = run([*INDUCTION, 18, 32, 46], scores, decisions=[booked(11, 7), booked(18, 14), booked(32, 7)])
    durability = rec.details["durability"]
    assert durability["estimated_days"] == 11  # median of 10 and 12
    assert durability["losses_observed"] == 2
    assert "Estimated durability 11 days" in rec.rationale
    assert "PHQ-9 scores: baseline 20" in rec.rationale
    assert "Maintenance intervals so far (days): 7, 14, 7" in rec.rationale
    assert rec.details["intervals"][-1] == {
        "visit_at": at(46).isoformat(),
        "interval_days": 7,
        "stable": True,
        "score": 8,
        "reasons": [],
    }
