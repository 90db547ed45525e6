"""Tests: the real PostgreSQL and Redis that `make test` starts (DATABASE_URL, REDIS_URL)."""

from .base import *  # noqa: F403

DEBUG = False
# Fast hashing in tests only; production uses Argon2 (base.py).
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# The test client and live server serve static files through staticfiles' own handler.
MIDDLEWARE = [m for m in MIDDLEWARE if "whitenoise" not in m]  # noqa: F405

# Parallel runs (pytest-xdist): each worker gets its own test database (pytest-django adds
# the gwN suffix) and its own Redis database for the cache, so one worker's cache.clear()
# never resets another's throttle counts.
_xdist_worker = env("PYTEST_XDIST_WORKER", default="")  # noqa: F405
if _xdist_worker.startswith("gw"):
    _base, _, _db = REDIS_URL.rpartition("/")  # noqa: F405
    CACHES["default"]["LOCATION"] = f"{_base}/{(int(_db or 0) + 1 + int(_xdist_worker[2:])) % 16}"  # noqa: F405
    # Push groups of one worker's test database never reach another's pages.
    CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = f"clinic-live-{_xdist_worker}"  # type: ignore[index]  # noqa: F405
