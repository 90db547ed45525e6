"""Sign-in in a real browser (issue 7, item 1): a wrong password is refused, then each role
signs in, lands on its own home page, reaches the content with the keyboard and signs out."""

import pytest
from playwright.sync_api import expect

from tests.pages.browser import snap

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

HOMES = [
    ("nurse", "/board/", "Day board"),
    ("clinician", "/worklist/", "Worklist"),
    ("frontdesk", "/patients/", "Patients"),
    ("patient", "/portal/", "Hello"),
    ("admin", "/admin/", "Site administration"),
]


def test_each_role_signs_in_and_lands_on_its_home_page(page, login, staff, own_patient):
    page.goto(f"{page.base}/")
    assert page.url.endswith("/login/")
    snap(page, "login")
    page.get_by_label("Username").fill("nurse")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Please enter a correct username and password")
    assert page.url.endswith("/login/")

    for role, path, heading in HOMES:
        login(staff[role])
        assert page.url == f"{page.base}{path}", role
        expect(page.locator("h1").first).to_contain_text(heading)
        if role == "admin":
            page.goto(f"{page.base}/")  # the admin's home is Django's admin
            page.context.clear_cookies()
            continue
        # Keyboard: the skip link is the first stop and moves the focus to the content.
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Skip to content"
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "main"
        page.get_by_role("button", name="Sign out").click()
        assert page.url.endswith("/login/")
