"""Discharge (CLINICAL.md §4) and what signing means (issue 4 item 7): observation time passed
since the end of dosing; the last set's systolic and heart rate within 20 % of baseline and
SpO2 >= 92 (Modified Aldrete circulation and SpO2 items); no open high or emergency alert; an
escort recorded (Spravato label). Otherwise 409 with the `unmet` list; after discharge the
session is signed and immutable, and amendments are new records."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from clinic.policy import DEFAULT_POLICY
from monitoring.alerts.models import Alert
from monitoring.bedside.discharge import discharge_unmet, within_percent
from monitoring.bedside.models import SessionAmendment, SessionEvent
from monitoring.vitals.models import VitalSign, VitalsSchedule
from tests.factories import SessionFactory
from tests.monitoring.bedside_helpers import NORMAL, complete, record, refresh

T = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


@dataclass
class V:
    systolic: int = 122
    heart_rate: int = 72
    spo2: int = 98
    phase: str = "discharge"


@dataclass
class A:
    rule: str
    severity: str
    status: str


def unmet(**changes):
    values = {
        "now": T + timedelta(minutes=100),
        "dosing_ended_at": T + timedelta(minutes=40),
        "observation_minutes": 60,
        "baseline": V(phase="baseline"),
        "last": V(),
        "alerts": [],
        "escort_recorded": True,
        "policy": DEFAULT_POLICY,
    }
    values.update(changes)
    return [u.rule for u in discharge_unmet(**values)]


@pytest.mark.parametrize(
    ("value", "baseline", "within"),
    [
        pytest.param(144, 120, True, id="Aldrete-+20pct-edge"),
        pytest.param(145, 120, False, id="Aldrete-above-+20pct"),
        pytest.param(96, 120, True, id="Aldrete--20pct-edge"),
        pytest.param(95, 120, False, id="Aldrete-below--20pct"),
        pytest.param(84, 70, True, id="Aldrete-HR-+20pct-edge"),
        pytest.param(85, 70, False, id="Aldrete-HR-above"),
        pytest.param(56, 70, True, id="Aldrete-HR--20pct-edge"),
        pytest.param(55, 70, False, id="Aldrete-HR-below"),
    ],
)
def test_within_20_percent_of_baseline(value, baseline, within):
    assert within_percent(value, baseline, DEFAULT_POLICY.discharge_within_baseline_percent) is within


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param({}, [], id="CLINICAL.md-4-all-hold"),
        pytest.param({"now": T + timedelta(minutes=100)}, [], id="observation-ends-exactly-now"),
        pytest.param(
            {"now": T + timedelta(minutes=100) - timedelta(seconds=1)},
            ["observation_time"],
            id="CLINICAL.md-4-observation-not-passed",
        ),
        pytest.param({"dosing_ended_at": None}, ["dosing_not_ended"], id="dosing-not-ended"),
        pytest.param({"baseline": None}, ["baseline_missing"], id="no-baseline"),
        pytest.param({"last": None}, ["discharge_vitals_missing"], id="no-set-at-all"),
        pytest.param(
            {"last": V(phase="observation")}, ["discharge_vitals_missing"], id="CLINICAL.md-3-no-discharge-set"
        ),
        pytest.param({"last": V(systolic=147)}, ["systolic_not_near_baseline"], id="Aldrete-systolic-147-vs-122"),
        pytest.param({"last": V(systolic=146)}, [], id="Aldrete-systolic-146-vs-122-within"),
        pytest.param({"last": V(heart_rate=87)}, ["heart_rate_not_near_baseline"], id="Aldrete-HR-87-vs-72"),
        pytest.param({"last": V(heart_rate=86)}, [], id="Aldrete-HR-86-vs-72-within"),
        pytest.param({"last": V(spo2=91)}, ["spo2_low"], id="Aldrete-SpO2-91"),
        pytest.param({"last": V(spo2=92)}, [], id="Aldrete-SpO2-92"),
        pytest.param({"alerts": [A("bp_high", "high", "open")]}, ["alerts_unresolved"], id="open-high-alert"),
        pytest.param(
            {"alerts": [A("news2", "emergency", "acknowledged")]}, ["alerts_unresolved"], id="acknowledged-emergency"
        ),
        pytest.param({"alerts": [A("bp_high", "high", "resolved")]}, [], id="resolved-high-alert"),
        pytest.param({"alerts": [A("bp_rise", "medium", "open")]}, [], id="open-medium-alert-does-not-block"),
        pytest.param({"escort_recorded": False}, ["escort_missing"], id="Spravato-label-no-escort"),
        pytest.param({"rems_missing": ["lot_number"]}, ["rems_form_incomplete"], id="REMS-form-incomplete"),
        pytest.param(
            {"last": V(systolic=150, heart_rate=90, spo2=90), "escort_recorded": False},
            ["systolic_not_near_baseline", "heart_rate_not_near_baseline", "spo2_low", "escort_missing"],
            id="everything-listed-at-once",
        ),
    ],
)
def test_discharge_rules(changes, expected):
    assert unmet(**changes) == expected


# ---- through the API --------------------------------------------------------------------------


@pytest.fixture
def observed(users, course):
    """A ket-iv-dep session completed (observation 60 min, CLINICAL.md §1)."""
    return complete(SessionFactory(course=course), users["nurse"])


def discharge(api, user, session):
    return api(user).post(f"/api/v1/sessions/{session.id}/discharge/", {"note": "Home with partner"}, format="json")


@pytest.mark.django_db
def test_not_ready_answers_409_listing_what_is_unmet(api, users, observed):
    with time_machine.travel(observed.dosing_ended_at + timedelta(minutes=30), tick=False):
        record(observed, users["nurse"], systolic=150, diastolic=80)
        r = discharge(api, users["nurse"], observed)
    assert r.status_code == 409
    body = r.json()
    assert body["rule"] == "discharge_not_ready"
    assert [u["rule"] for u in body["unmet"]] == [
        "observation_time",
        "discharge_vitals_missing",
        "systolic_not_near_baseline",
    ]
    assert refresh(observed).status == "completed"
    assert refresh(observed).signed_at is None


@pytest.mark.django_db
def test_discharge_signs_and_freezes_the_session(api, users, observed):
    nurse = api(users["nurse"])
    with time_machine.travel(observed.dosing_ended_at + timedelta(minutes=60), tick=False):
        vital, _ = record(observed, users["nurse"], **NORMAL)
        assert vital.phase == "discharge"
        medium = Alert.objects.create(
            session=observed, rule="bp_rise", severity="medium", message="m", raised_at=timezone.now()
        )
        r = discharge(api, users["nurse"], observed)
        assert r.status_code == 200, r.content
        signed_at = timezone.now()
    body = r.json()
    assert (body["status"], body["signed_by"]) == ("discharged", users["nurse"].id)
    assert body["signed_at"] is not None
    event = SessionEvent.objects.get(session=observed, action="discharge")
    assert (event.actor, event.at, event.reason) == (users["nurse"], signed_at, "Home with partner")
    # Open medium alerts are closed by the signing and named in the event.
    medium.refresh_from_db()
    assert (medium.status, medium.resolved_by) == ("resolved", users["nurse"])
    assert event.data == {"alerts_closed": [medium.id]}
    assert VitalsSchedule.objects.get(session=observed).next_due_at is None

    # Immutable: vitals and changes are refused with 409; nothing was written.
    base = f"/api/v1/sessions/{observed.id}"
    refused = [
        nurse.post(f"{base}/vitals/", NORMAL, format="json"),
        nurse.post(
            f"/api/v1/vitals/{vital.id}/correct/", {"systolic": 121, "correction_reason": "typo"}, format="json"
        ),
        nurse.post(f"{base}/side-effects/", {"kind": "nausea", "severity": "mild"}, format="json"),
        nurse.post(
            f"{base}/interventions/",
            {"drug": "ondansetron", "dose": 4, "dose_unit": "mg", "route": "iv"},
            format="json",
        ),
        nurse.post(f"{base}/consent/", {}, format="json"),
        nurse.post(f"{base}/escort/", {"name": "X", "phone": "1"}, format="json"),
        nurse.post(f"/api/v1/alerts/{medium.id}/resolve/", {}, format="json"),
    ]
    assert [r.status_code for r in refused] == [409] * len(refused)
    assert {r.json()["rule"] for r in refused} == {"session_signed"}
    assert nurse.post(f"{base}/discharge/", {}, format="json").json()["rule"] == "invalid_transition"
    assert VitalSign.objects.filter(session=observed).count() == 2  # the baseline and the discharge set
    # Amendments are new records beside the signed one.
    r = nurse.post(f"{base}/amendments/", {"text": "Patient phoned: home safely."}, format="json")
    assert r.status_code == 201
    assert SessionAmendment.objects.filter(session=observed).count() == 1
    assert refresh(observed).status == "discharged"


@pytest.mark.django_db
def test_an_unresolved_high_alert_blocks_discharge_until_resolved(api, users, observed):
    nurse = api(users["nurse"])
    with time_machine.travel(observed.dosing_ended_at + timedelta(minutes=61), tick=False):
        _, alerts = record(observed, users["nurse"], spo2=91)
        r = discharge(api, users["nurse"], observed)
        assert r.status_code == 409
        assert {u["rule"] for u in r.json()["unmet"]} >= {"spo2_low", "alerts_unresolved"}
        high = next(a for a in alerts if a.rule == "spo2_low")
        assert (
            nurse.post(
                f"/api/v1/alerts/{high.id}/resolve/",
                {"action": "oxygen_airway", "note": "O2 sat improved"},
                format="json",
            ).status_code
            == 200
        )
        record(observed, users["nurse"], spo2=96)
        r = discharge(api, users["nurse"], observed)
    assert r.status_code == 200, r.content


# --- the controlled-substance ledger at signing (CLINICAL.md §8: each session reconciles:
# opened − administered − wasted = 0) ---


def _discharge_ready(session, nurse):
    """Observation passed and a discharge set within 20 % of baseline: only the ledger is left."""
    record(session, nurse, **NORMAL)


@pytest.mark.django_db
def test_a_ledger_that_does_not_reconcile_refuses_signing_with_the_numbers(api, users, observed):
    from infusions.ledger import services as ledger
    from infusions.ledger.models import LedgerEntry, LedgerReconciliation

    given = observed.total_dose_mg
    vial = LedgerEntry.objects.get(session=observed, kind="open").container
    ledger.ledger_open(actor=users["nurse"], session=observed, container=vial, amount_mg=Decimal("10"))
    with time_machine.travel(observed.dosing_ended_at + timedelta(minutes=61), tick=False):
        _discharge_ready(observed, users["nurse"])
        r = discharge(api, users["nurse"], observed)
    assert r.status_code == 409, r.content
    body = r.json()
    assert body["rule"] == "ledger_not_reconciled"
    opened = (given + Decimal("10")).quantize(Decimal("0.001"))
    assert (body["opened_mg"], body["administered_mg"], body["wasted_mg"], body["lost_mg"]) == (
        str(opened),
        str(given.quantize(Decimal("0.001"))),
        "0.000",
        "0.000",
    )
    assert body["difference_mg"] == "10.000"
    assert body["reasons"] == ["unaccounted_drug"]
    assert "= 10.000 mg" in body["detail"]
    # Refused: nothing signed, nothing recorded.
    assert (refresh(observed).status, refresh(observed).signed_at) == ("completed", None)
    assert not LedgerReconciliation.objects.filter(session=observed).exists()
    assert not SessionEvent.objects.filter(session=observed, action="discharge").exists()


@pytest.mark.django_db
def test_a_clinician_and_a_witness_resolve_the_discrepancy_then_signing_goes_ahead(api, users, observed):
    from infusions.ledger import services as ledger
    from infusions.ledger.models import LedgerEntry, LedgerReconciliation
    from tests.factories import UserFactory

    witness = UserFactory(username="nurse-witness", role="nurse")
    vial = LedgerEntry.objects.get(session=observed, kind="open").container
    ledger.ledger_open(actor=users["nurse"], session=observed, container=vial, amount_mg=Decimal("10"))
    url = f"/api/v1/ledger/sessions/{observed.id}/resolve/"
    answer = {"witness": witness.id, "witness_password": "pw-for-tests-1", "note": "Syringe dropped; 10 mg lost."}
    # A nurse may not; a clinician needs the witness's own password; then it is recorded.
    assert api(users["nurse"]).post(url, answer, format="json").status_code == 403
    wrong = api(users["clinician"]).post(url, {**answer, "witness_password": "nope"}, format="json")
    assert (wrong.status_code, list(wrong.json())) == (400, ["witness_password"])
    assert not LedgerReconciliation.objects.filter(session=observed).exists()
    r = api(users["clinician"]).post(url, answer, format="json")
    assert r.status_code == 201, r.content
    assert (r.json()["status"], r.json()["witness"], r.json()["difference_mg"]) == ("resolved", witness.id, 10.0)
    with time_machine.travel(observed.dosing_ended_at + timedelta(minutes=61), tick=False):
        _discharge_ready(observed, users["nurse"])
        r = discharge(api, users["nurse"], observed)
    assert r.status_code == 200, r.content
    history = list(
        LedgerReconciliation.objects.filter(session=observed).order_by("id").values_list("status", flat=True)
    )
    assert history == ["discrepancy", "resolved"]  # the discrepancy stays visible


@pytest.mark.django_db
def test_a_resolution_no_longer_stands_once_the_numbers_change(api, users, observed):
    from infusions.ledger import services as ledger
    from infusions.ledger.models import LedgerEntry
    from tests.factories import UserFactory

    witness = UserFactory(username="nurse-witness", role="nurse")
    vial = LedgerEntry.objects.get(session=observed, kind="open").container
    ledger.ledger_open(actor=users["nurse"], session=observed, container=vial, amount_mg=Decimal("10"))
    ledger.ledger_discrepancy_resolve(
        actor=users["clinician"], session=observed, witness=witness, witness_password="pw-for-tests-1", note="Lost"
    )
    ledger.ledger_open(actor=users["nurse"], session=observed, container=vial, amount_mg=Decimal("5"))
    with time_machine.travel(observed.dosing_ended_at + timedelta(minutes=61), tick=False):
        _discharge_ready(observed, users["nurse"])
        r = discharge(api, users["nurse"], observed)
    assert (r.status_code, r.json()["rule"], r.json()["difference_mg"]) == (409, "ledger_not_reconciled", "15.000")


@pytest.mark.django_db
def test_a_session_that_gave_drug_with_no_ledger_entry_is_not_signed(api, users, course):
    from monitoring.bedside import services as bedside
    from tests.monitoring.bedside_helpers import start

    session = start(SessionFactory(course=course), users["nurse"])
    session = bedside.session_complete(actor=users["nurse"], session=session, actual_dose_mg=session.total_dose_mg)
    with time_machine.travel(session.dosing_ended_at + timedelta(minutes=61), tick=False):
        _discharge_ready(session, users["nurse"])
        r = discharge(api, users["nurse"], session)
    assert r.status_code == 409
    assert r.json()["reasons"] == ["administered_differs_from_charted_dose", "no_drug_recorded_for_session"]
    assert (r.json()["opened_mg"], r.json()["charted_dose_mg"]) == ("0.000", str(session.total_dose_mg))


@pytest.mark.django_db
def test_a_balanced_ledger_is_reconciled_by_the_signing(api, users, observed):
    from infusions.ledger.models import LedgerReconciliation

    with time_machine.travel(observed.dosing_ended_at + timedelta(minutes=61), tick=False):
        _discharge_ready(observed, users["nurse"])
        assert discharge(api, users["nurse"], observed).status_code == 200
    (row,) = LedgerReconciliation.objects.filter(session=observed)
    assert (row.status, row.reconciled_by, row.difference_mg, row.note) == (
        "balanced",
        users["nurse"],
        Decimal("0.000"),
        "At discharge.",
    )
