"""Course outcomes (CLINICAL.md §5) and the outcomes report per protocol and indication.

Response: >= 50 % below the course's baseline (the last score before its first session).
Remission: PHQ-9 < 5 (CMS159); MADRS <= 10, <= 12 selectable. Chronic pain response: >= 30 %
lower pain NRS [U]. Sessions until first response: sessions given up to the first response.
"""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from infusions.protocols.models import Protocol
from monitoring.outcomes.measures import OutcomeRules, ScorePoint, course_outcome, is_remission, is_response
from monitoring.outcomes.selectors import REPORT_COLUMNS, outcomes_report
from tests.factories import CourseFactory, PatientFactory, SessionFactory
from tests.monitoring.outcome_helpers import client_for, items_for

T0 = datetime(2025, 3, 1, 9, tzinfo=UTC)  # in the past: assessments may not be dated ahead
RULES = OutcomeRules()


def pt(day: float, total: int, instrument: str = "PHQ9") -> ScorePoint:
    return ScorePoint(at=T0 + timedelta(days=day), instrument=instrument, total=total)


@pytest.mark.parametrize(
    ("instrument", "baseline", "total", "response"),
    [
        ("PHQ9", 20, 10, True),  # exactly 50 % below: a response (CLINICAL.md §5)
        ("PHQ9", 20, 11, False),  # 45 %
        ("PHQ9", 21, 10, True),  # 52.4 %
        ("PHQ9", 21, 11, False),  # 47.6 %
        ("MADRS", 30, 15, True),
        ("MADRS", 30, 16, False),
        ("PAIN_NRS", 10, 7, True),  # exactly 30 % lower NRS [U]
        ("PAIN_NRS", 10, 8, False),  # 20 %
        ("PAIN_NRS", 7, 5, False),  # 28.6 %
        ("PAIN_NRS", 7, 4, True),  # 42.9 %
        ("PHQ9", 0, 0, False),  # a baseline of 0 cannot fall
    ],
    ids=lambda v: str(v),
)
def test_response_threshold_clinical_md_5(instrument, baseline, total, response):
    assert is_response(instrument, baseline, total, RULES) is response


@pytest.mark.parametrize(
    ("instrument", "total", "rules", "remission"),
    [
        ("PHQ9", 4, RULES, True),  # PHQ-9 < 5 (CMS159)
        ("PHQ9", 5, RULES, False),
        ("MADRS", 10, RULES, True),  # MADRS <= 10
        ("MADRS", 11, RULES, False),
        ("MADRS", 12, OutcomeRules(madrs_remission_max=12), True),  # <= 12 selectable
        ("MADRS", 13, OutcomeRules(madrs_remission_max=12), False),
        ("GAD7", 0, RULES, None),
        ("PAIN_NRS", 0, RULES, None),
    ],
)
def test_remission_threshold_clinical_md_5(instrument, total, rules, remission):
    assert is_remission(instrument, total, rules) is remission


def test_baseline_is_the_last_score_before_the_first_session_and_sessions_to_response():
    sessions = [T0 + timedelta(days=d) for d in (0, 2, 4, 7, 9, 11)]
    scores = [pt(-10, 24), pt(-1, 22), pt(3, 18), pt(6.9, 12), pt(8.9, 10), pt(10.9, 4)]
    outcome = course_outcome(indication="trd", session_times=sessions, scores=scores, rules=RULES)
    assert (outcome.instrument, outcome.baseline.total, outcome.current.total) == ("PHQ9", 22, 4)
    assert outcome.change_percent == 81.8
    assert (outcome.response, outcome.remission, outcome.ever_responded, outcome.ever_remitted) == (
        True,
        True,
        True,
        True,
    )
    # 10 (day 8.9) is the first score >= 50 % below 22; 4 sessions were given by then.
    assert outcome.first_response_at == T0 + timedelta(days=8.9)
    assert outcome.sessions_to_first_response == 4


