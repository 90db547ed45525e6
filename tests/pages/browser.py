"""Helpers of the browser tests."""

from pathlib import Path

# Issue 7: every page works at tablet (1024x768) and phone (390x844) size.
SIZES = {"tablet": {"width": 1024, "height": 768}, "phone": {"width": 390, "height": 844}}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def snap(page, name: str) -> None:
    """Save a full-page screenshot at each size, and check nothing overflows sideways."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for label, size in SIZES.items():
        page.set_viewport_size(size)
        page.wait_for_timeout(50)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{name} overflows sideways by {overflow}px at {label} size"
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size(SIZES["tablet"])
