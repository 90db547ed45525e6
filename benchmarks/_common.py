"""Shared by the benchmark scripts: Django set-up, timing, and one way to print a figure."""

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse, urlunparse

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


def _admin_sql(url: str, statement: str) -> None:
    import psycopg

    admin = urlunparse(urlparse(url)._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(statement)  # type: ignore[arg-type]


def in_throwaway_database(label: str, run: Callable[[], None]) -> None:
    """Run a benchmark in a database of its own beside DATABASE_URL's (same server):
    `<name>_bench_<label>_<pid>`, created and migrated first, dropped at the end whatever
    happens."""
    base = os.environ.get("DATABASE_URL", "postgres:///clinic")
    parsed = urlparse(base)
    name = f"{parsed.path.lstrip('/') or 'clinic'}_bench_{label}_{os.getpid()}"
    _admin_sql(base, f'DROP DATABASE IF EXISTS "{name}"')
    _admin_sql(base, f'CREATE DATABASE "{name}"')
    try:
        os.environ["DATABASE_URL"] = urlunparse(parsed._replace(path=f"/{name}"))
        django_setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        run()
    finally:
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # noqa: BLE001, S110 - Django may never have been set up
            pass
        _drop(base, name)


def _drop(url: str, name: str) -> None:
    """DROP ... WITH (FORCE), retried: an autovacuum worker still in the database cannot be
    terminated by a non-superuser, but leaves within a moment."""
    import psycopg

    for attempt in range(10):
        try:
            _admin_sql(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except psycopg.errors.InsufficientPrivilege:
            if attempt == 9:
                raise
            time.sleep(0.5)
