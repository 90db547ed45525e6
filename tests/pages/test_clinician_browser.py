"""The clinician's journey in a real browser (issue 7, item 3): the worklist, a dose outside
the soft limits approved with a reason, the patient page with the score trajectory and the
maintenance recommendation accepted in one step, and the outcomes report."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from infusions.sessions.models import InfusionSession
from infusions.sessions.services import session_create
from monitoring.followups.models import FollowUp
from monitoring.outcomes.models import MaintenanceDecision
from patients.services import assessment_record
from tests.factories import ChairFactory, CourseFactory
from tests.monitoring.outcome_helpers import items_for
from tests.pages.browser import snap
from tests.pages.scenarios import responder_course

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_clinician_approves_a_dose_and_accepts_a_recommendation(
    page, login, staff, own_patient, other_patient, site, protocol
):
    ChairFactory(site=site, name="Chair 1")
    ChairFactory(site=site, name="Chair 2")
    course = responder_course(patient=other_patient, users=staff, protocol=protocol)
    # A nurse plans 0.9 mg/kg: above the soft range 0.1-0.75, below the hard max 1.0
    # (CLINICAL.md §1, ket-iv-dep), so it waits for a prescriber's approval.
    planned_course = CourseFactory(patient=own_patient, protocol=protocol, created_by=staff["clinician"])
    planned = session_create(actor=staff["nurse"], course=planned_course, dose=Decimal("0.9"))
    assert planned.requires_approval
    # CLINICAL.md §5: PHQ-9 item 9 > 0 is an urgent suicide-risk review for a clinician, at once.
    assessment_record(
        actor=staff["nurse"], patient=own_patient, instrument="PHQ9", items=items_for("PHQ9", 12, item9=1)
    )

    login(staff["clinician"])
    assert page.url.endswith("/worklist/")
    expect(page.get_by_role("region", name="Doses awaiting your approval")).to_contain_text("0.9 mg/kg")
    expect(page.get_by_role("region", name="Follow-ups due")).to_contain_text("Suicide-risk review")
    snap(page, "clinician-worklist")

    page.get_by_role("link", name="Review approvals").click()
    card = page.get_by_role("region", name=re.compile("Own Patient"))
    expect(card).to_contain_text("dose outside soft range")
    snap(page, "clinician-approvals")
    card.get_by_role("button", name=re.compile("Approve dose")).click()
    expect(page.get_by_role("region", name=re.compile("Own Patient")).locator(".error")).to_have_text(
        "This field is required."
    )
    page.get_by_label("Reason for approving this dose").fill("Partial response at 0.75 mg/kg; tolerated well")
    page.get_by_role("button", name=re.compile("Approve dose")).click()
    expect(page.get_by_text(re.compile(r"Dose approved for Own Patient\d*\."))).to_be_visible()
    expect(page.get_by_text("No dose awaits approval.")).to_be_visible()
    planned.refresh_from_db()
    assert (planned.requires_approval, planned.approved_by_id) == (False, staff["clinician"].pk)
    assert planned.override_reason == "Partial response at 0.75 mg/kg; tolerated well"

    # The responder's page: the chart has the scores and the three reference lines.
    page.get_by_role("link", name="Patients").click()
    page.get_by_label("Name or MRN").fill(other_patient.mrn)
    page.keyboard.press("Enter")
    page.get_by_role("link", name=re.compile("^Chart")).click()
    expect(page.locator("#score-chart")).to_have_attribute("data-points", "4")
    legend = page.evaluate("Chart.getChart('score-chart').data.datasets.map(d => d.label)")
    assert legend == ["PHQ-9", "Baseline (20)", "Response (50 % below baseline: 10)", "Remission (PHQ-9 < 5)"]
    recommendation = page.get_by_role("region", name="Maintenance recommendation")
    expect(recommendation).to_contain_text("Rule 1 (induction responder)")
    expect(recommendation).to_contain_text("every 7 days")
    snap(page, "clinician-patient")
    recommendation.get_by_role("button", name="Accept and book the booster").click()
    expect(page.get_by_text(re.compile(r"Recommendation accepted\."))).to_be_visible()
    decision = MaintenanceDecision.objects.get(course=course)
    assert (decision.decision, decision.decided_by_id) == ("accepted", staff["clinician"].pk)
    assert decision.appointment_id is not None
    assert InfusionSession.objects.filter(course=course).count() == 6

    page.get_by_role("link", name="Outcomes").click()
    expect(page.get_by_role("table", name="Outcomes by protocol and indication")).to_contain_text("ket-iv-dep")
    expect(page.locator("#rates-chart")).to_have_attribute("data-bars", "1")
    snap(page, "clinician-outcomes")

    # The follow-up inbox: the suicide-risk review is done, with what was done.
    page.get_by_role("link", name="Follow-ups").click()
    review = page.get_by_role("region", name=re.compile("Suicide-risk review"))
    expect(review).to_contain_text("PHQ-9 item 9 = 1")
    snap(page, "clinician-followups")
    review.get_by_label("What was done").fill("Called the patient; safety plan reviewed, no immediate risk")
    review.get_by_role("button", name="Mark done").click()
    expect(page.get_by_text("Suicide-risk review: done.")).to_be_visible()
    followup = FollowUp.objects.get(patient=own_patient, kind="suicide_risk_review")
    assert (followup.status, followup.completed_by_id) == ("completed", staff["clinician"].pk)
