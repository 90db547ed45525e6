"""Reads at the chair."""

from django.db.models import QuerySet
from django.http import Http404

from clinic.core.roles import Role
from clinic.models import User
from infusions.sessions.models import InfusionSession
from monitoring.vitals.models import VitalSign


def vitals_list(*, session: InfusionSession, include_superseded: bool = True) -> QuerySet[VitalSign]:
    # The list shows who recorded a set and what it corrects by id (on the row); whether it was
    # corrected needs the correcting row (a reverse one-to-one), hence its join.
    qs = VitalSign.objects.filter(session=session).select_related("superseded_by")
    if not include_superseded:
        qs = qs.filter(superseded_by__isnull=True)
    return qs.prefetch_related("alerts").order_by("recorded_at", "id")


def vital_get(*, user: User, vital_id: int | str) -> VitalSign:
    qs = VitalSign.objects.select_related("session__course__patient")
    if user.role == Role.PATIENT:
        raise Http404
    try:
        return qs.get(pk=int(vital_id))
    except (VitalSign.DoesNotExist, ValueError, TypeError) as error:
        raise Http404 from error