def test_a_pain_course_is_judged_by_pain_nrs_at_30_percent():
    sessions = [T0 + timedelta(days=d) for d in range(10)]
    scores = [pt(-1, 8, "PAIN_NRS"), pt(-1, 15), pt(5.5, 6, "PAIN_NRS"), pt(9.5, 5, "PAIN_NRS"), pt(9.5, 14)]
    outcome = course_outcome(indication="crps", session_times=sessions, scores=scores, rules=RULES)
    assert (outcome.instrument, outcome.baseline.total, outcome.current.total) == ("PAIN_NRS", 8, 5)
    assert outcome.response_threshold_percent == 30
    # 6 (day 5.5) is only 25 % lower; 5 (day 9.5) is 37.5 % lower, after all 10 sessions.
    assert (outcome.response, outcome.remission, outcome.sessions_to_first_response) == (True, None, 10)


def test_no_baseline_means_no_response_judgement():
    outcome = course_outcome(indication="trd", session_times=[T0], scores=[pt(1, 3)], rules=RULES)
    assert (outcome.baseline, outcome.response, outcome.ever_responded) == (None, None, False)
    assert outcome.remission is True  # remission needs no baseline


# ---- the API: one course --------------------------------------------------------------------


@pytest.mark.django_db
def test_course_outcome_endpoint(users, course):
    from patients.services import assessment_record

    patient = course.patient
    assessment_record(
        actor=users["nurse"],
        patient=patient,
        instrument="PHQ9",
        items=items_for("PHQ9", 20),
        administered_at=T0 - timedelta(days=1),
    )
    for day in (0, 2, 4):
        SessionFactory(course=course, status="discharged", started_at=T0 + timedelta(days=day))
    assessment_record(
        actor=users["nurse"],
        patient=patient,
        instrument="PHQ9",
        items=items_for("PHQ9", 9),
        administered_at=T0 + timedelta(days=3),
    )
    r = client_for(users["nurse"]).get(f"/api/v1/courses/{course.id}/outcomes/")
    assert r.status_code == 200
    body = r.json()
    assert (body["instrument"], body["baseline"]["total"], body["current"]["total"]) == ("PHQ9", 20, 9)
    assert (body["change_percent"], body["response"], body["remission"]) == (55.0, True, False)
    assert (body["sessions_given"], body["sessions_to_first_response"]) == (3, 2)


# ---- the outcomes report ----------------------------------------------------------------------


def _course(users, protocol, indication, baseline, later, sessions, *, phase="maintenance", instrument="PHQ9"):
    from patients.services import assessment_record

    patient = PatientFactory()
    course = CourseFactory(patient=patient, protocol=protocol, indication=indication, phase=phase)
    if baseline is not None:
        assessment_record(
            actor=users["nurse"],
            patient=patient,
            instrument=instrument,
            items=items_for(instrument, baseline),
            administered_at=T0 - timedelta(days=1),
        )
    for n in range(sessions):
        SessionFactory(course=course, status="discharged", started_at=T0 + timedelta(days=2 * n))
    for n, total in enumerate(later):
        assessment_record(
            actor=users["nurse"],
            patient=patient,
            instrument=instrument,
            items=items_for(instrument, total),
            administered_at=T0 + timedelta(days=2 * n + 1),
        )
    return course


@pytest.fixture
def report_data(db, users):
    iv = Protocol.objects.get(code="ket-iv-dep")
    esk = Protocol.objects.get(code="esk-in-trd")
    crps = Protocol.objects.get(code="ket-iv-crps")
    _course(users, iv, "trd", 20, [15, 9, 4], 6)  # response after 2 sessions, remission
    _course(users, iv, "trd", 22, [20, 14, 10], 6)  # response (10 <= 11) after 3 sessions
    _course(users, iv, "trd", 20, [19, 18, 17], 6)  # no response
    _course(users, iv, "trd", 18, [], 1, phase="ended")  # stopped after the first session
    _course(users, iv, "depression", None, [8], 2)  # no baseline: not evaluable
    _course(users, esk, "trd", 24, [10], 4)  # response after 1 session
    _course(users, crps, "crps", 8, [7, 5], 10, instrument="PAIN_NRS")  # 5 is 37.5 % lower (>= 30 %) after 2 sessions


