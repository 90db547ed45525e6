"""Sign-in in a real browser: each role lands on its own home page (issue 7, item 1)."""

import pytest

from tests.pages.browser import snap

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_sign_in_page_and_bad_password(page, staff):
    page.goto(f"{page.base}/")
    assert page.url.endswith("/login/")
    snap(page, "login")
    page.get_by_label("Username").fill("nurse")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").is_visible()
    assert page.url.endswith("/login/")


@pytest.mark.parametrize(
    ("role", "path", "heading"),
    [
        ("nurse", "/board/", "Day board"),
        ("clinician", "/worklist/", "Worklist"),
        ("frontdesk", "/patients/", "Patients"),
        ("patient", "/portal/", "Hello"),
        ("admin", "/admin/", "Site administration"),
    ],
)
def test_each_role_lands_on_its_home_page(page, login, staff, own_patient, role, path, heading):
    login(staff[role])
    assert page.url == f"{page.base}{path}"
    assert heading in page.locator("h1").first.inner_text()
    if role != "admin":
        # Keyboard: the skip link is the first stop and leads to the content.
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Skip to content"
        page.get_by_role("button", name="Sign out").click()
        assert page.url.endswith("/login/")
