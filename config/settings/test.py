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
