"""Helpers of the browser tests."""

from pathlib import Path

# Issue 7: every page works at tablet (1024x768) and phone (390x844) size.
SIZES = {"tablet": {"width": 1024, "height": 768}, "phone": {"width": 390, "height": 844}}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


# The elements that stick out to the right of the viewport (to name them when a page overflows).
WIDEST = """() => {
  const width = window.innerWidth, out = [];
  for (const e of document.querySelectorAll("body *")) {
    const r = e.getBoundingClientRect();
    const inScroller = e.parentElement && e.parentElement.closest(".table-wrap");
    if (r.right > width + 1 && !inScroller) out.push(`${e.tagName}.${e.className} ${Math.round(r.right)}px`);
  }
  return out.slice(0, 10);
}"""


# Every visible form field has a label (issue 7: labelled fields).
UNLABELLED = """() => [...document.querySelectorAll("input, select, textarea")]
  .filter(e => e.type !== "hidden" && e.offsetParent !== null)
  .filter(e => !(e.labels && e.labels.length) && !e.getAttribute("aria-label"))
  .map(e => e.name || e.id)"""
# Buttons (and links styled as buttons) at least 44 px high: touch targets.
SMALL_TARGETS = """() => [...document.querySelectorAll("button, .button, summary.button")]
  .filter(e => e.offsetParent !== null && e.getBoundingClientRect().height < 43.5)
  .map(e => `${e.textContent.trim().slice(0, 30)} ${Math.round(e.getBoundingClientRect().height)}px`)"""


def snap(page, name: str) -> None:
    """Save a full-page screenshot at each size, and check at each that nothing overflows
    sideways, every field has a label and every button is a 44 px touch target."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for label, size in SIZES.items():
        page.set_viewport_size(size)
        # Charts resize on the next frames (ResizeObserver): give the layout a moment to settle.
        overflow = 0
        for _ in range(10):
            page.wait_for_timeout(60)
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            if overflow <= 1:
                break
        if overflow > 1:
            culprits = page.evaluate(WIDEST)
            raise AssertionError(f"{name} overflows sideways by {overflow}px at {label} size: {culprits}")
        assert not page.evaluate(UNLABELLED), f"{name}: fields without a label: {page.evaluate(UNLABELLED)}"
        assert not page.evaluate(SMALL_TARGETS), f"{name}: small touch targets: {page.evaluate(SMALL_TARGETS)}"
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size(SIZES["tablet"])
