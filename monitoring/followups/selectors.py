"""Reads of follow-ups: each staff member's inbox. A constant number of queries."""

from datetime import datetime

from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404

from clinic.core.roles import STAFF, Role
from clinic.models import User
from clinic.selectors import staff_site
from monitoring.bedside.models import OPEN_FOLLOWUP_STATUSES
from monitoring.followups.models import FollowUp, FollowUpDelivery, FollowUpEvent

OPEN = "open"


def _visible(user: User, *, inbox_only: bool) -> QuerySet[FollowUp]:
    """A staff member sees the follow-ups of their role and their own; a clinician may also
    open and act on the nurses' (they can do all a nurse can). A staff account tied to a
    site sees that site's (and clinic-wide ones); patients see none."""
    if user.role not in STAFF:
        return FollowUp.objects.none()
    mine = Q(assignee=user) | Q(assignee_role=user.role, assignee__isnull=True)
    if not inbox_only:
        mine |= Q(assignee_role=user.role)
        if user.role == Role.CLINICIAN:
            mine |= Q(assignee_role=Role.NURSE)
    qs = FollowUp.objects.filter(mine)
    site = staff_site(user)
    if site is not None:
        qs = qs.filter(Q(site=site) | Q(site__isnull=True) | Q(assignee=user))
    return qs


def followup_list(
    *,
    user: User,
    status: str | None = None,
    kind: str | None = None,
    patient_id: int | None = None,
    due_before: datetime | None = None,
) -> QuerySet[FollowUp]:
    """The inbox: `status` is one of the statuses, or `open` (pending, queued, notified)."""
    qs = _visible(user, inbox_only=True)
    if status == OPEN:
        qs = qs.filter(status__in=OPEN_FOLLOWUP_STATUSES)
    elif status:
        qs = qs.filter(status=status)
    if kind:
        qs = qs.filter(kind=kind)
    if patient_id is not None:
        qs = qs.filter(patient_id=patient_id)
    if due_before is not None:
        qs = qs.filter(due_at__lte=due_before)
    return qs.select_related("patient", "site", "assignee", "completed_by").order_by("due_at", "id")


def followup_get(*, user: User, followup_id: int | str) -> FollowUp:
    qs = (
        _visible(user, inbox_only=False)
        .select_related("patient", "site", "assignee", "completed_by")
        .prefetch_related(Prefetch("events", queryset=FollowUpEvent.objects.select_related("actor")))
    )
    try:
        return qs.get(pk=int(followup_id))
    except (FollowUp.DoesNotExist, ValueError, TypeError) as error:
        raise Http404 from error


def inbox_list(*, user: User, unread: bool = False) -> QuerySet[FollowUpDelivery]:
    """The user's in-app inbox: their `inbox` deliveries, newest first."""
    qs = FollowUpDelivery.objects.filter(recipient=user, channel="inbox").select_related("followup__site")
    if unread:
        qs = qs.filter(read_at__isnull=True)
    return qs.order_by("-sent_at", "-id")
