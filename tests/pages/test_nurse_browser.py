"""The nurse's journey in a real browser (issue 7, item 2): the day board, the bedside page
(consent, escort, a baseline set, pre-check, start), a vitals set that raises an alert and
the chart updating without a reload, the alert acknowledged, a side effect, and dosing
completed with the discharge checklist shown."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from infusions.scheduling.services import appointment_book
from infusions.sessions.services import session_create
from monitoring.alerts.models import Alert
from monitoring.bedside.models import SideEffect
from monitoring.vitals.models import VitalSign
from tests.factories import ChairFactory, CourseFactory
from tests.pages.browser import snap

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def _fill_vitals(page, systolic, diastolic, heart_rate, spo2, respiratory_rate):
    form = page.get_by_role("region", name="Log a vitals set")
    form.get_by_label("Systolic (mmHg)").fill(str(systolic))
    form.get_by_label("Diastolic (mmHg)").fill(str(diastolic))
    form.get_by_label("Heart rate (/min)").fill(str(heart_rate))
    form.get_by_label("SpO₂ (%)").fill(str(spo2))
    form.get_by_label("Resp. rate (/min)").fill(str(respiratory_rate))
    form.get_by_role("button", name="Save vitals").click()


def test_nurse_runs_a_session_logs_vitals_and_sees_the_alert(
    daytime, page, login, staff, other_patient, site, protocol
):
    chair = ChairFactory(site=site, name="Chair 1")
    ChairFactory(site=site, name="Chair 2")
    course = CourseFactory(patient=other_patient, protocol=protocol, created_by=staff["clinician"])
    starts_at = timezone.now() + timedelta(minutes=5)
    appointment = appointment_book(
        actor=staff["frontdesk"], patient=other_patient, chair=chair, starts_at=starts_at, protocol=protocol
    )
    session = session_create(actor=staff["nurse"], course=course, dose=Decimal("0.5"), appointment=appointment)

    login(staff["nurse"])
    assert page.url.endswith("/board/")
    card = page.get_by_role("article", name="Chair 1")
    expect(card).to_contain_text(f"{other_patient.given_name} {other_patient.family_name}")
    expect(card).to_contain_text("Planned")
    expect(page.get_by_role("article", name="Chair 2")).to_contain_text("Free")
    snap(page, "nurse-board")

    card.get_by_role("link", name=re.compile("^Open")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(other_patient.family_name)
    # CLINICAL.md §1 worked example: 0.5 mg/kg x 82.4 kg = 41.2 mg; 41.2 mL at 61.8 mL/h.
    expect(page.get_by_role("region", name="Session steps")).to_contain_text("41.2 mL at 61.8 mL/h")

    # Pre-check refuses and lists what is missing.
    page.get_by_role("button", name="Pre-check").click()
    expect(page.get_by_role("alert").first).to_contain_text("Pre-check is not complete")
    page.get_by_role("form", name="Record consent").get_by_role("button", name="Record consent").click()
    escort = page.get_by_role("form", name="Record the escort")
    escort.get_by_label("Escort's name").fill("Sam Carter")
    escort.get_by_label("Escort's phone").fill("07700 900123")
    escort.get_by_role("button", name="Record the escort").click()
    expect(page.get_by_text("Escort recorded.")).to_be_visible()

    # Baseline set through the JSON API: the chart gains a point without a reload.
    _fill_vitals(page, 124, 78, 72, 98, 14)
    expect(page.locator("#vitals-result")).to_contain_text("NEWS2 0 (low)")
    expect(page.locator("#vitals-chart")).to_have_attribute("data-points", "1")
    page.get_by_role("button", name="Pre-check").click()
    expect(page.get_by_text("Pre-check: done.")).to_be_visible()
    page.get_by_role("button", name="Start infusion").click()
    expect(page.locator("#session-status")).to_have_text("Running")

    # A set during the infusion with systolic 182 (CLINICAL.md §3: >= 180 is high, Del Sant
    # 2020) and a rise of +58 from baseline (>= 40 is medium, Spravato label).
    # Typed with the keyboard alone: Tab from field to field, Enter saves.
    page.get_by_label("Systolic (mmHg)").focus()
    for value in ("182", "96", "88", "97", "16"):
        page.keyboard.type(value)
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.locator("#vitals-result")).to_contain_text("Alert raised")
    expect(page.locator("#vitals-chart")).to_have_attribute("data-points", "2")
    alerts = page.locator("#alerts-list")
    expect(alerts.locator(".alert.high")).to_contain_text("BP 182/96 is at or above 180/110")
    expect(alerts.locator(".alert.medium")).to_contain_text("BP rose +58/+18 mmHg from baseline 124/78")
    expect(page.locator("#vitals-table tbody tr")).to_have_count(2)
    # A true time axis (issue 15.5): each reading at its time, straight lines, a marker per reading.
    points = page.evaluate("Chart.getChart('vitals-chart').data.datasets[0].data")
    assert [p["y"] for p in points] == [124, 182]
    assert points[0]["x"] < points[1]["x"]
    chart_options = page.evaluate(
        "(() => { const c = Chart.getChart('vitals-chart'); "
        "return [c.options.scales.x.type, c.data.datasets[0].tension, c.data.datasets[0].pointRadius]; })()"
    )
    assert chart_options == ["time", 0, 5]
    thresholds = page.evaluate(
        "Chart.getChart('vitals-chart').data.datasets.filter(d => d.reference).map(d => [d.label, d.data[0].y])"
    )
    assert ["Systolic high 180", 180] in thresholds
    assert ["Systolic rise +40 = 164", 164] in thresholds
    assert ["SpO₂ low < 92", 92] in thresholds
    snap(page, "nurse-bedside")

    # Acknowledge the high alert.
    alerts.locator(".alert.high").get_by_role("button", name=re.compile("^Acknowledge")).click()
    expect(page.get_by_text("Alert acknowledged.")).to_be_visible()
    high = Alert.objects.get(session=session, rule="bp_high")
    assert (high.status, high.acknowledged_by_id) == ("acknowledged", staff["nurse"].pk)

    # A side effect, from large tiles.
    effects = page.get_by_role("region", name="Side effects")
    effects.get_by_label("Nausea").check()
    effects.get_by_label("Moderate").check()
    effects.get_by_role("button", name="Record the side effect").click()
    expect(page.get_by_role("region", name="Side effects")).to_contain_text("Nausea (Moderate)")
    assert SideEffect.objects.get(session=session).kind == "nausea"

    # Complete dosing: the discharge checklist now says what is still missing.
    page.get_by_label("Dose given (mg)").first.fill("41.2")
    page.get_by_role("button", name="Complete dosing").click()
    expect(page.locator("#session-status")).to_have_text("Completed")
    checklist = page.get_by_role("region", name="Discharge checklist")
    expect(checklist.locator("li.met")).to_contain_text(["A baseline vitals set is on record"])
    expect(checklist.locator("li.unmet").first).to_contain_text("observation time")
    snap(page, "nurse-bedside-observation")
    assert VitalSign.objects.filter(session=session).count() == 2
