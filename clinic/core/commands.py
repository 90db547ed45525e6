"""Shared by the management commands."""

from datetime import datetime

from django.core.management.base import CommandError
from django.utils.dateparse import parse_datetime


def iso_datetime(value: str | None) -> datetime | None:
    """A `--since` / `--until` argument: an ISO 8601 date-time, or None when not given."""
    if not value:
        return None
    parsed = parse_datetime(value)
    if parsed is None:
        raise CommandError(f"Not an ISO 8601 date-time: {value}")
    return parsed
