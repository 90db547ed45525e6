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


def snap(page, name: str) -> None:
    """Save a full-page screenshot at each size, and check nothing overflows sideways."""
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
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size(SIZES["tablet"])
