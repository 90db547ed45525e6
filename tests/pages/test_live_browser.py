"""Push to the pages in real Chromium (issue 15, items 1, 5 and 7), one journey:

- a nurse saves a set at the bedside that raises an alert; the board of the same site, open in
  another browser context, shows it without a reload, pushed (the link says "Live"); the
  latency from the POST to the alert on the board is printed, never asserted as a figure;
- every field of the vitals form is empty after the save and the focus is on the first one;
- the push server is killed: the board says so visibly and polls; an alert raised meanwhile
  appears; the push server comes back and the board is live again;
- Redis (the channel layer) is killed: the same, and no alert is lost (on the page and in the
  database).
"""

import re
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from infusions.scheduling.services import appointment_book
from infusions.sessions.services import session_create
from monitoring.alerts.models import Alert
from tests.factories import ChairFactory, CourseFactory
from tests.monitoring.bedside_helpers import record, start
from tests.pages.conftest import PASSWORD
from tests.pages.push_server import push_server

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

LIVE = "Live: changes appear as they happen."
LOST = re.compile("Live updates lost")


def _sign_in(page, base, user):
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("domcontentloaded")


def test_alerts_are_pushed_to_the_board_and_survive_push_and_redis_outages(
    daytime, page, browser, live_server, settings, tmp_path, staff, other_patient, site, protocol
):
    settings.LIVE_POLL_SECONDS = 2
    chair = ChairFactory(site=site, name="Chair 1")
    course = CourseFactory(patient=other_patient, protocol=protocol, created_by=staff["clinician"])
    appointment = appointment_book(
        actor=staff["frontdesk"],
        patient=other_patient,
        chair=chair,
        starts_at=timezone.now() + timedelta(minutes=5),
        protocol=protocol,
    )
    session = session_create(actor=staff["nurse"], course=course, dose=Decimal("0.5"), appointment=appointment)
    session = start(session, staff["nurse"])

    with push_server(settings, tmp_path) as server:
        board_context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
        board = board_context.new_page()
        board.set_default_timeout(10_000)
        _sign_in(board, live_server.url, staff["clinician"])
        board.goto(f"{live_server.url}/board/")
        expect(board.locator("#live-status")).to_have_text(LIVE, timeout=15_000)
        updated_before = board.locator("[data-updated]").inner_text()

        _sign_in(page, live_server.url, staff["nurse"])
        page.goto(f"{live_server.url}/sessions/{session.pk}/")
        expect(page.locator("#live-status")).to_have_text(LIVE, timeout=15_000)
        form = page.get_by_role("region", name="Log a vitals set")
        # CLINICAL.md §3: systolic >= 180 is high (Del Sant 2020).
        for label, value in (
            ("Systolic (mmHg)", "184"),
            ("Diastolic (mmHg)", "96"),
            ("Heart rate (/min)", "80"),
            ("SpO₂ (%)", "97"),
            ("Resp. rate (/min)", "14"),
            ("Temp. (°C)", "36.8"),
        ):
            form.get_by_label(label).fill(value)
        form.get_by_label("ACVPU").select_option("V")
        form.get_by_label("MOAA/S").select_option("4")
        form.get_by_label("On oxygen").check()
        posted = time.monotonic()
        form.get_by_role("button", name="Save vitals").click()
        high = board.locator(".alerts li.alert.high", has_text="184/96")
        expect(high).to_be_visible(timeout=15_000)
        latency = time.monotonic() - posted
        print(f"\nPUSH LATENCY: POST of vitals at the bedside -> alert on the board: {latency * 1000:.0f} ms")
        expect(board.locator("#live-status")).to_have_text(LIVE)  # it came by push, not by polling
        assert board.locator("[data-updated]").inner_text() != updated_before

        # Every field of the form is empty again, ACVPU back to Alert, focus on the first field.
        expect(page.locator("#vitals-result")).to_contain_text("Alert raised")
        for name in ("systolic", "diastolic", "heart_rate", "spo2", "respiratory_rate", "temperature_c", "moaas"):
            expect(page.locator(f"#vitals-form [name={name}]")).to_have_value("")
        expect(page.locator("#vitals-form [name=consciousness]")).to_have_value("A")
        expect(page.locator("#vitals-form [name=on_oxygen]")).not_to_be_checked()
        expect(page.locator("#vitals-form [name=systolic]")).to_be_focused()

        # The push server dies: the board says so and polls; an alert raised meanwhile appears.
        server.kill()
        expect(board.locator("#live-status")).to_have_text(LOST, timeout=30_000)
        expect(board.locator("#live-status")).to_be_visible()
        record(session, staff["nurse"], spo2=89)  # CLINICAL.md §3: SpO2 < 92 % is high
        expect(board.locator(".alerts li.alert.high", has_text="SpO2 89")).to_be_visible(timeout=15_000)
        server.start()
        expect(board.locator("#live-status")).to_have_text(LIVE, timeout=30_000)

        # Redis (the channel layer) dies: the write still commits, the board notices and polls.
        server.redis.stop()
        time.sleep(0.5)
        record(session, staff["nurse"], moaas=0)  # CLINICAL.md §3: MOAA/S 0 is an emergency
        expect(board.locator("#live-status")).to_have_text(LOST, timeout=40_000)
        expect(board.locator(".alerts li.alert.emergency").first).to_be_visible(timeout=15_000)
        server.redis.start()
        expect(board.locator("#live-status")).to_have_text(LIVE, timeout=40_000)

        rules = set(Alert.objects.filter(session=session).values_list("rule", flat=True))
        assert {"bp_high", "spo2_low", "unresponsive"} <= rules
        for rule_text in ("184/96", "SpO2 89", "unresponsive"):
            expect(board.locator(".alerts li.alert", has_text=re.compile(rule_text, re.I)).first).to_be_visible()
        board_context.close()
