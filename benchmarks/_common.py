"""Shared by the benchmark scripts: Django set-up, timing, and one way to print a figure."""

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def django_setup() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.bench")
    import django

    django.setup()


def timed(fn: Callable[[], object], repeat: int = 1) -> float:
    """Best wall-clock seconds of `repeat` runs."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def figure(name: str, value: float, unit: str, *, target: str = "", ratio: float | None = None) -> None:
    """One line per figure: name, value, unit, and (when there is one) the target and ratio."""
    parts = [f"{name:<58} {value:>12,.2f} {unit}"]
    if ratio is not None:
        parts.append(f"ratio {ratio:.2f}")
    if target:
        parts.append(f"target {target}")
    print("  ".join(parts), flush=True)
