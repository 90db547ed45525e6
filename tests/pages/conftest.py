"""Browser fixtures: the system Chromium (never `playwright install`), the live server, a
sign-in helper per role and a screenshot of each page at tablet and phone size.

Screenshots go to `test-artifacts/screenshots/` (gitignored; CI keeps the folder as the test
run's artifacts). The browser tests are marked `browser`.
"""

from collections.abc import Callable
from datetime import datetime, time, timedelta

import pytest

from clinic.core.roles import Role
from clinic.models import User
from tests.pages.browser import SIZES

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "pw-for-tests-1"  # tests.factories.UserFactory


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the browser tests last. pytest groups tests by their session-scoped parameters
    (pytest-playwright's `browser_name`), which moves them in among the plain database tests,
    after pytest-django put every transactional test last; a live-server test flushes the
    database when it ends (migration data such as the protocol library included), so the
    database tests after it would fail."""
    browser = [item for item in items if item.get_closest_marker("browser")]
    if browser:
        items[:] = [item for item in items if not item.get_closest_marker("browser")] + browser


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": SIZES["tablet"], "locale": "en-GB"}


@pytest.fixture
def page(page, live_server):
    """A page that fails the test on any JavaScript error, and waits at most 10 s."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_default_timeout(10_000)
    page.base = live_server.url
    yield page
    assert not errors, f"JavaScript errors: {errors}"


@pytest.fixture
def login(page, live_server) -> Callable[[User], None]:
    """Sign in through the sign-in page, as a real user would."""

    def sign_in(user: User, password: str = PASSWORD) -> None:
        page.goto(f"{live_server.url}/login/")
        page.get_by_label("Username").fill(user.username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state("domcontentloaded")

    return sign_in


@pytest.fixture
def staff(users, site) -> dict[str, User]:
    """The `users` accounts with names, the staff working at the site."""
    from tests.factories import StaffMemberFactory

    names = {
        "clinician": ("Claire", "Okafor"),
        "nurse": ("Noah", "Fischer"),
        "frontdesk": ("Farah", "Desai"),
        "admin": ("Ada", "Admin"),
        "patient": ("Own", "Patient"),
    }
    for role, (first, last) in names.items():
        user = users[role]
        user.first_name, user.last_name = first, last
        user.is_staff = role == Role.ADMIN
        user.save()
        if role != Role.PATIENT:
            StaffMemberFactory(user=user, site=site)
    return users


@pytest.fixture
def daytime(site):
    """Tomorrow at 10:00 at the site, the clock running: opening hours, whatever the hour the
    tests run at. time-machine moves the clock of the live server's thread too."""
    import time_machine
    from django.utils import timezone

    day = timezone.now().astimezone(site.tz).date() + timedelta(days=1)
    with time_machine.travel(datetime.combine(day, time(10, 0), tzinfo=site.tz), tick=True):
        yield


@pytest.fixture
def clinic_day(site):
    """09:00 tomorrow at the site, the clock stopped (the page-query and alert-page tests)."""
    import time_machine
    from django.utils import timezone

    day = timezone.now().astimezone(site.tz).date() + timedelta(days=1)
    with time_machine.travel(datetime.combine(day, time(9, 0), tzinfo=site.tz), tick=False) as traveller:
        yield traveller


@pytest.fixture
def staff_at_site(users, site):
    """The clinician, nurse and front desk placed at the site."""
    from tests.factories import StaffMemberFactory

    for role in ("clinician", "nurse", "frontdesk"):
        StaffMemberFactory(user=users[role], site=site)
    return users
