"""Front desk's journey in a real browser (issue 7, item 4): find a patient, register one,
give them a portal login, book an induction series from availability, move one session and
cancel another, and see the site's day."""

import re

import pytest
from playwright.sync_api import expect

from monitoring.vitals.models import VitalSign
from patients.models import Patient
from patients.services import screening_record
from tests.factories import ChairFactory, clear_answers
from tests.pages.browser import snap

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_front_desk_registers_a_patient_and_books_a_series(page, login, staff, site, protocol):
    ChairFactory(site=site, name="Chair 1")
    ChairFactory(site=site, name="Chair 2")
    login(staff["frontdesk"])
    assert page.url.endswith("/patients/")

    # Nobody by that name yet.
    page.get_by_label("Name or MRN").fill("Marlowe")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_text("No patient matches “Marlowe”.")).to_be_visible()
    snap(page, "frontdesk-patient-search")

    # Register: a missing field is named, then the patient is created.
    register = page.get_by_role("region", name="Register a patient")
    register.get_by_label("MRN").fill("FD-0001")
    register.get_by_label("Given name").fill("Iris")
    register.get_by_role("button", name="Register").click()
    expect(page.locator("#id_family_name_error")).to_have_text("This field is required.")
    register = page.get_by_role("region", name="Register a patient")
    register.get_by_label("Family name").fill("Marlowe")
    register.get_by_label("Date of birth").fill("1979-04-02")
    register.get_by_label("Sex").select_option("female")
    register.get_by_role("button", name="Register").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Iris Marlowe")
    patient = Patient.objects.get(mrn="FD-0001")

    # A portal login for the patient.
    page.get_by_label("Portal username").fill("iris.marlowe")
    page.get_by_label("Initial password").fill("a-long-portal-pass-42")
    page.get_by_role("button", name="Create portal login").click()
    expect(page.get_by_text("signs in to the portal as iris.marlowe")).to_be_visible()
    snap(page, "frontdesk-patient-details")

    # Without a screening the series is refused by the booking rules, and nothing is booked.
    page.get_by_role("link", name="Appointments and booking").click()
    page.get_by_label("Protocol").select_option(str(protocol.pk))
    page.get_by_label("Induction series").check()
    page.get_by_role("button", name="Find times").click()
    expect(page.get_by_role("heading", name=re.compile("Proposed series: 6 sessions, 3 a week"))).to_be_visible()
    page.get_by_role("button", name="Book the series").click()
    expect(page.get_by_role("alert")).to_contain_text("No contraindication screening is on record.")
    assert patient.appointments.count() == 0

    # A nurse screens the patient (clinical staff only); the same series then books, all six.
    screening_record(actor=staff["nurse"], patient=patient, answers=clear_answers())
    page.get_by_role("button", name="Find times").click()
    snap(page, "frontdesk-book-series")
    page.get_by_role("button", name="Book the series").click()
    expect(page.get_by_text("Booked a series of 6 sessions.")).to_be_visible()
    upcoming = page.get_by_role("table", name="Upcoming appointments")
    expect(upcoming.locator("tbody tr")).to_have_count(6)
    assert patient.appointments.filter(status="booked").count() == 6

    # Move the first session to another free time, with a reason.
    upcoming.get_by_role("link", name=re.compile("^Open")).first.click()
    first_url = page.url
    page.get_by_role("button", name="Find times").click()
    page.locator('input[name="slot"]').last.check()
    page.get_by_label("Why it moves").fill("Clashes with work")
    page.get_by_role("button", name="Move the appointment").click()
    expect(page.get_by_text("Saved.")).to_be_visible()
    expect(page.get_by_role("region", name="History")).to_contain_text("Moved by Farah Desai: Clashes with work")
    snap(page, "frontdesk-appointment")

    # Cancel the second one; a reason is required.
    page.get_by_role("link", name="All appointments of this patient").click()
    page.get_by_role("table", name="Upcoming appointments").get_by_role("link", name=re.compile("^Open")).nth(1).click()
    assert page.url != first_url
    page.get_by_role("button", name="Cancel the appointment").click()
    expect(page.locator("#id_cancel-reason_error")).to_be_visible()
    page.get_by_label("Why it is cancelled").fill("Unwell this week")
    page.get_by_role("button", name="Cancel the appointment").click()
    expect(page.locator(".chip.cancelled").first).to_be_visible()
    assert patient.appointments.filter(status="cancelled").count() == 1

    # The site's day shows the chairs; front desk sees names and protocols, never vitals.
    page.get_by_role("link", name="Appointments", exact=True).click()
    expect(page.get_by_role("region", name="Chair 1")).to_be_visible()
    snap(page, "frontdesk-schedule")
    assert VitalSign.objects.count() == 0
