"""The patient's journey in a real browser (issue 7, item 5): upcoming appointments with
their preparation, the calendar link, a PHQ-9 filled in and seen in the score history."""

from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from infusions.scheduling.services import appointment_book
from patients.models import Assessment
from tests.factories import ChairFactory
from tests.pages.browser import snap

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_patient_sees_appointments_and_fills_in_a_phq9(page, login, staff, own_patient, other_patient, site, protocol):
    chair = ChairFactory(site=site, name="Chair 1")
    day = timezone.localdate() + timedelta(days=2)
    starts_at = datetime.combine(day, time(10, 0), tzinfo=site.tz)
    appointment_book(actor=staff["frontdesk"], patient=own_patient, chair=chair, starts_at=starts_at, protocol=protocol)
    appointment_book(
        actor=staff["frontdesk"],
        patient=other_patient,
        chair=chair,
        starts_at=starts_at + timedelta(hours=3),
        protocol=protocol,
    )
    login(staff["patient"])
    assert page.url.endswith("/portal/")
    upcoming = page.get_by_role("region", name="Upcoming appointments")
    expect(upcoming.get_by_role("article")).to_have_count(1)  # their own only
    expect(upcoming).to_contain_text("10:00")
    expect(upcoming).to_contain_text("Arrive by 09:45.")
    expect(upcoming).to_contain_text("Do not drive until the next day.")

    # A private calendar link, shown once.
    page.get_by_role("button", name="Get a calendar subscription link").click()
    link = page.get_by_label("Your private link")
    assert "/api/v1/calendar/" in link.input_value()
    assert page.request.get(link.input_value()).text().startswith("BEGIN:VCALENDAR")

    # PHQ-9: an unanswered question is named; then the score appears in the history.
    page.get_by_role("link", name="Fill in the PHQ-9").click()
    answers = [1, 2, 1, 1, 0, 1, 1, 0]
    for number, value in enumerate(answers, start=1):
        page.get_by_role("group", name=f"{number}.").get_by_label(
            ["Not at all", "Several days", "More than half the days", "Nearly every day"][value]
        ).check()
    snap(page, "patient-questionnaire")
    page.get_by_role("button", name="Send my answers").click()
    expect(page.locator("#id_item_9_error")).to_have_text("Choose an answer.")
    page.get_by_role("group", name="9.").get_by_label("Not at all").check()
    page.keyboard.press("Enter")
    expect(page.get_by_text("Your PHQ-9 score is 7.")).to_be_visible()
    scores = page.get_by_role("table", name="My questionnaire scores")
    expect(scores.locator("tbody tr")).to_have_count(1)
    expect(scores).to_contain_text("PHQ-9")
    expect(page.locator("#score-chart")).to_have_attribute("data-points", "1")
    snap(page, "patient-portal")
    saved = Assessment.objects.get(patient=own_patient)
    assert (saved.instrument, saved.total, saved.source, saved.recorded_by_id) == (
        "PHQ9",
        7,
        "patient",
        staff["patient"].pk,
    )
