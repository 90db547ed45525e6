"""Small presentation filters shared by the page templates (no rules here)."""

from datetime import datetime
from decimal import Decimal, InvalidOperation

from django import template

register = template.Library()


@register.filter
def humanize_code(value: object) -> str:
    """`dose_outside_soft_range` -> `dose outside soft range`; `a:b_c` -> `a: b c`."""
    text = str(value or "")
    return text.replace(":", ": ").replace("_", " ").strip()


@register.filter
def parse_iso(value: object) -> datetime | None:
    """An ISO 8601 string (as stored in history snapshots) as a datetime, for `|date`."""
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


@register.filter
def plain_number(value: object) -> str:
    """A Decimal without trailing zeros: 0.900 -> 0.9, 56.000 -> 56 (None -> "")."""
    if value is None or value == "":
        return ""
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    return format(number.normalize(), "f")
