"""Reads of the protocol library."""

from django.db.models import QuerySet

from clinic.models import User
from infusions.protocols.models import Protocol


def protocol_list(*, user: User, include_inactive: bool = False) -> QuerySet[Protocol]:
    qs = Protocol.objects.all()
    return qs if include_inactive else qs.filter(is_active=True)
