"""The on-call roster of a site (CLINICAL.md §3 escalation): who is the responsible clinician
for which hours, and the next level above them. Writes (`on_call_shift_add`,
`on_call_shift_cancel`) and the one read every caller uses (`on_call_at`)."""

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from clinic.core.exceptions import ApplicationError
from clinic.core.roles import Role
from clinic.models import OnCallLevel, OnCallShift, Site, User


def on_call_at(site_ids: Iterable[int], at: datetime | None = None) -> dict[int, dict[int, list[User]]]:
    """Per site, per level (OnCallLevel), the active clinicians on call at `at`. One query."""
    at = at or timezone.now()
    ids = {i for i in site_ids if i is not None}
    out: dict[int, dict[int, list[User]]] = {i: defaultdict(list) for i in ids}
    if not ids:
        return out
    shifts = (
        OnCallShift.objects.filter(
            site_id__in=ids, starts_at__lte=at, ends_at__gt=at, cancelled_at__isnull=True, clinician__is_active=True
        )
        .select_related("clinician")
        .order_by("level", "starts_at", "id")
    )
    for shift in shifts:
        people = out[shift.site_id][shift.level]
        if shift.clinician not in people:
            people.append(shift.clinician)
    return out


def on_call_shifts_now(*, site: Site, at: datetime | None = None) -> list[OnCallShift]:
    """The shifts running at the site now (the board's "on call" line). One query."""
    at = at or timezone.now()
    return list(
        OnCallShift.objects.filter(site=site, starts_at__lte=at, ends_at__gt=at, cancelled_at__isnull=True)
        .select_related("clinician")
        .order_by("level", "starts_at", "id")
    )


def on_call_shift_list(*, site: Site, since: datetime | None = None) -> list[OnCallShift]:
    """The site's shifts not yet over (and not cancelled), soonest first. One query."""
    since = since or timezone.now()
    return list(
        OnCallShift.objects.filter(site=site, ends_at__gt=since, cancelled_at__isnull=True)
        .select_related("clinician", "created_by")
        .order_by("starts_at", "level", "id")
    )


def _refuse_unless_clinician(actor: User) -> None:
    if actor.role not in (Role.CLINICIAN, Role.ADMIN):
        raise ApplicationError("Only a clinician or an admin sets the on-call roster.", rule="roster_role", status=403)


@transaction.atomic
def on_call_shift_add(
    *, actor: User, site: Site, clinician: User, starts_at: datetime, ends_at: datetime, level: int = OnCallLevel.FIRST
) -> OnCallShift:
    _refuse_unless_clinician(actor)
    shift = OnCallShift(
        site=site, clinician=clinician, level=level, starts_at=starts_at, ends_at=ends_at, created_by=actor
    )
    shift.full_clean()
    shift.save()
    _roster_changed(site.pk)
    return shift


@transaction.atomic
def on_call_shift_cancel(*, actor: User, shift: OnCallShift) -> OnCallShift:
    _refuse_unless_clinician(actor)
    shift = OnCallShift.objects.select_for_update().get(pk=shift.pk)
    if shift.cancelled_at is not None:
        raise ApplicationError("The shift is already cancelled.", rule="shift_cancelled")
    shift.cancelled_at, shift.cancelled_by = timezone.now(), actor
    shift.save(update_fields=["cancelled_at", "cancelled_by", "updated_at"])
    _roster_changed(shift.site_id)
    return shift


def _roster_changed(site_id: int) -> None:
    """The board's "on call" line is pushed like any change (monitoring.live, registered at
    start-up by the higher app: clinic imports nothing of monitoring)."""
    for callback in ROSTER_CHANGED:
        callback(site_id)


ROSTER_CHANGED: list[Callable[[int], None]] = []
