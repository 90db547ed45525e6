"""Reads composed for the web pages about what is planned and given."""

from django.db.models import QuerySet

from clinic.core.roles import Role
from clinic.models import User
from infusions.sessions.models import InfusionSession
from infusions.sessions.selectors import session_list


def approval_queue(*, user: User) -> QuerySet[InfusionSession]:
    """Sessions whose dose awaits a prescriber's approval, oldest first (one query)."""
    if user.role != Role.CLINICIAN:
        return InfusionSession.objects.none()
    return (
        session_list(user=user)
        .select_related("course__patient__site", "measurement")
        .filter(requires_approval=True)
        .order_by("created_at", "id")
    )
