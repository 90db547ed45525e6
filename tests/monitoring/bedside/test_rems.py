"""Esketamine: the Spravato REMS Patient Monitoring Form (clinical-research.md §3.1) is
captured, the session cannot be signed until it is complete, it exports as JSON and as a
printable page, and a `rems_form` follow-up is due within 7 days (CLINICAL.md §7)."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from monitoring.bedside import services as bedside
from monitoring.bedside.models import RemsMonitoringForm, SessionEvent
from monitoring.bedside.rems import YES_NO_FIELDS
from monitoring.followups.keys import record_key
from monitoring.followups.models import FollowUp
from tests.factories import SessionFactory
from tests.monitoring.bedside_helpers import esketamine_course, esketamine_session, ledger_given, record, refresh, start

pytestmark = pytest.mark.django_db

ANSWERS = {
    "first_treatment": True,
    "patient_enrolled_in_rems": True,
    "benzodiazepines": False,
    "non_benzodiazepine_sedative_hypnotics": False,
    "psychostimulants": True,
    "maois": False,
    "opioids": False,
    "monitoring_hcp_name": "Noah Fischer RN",
    "monitoring_hcp_phone": "+1 555 0100",
    "monitoring_hcp_email": "noah@example.org",
    "setting_name": "Riverside Infusion Centre",
    "setting_address": "1 River Road, Springfield",
    "lot_number": "ESK-24-0917",
    "ready_to_leave_minutes": 95,
    "vitals_acceptable_before_administration": True,
    "vitals_acceptable_before_completion": True,
    "sedation": True,
    "sedation_details": "MOAA/S 3 at 30 min, resolved by 60 min.",
    "dissociation": True,
    "dissociation_details": "Expected, resolved by 90 min.",
    "respiratory_depression": False,
}


@pytest.fixture
def esk(users, own_patient):
    return esketamine_session(esketamine_course(own_patient, users["clinician"]))


def form_url(session, tail=""):
    return f"/api/v1/sessions/{session.id}/rems-form/{tail}"


def run_esketamine(session, nurse, clock):
    """Spravato label schedule: baseline, dosing 15 min, the 40-min BP, 2 h observation,
    then the discharge set (CLINICAL.md §1 and §3)."""
    session = start(session, nurse)
    t0 = session.started_at
    clock.shift(timedelta(minutes=10))
    record(session, nurse, moaas=3)
    clock.shift(timedelta(minutes=5))
    ledger_given(session, nurse, session.total_dose_mg)
    session = bedside.session_complete(actor=nurse, session=refresh(session), actual_dose_mg=session.total_dose_mg)
    for minute in (30, 40, 55, 70, 85, 100, 115, 130):
        clock.move_to(t0 + timedelta(minutes=minute))
        record(session, nurse, systolic=134 if minute == 40 else 124, diastolic=82)
    clock.move_to(t0 + timedelta(minutes=135))  # 15 min dosing + 120 min observation
    record(session, nurse)
    return refresh(session)


def test_the_form_is_required_before_signing(api, users, esk):
    nurse = api(users["nurse"])
    with time_machine.travel(timezone.now(), tick=False) as clock:
        session = run_esketamine(esk, users["nurse"], clock)
        r = nurse.post(f"/api/v1/sessions/{session.id}/discharge/", {}, format="json")
        assert r.status_code == 409
        unmet = {u["rule"]: u["detail"] for u in r.json()["unmet"]}
        assert list(unmet) == ["rems_form_incomplete"]  # CLINICAL.md §4 otherwise holds
        for name in YES_NO_FIELDS + ("lot_number", "ready_to_leave_minutes"):
            assert name in unmet["rems_form_incomplete"]

        # Partial answers are saved; details become required once an event is "yes".
        r = nurse.patch(form_url(session), {"lot_number": "ESK-24-0917", "sedation": True}, format="json")
        assert r.status_code == 200, r.content
        state = r.json()
        assert state["saved"] is True
        assert state["complete"] is False
        assert "sedation_details" in state["missing"]
        assert "lot_number" not in state["missing"]
        # The session's own records supply dose and blood pressures.
        assert not {"dose_given", "bp_before_administration", "bp_at_40_minutes", "bp_before_completion"} & set(
            state["missing"]
        )

        r = nurse.patch(form_url(session), ANSWERS, format="json")
        assert r.json()["complete"] is True
        assert r.json()["missing"] == []
        r = nurse.post(f"/api/v1/sessions/{session.id}/discharge/", {}, format="json")
        assert r.status_code == 200, r.content
        signed_at = timezone.now()

    # Frozen once signed.
    r = nurse.patch(form_url(session), {"lot_number": "OTHER"}, format="json")
    assert (r.status_code, r.json()["rule"]) == (409, "session_signed")
    assert RemsMonitoringForm.objects.get(session=session).lot_number == "ESK-24-0917"

    # Each change was recorded with the values before.
    changes = SessionEvent.objects.filter(session=session, action="rems_form_updated").order_by("at", "id")
    assert changes[0].data["changed"]["lot_number"] == {"before": None, "after": "ESK-24-0917"}
    assert changes[1].data["changed"]["sedation_details"] == {"before": "", "after": ANSWERS["sedation_details"]}

    # CLINICAL.md §7: the REMS form within 7 days of the session, for a nurse, exactly one row.
    followup = FollowUp.objects.get(key=record_key("rems_form", session))
    assert (followup.kind, followup.assignee_role, followup.patient_id) == (
        "rems_form",
        "nurse",
        session.course.patient_id,
    )
    # Due 7 local days after the session's dosing ended (the planner's rule; +-1 h across a DST change).
    assert abs(followup.due_at - (session.dosing_ended_at + timedelta(days=7))) <= timedelta(hours=1)
    assert followup.due_at > signed_at

    # Submitting the signed form completes the follow-up.
    r = nurse.post(form_url(session, "submit/"))
    assert r.status_code == 200
    assert r.json()["submitted_at"] is not None
    followup.refresh_from_db()
    assert followup.status == "completed"
    r = nurse.post(form_url(session, "submit/"))
    assert (r.status_code, r.json()["rule"]) == (409, "rems_form_already_submitted")


def test_export_as_json_and_printable_page(api, users, esk):
    nurse = api(users["nurse"])
    with time_machine.travel(timezone.now(), tick=False) as clock:
        session = run_esketamine(esk, users["nurse"], clock)
        nurse.patch(form_url(session), ANSWERS, format="json")
        nurse.post(f"/api/v1/sessions/{session.id}/discharge/", {}, format="json")
    r = nurse.get(form_url(session, "export/"))
    assert r.status_code == 200
    assert "attachment" in r["Content-Disposition"]
    doc = r.json()
    patient = session.course.patient
    assert doc["complete"] is True
    assert doc["patient"] == {
        "name": f"{patient.given_name} {patient.family_name}",
        "mrn": patient.mrn,
        "date_of_birth": patient.birth_date.isoformat(),
        "sex": patient.sex,
        "first_treatment": True,
        "enrolled_in_rems": True,
    }
    assert doc["concomitant_medications"]["psychostimulants"] is True
    # 56 mg given (two 28 mg devices): the form's "56 mg" box.
    assert (doc["treatment"]["dose_given_mg"], doc["treatment"]["dose_category"]) == (56.0, "56 mg")
    assert doc["treatment"]["lot_number"] == "ESK-24-0917"
    # From the first device to the end of monitoring: 135 min (>= the 2-hour minimum).
    assert doc["treatment"]["total_monitoring_minutes"] == 135
    vitals = doc["vital_signs"]
    assert (vitals["bp_before_administration"]["systolic"], vitals["bp_at_40_minutes"]["systolic"]) == (122, 134)
    assert vitals["bp_before_completion"]["systolic"] == 122
    assert doc["events"]["sedation"] == {"occurred": True, "details": ANSWERS["sedation_details"]}

    page = nurse.get(form_url(session, "print/"))
    assert page.status_code == 200
    assert page["Content-Type"].startswith("text/html")
    html = page.content.decode()
    for text in ("SPRAVATO REMS Patient Monitoring Form", "ESK-24-0917", "134/82", "135 minutes", patient.mrn):
        assert text in html


def test_ketamine_sessions_have_no_rems_form(api, users, course):
    session = SessionFactory(course=course)
    nurse = api(users["nurse"])
    for response in (
        nurse.get(form_url(session)),
        nurse.patch(form_url(session), {"lot_number": "X"}, format="json"),
        nurse.get(form_url(session, "export/")),
        nurse.get(form_url(session, "print/")),
    ):
        assert response.status_code == 404
        assert response.json()["rule"] == "rems_not_applicable"


def test_unknown_or_wrong_answers_are_400(api, users, esk):
    nurse = api(users["nurse"])
    r = nurse.patch(form_url(esk), {"ready_to_leave_minutes": -5, "sedation": "perhaps"}, format="json")
    assert r.status_code == 400
    assert set(r.json()) == {"ready_to_leave_minutes", "sedation"}
    assert not RemsMonitoringForm.objects.exists()


def test_suggestions_come_from_the_screening_medications(api, users, esk):
    from tests.factories import ScreeningFactory, clear_answers

    ScreeningFactory(
        patient=esk.course.patient,
        answers=clear_answers(medications=["lorazepam"]),
        medication_flags=[{"medication": "lorazepam", "flag": "benzodiazepine", "advice": "Sedation"}],
        screened_at=timezone.now() - timedelta(minutes=1),
    )
    state = api(users["nurse"]).get(form_url(esk)).json()
    assert state["saved"] is False
    assert state["suggestions"] == {
        "benzodiazepines": True,
        "non_benzodiazepine_sedative_hypnotics": False,
        "psychostimulants": False,
        "maois": False,
    }
    assert state["answers"]["benzodiazepines"] is None  # a suggestion is never an answer