def test_report_per_protocol_and_indication(users, report_data):
    rows = {(r["protocol"], r["indication"]): r for r in outcomes_report(user=users["clinician"])}
    iv = rows[("ket-iv-dep", "trd")]
    assert (iv["courses"], iv["evaluable"], iv["responders"], iv["response_rate"]) == (4, 3, 2, 0.667)
    assert (iv["remitters"], iv["remission_rate"]) == (1, 0.333)
    assert iv["median_sessions_to_response"] == 2.5
    assert (iv["stopped_after_first_session"], iv["stopped_after_first_session_share"]) == (1, 0.25)
    dep = rows[("ket-iv-dep", "depression")]
    assert (dep["courses"], dep["evaluable"], dep["response_rate"], dep["median_sessions_to_response"]) == (
        1,
        0,
        None,
        None,
    )
    esk = rows[("esk-in-trd", "trd")]
    assert (esk["response_rate"], esk["median_sessions_to_response"]) == (1.0, 1)
    crps = rows[("ket-iv-crps", "crps")]
    assert (crps["response_rate"], crps["remission_rate"], crps["median_sessions_to_response"]) == (1.0, None, 2)


def test_report_json_and_csv(users, report_data):
    client = client_for(users["clinician"])
    r = client.get("/api/v1/reports/outcomes/")
    assert r.status_code == 200
    assert r["Content-Type"].startswith("application/json")
    rows = r.json()
    assert [(row["protocol"], row["indication"]) for row in rows] == sorted(
        (row["protocol"], row["indication"]) for row in rows
    )
    for path in ("/api/v1/reports/outcomes/?format=csv", "/api/v1/reports/outcomes.csv"):
        r = client.get(path)
        assert r.status_code == 200, path
        assert r["Content-Type"].startswith("text/csv")
        assert "attachment" in r["Content-Disposition"]
        parsed = list(csv.DictReader(io.StringIO(r.content.decode())))
        assert tuple(parsed[0].keys()) == REPORT_COLUMNS
        assert len(parsed) == len(rows)
        iv = next(p for p in parsed if (p["protocol"], p["indication"]) == ("ket-iv-dep", "trd"))
        assert (iv["courses"], iv["response_rate"], iv["median_sessions_to_response"]) == ("4", "0.667", "2.5")


def test_report_filters_and_validation(users, report_data):
    client = client_for(users["clinician"])
    assert client.get("/api/v1/reports/outcomes/?site=999999").json() == []
    assert client.get("/api/v1/reports/outcomes/?lapsed_after_days=0").status_code == 400
    assert client.get("/api/v1/reports/outcomes/?site=x").status_code == 400


def test_stopped_after_first_session_counts_lapsed_courses(users, db):
    """One session, course still active: stopped once nothing followed for 28 days [U]."""
    iv = Protocol.objects.get(code="ket-iv-dep")
    _course(users, iv, "trd", 20, [], 1)
    now = T0 + timedelta(days=10)
    assert outcomes_report(user=users["clinician"], now=now)[0]["stopped_after_first_session"] == 0
    later = T0 + timedelta(days=29)
    assert outcomes_report(user=users["clinician"], now=later)[0]["stopped_after_first_session"] == 1


@pytest.mark.parametrize("size", [2, 8])
def test_report_query_count_is_constant(users, db, django_assert_num_queries, size):
    iv = Protocol.objects.get(code="ket-iv-dep")
    for n in range(size):
        _course(users, iv, "trd" if n % 2 else "depression", 20, [12, 8], 3)
    with django_assert_num_queries(3):  # courses, sessions, scores
        rows = outcomes_report(user=users["clinician"])
    assert sum(r["courses"] for r in rows) == size


@pytest.mark.parametrize("size", [2, 12])
def test_course_history_query_count_is_constant(users, course, django_assert_num_queries, size):
    from monitoring.outcomes.selectors import course_for_outcomes, course_history

    _course(users, course.protocol, "trd", 20, [10] * size, size)
    course = course_for_outcomes(user=users["clinician"], course_id=course.pk)
    with django_assert_num_queries(4):  # sessions, next course, scores, decisions
        history = course_history(course=course)
        history.outcome()
    assert history.course == course


@pytest.mark.parametrize("role", ["admin", "clinician", "nurse", "frontdesk", "patient"])
def test_report_permissions(users, db, role):
    """Aggregates for the clinic: clinicians and admins; nurses and front desk 403; a patient 403
    (no object in the path)."""
    r = client_for(users[role]).get("/api/v1/reports/outcomes/")
    assert r.status_code == (200 if role in ("admin", "clinician") else 403)
    r = client_for(users[role]).get("/api/v1/reports/outcomes.csv")
    assert r.status_code == (200 if role in ("admin", "clinician") else 403)
