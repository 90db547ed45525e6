"""Reads of alerts and their escalations, scoped to the acting user."""

from django.db.models import QuerySet

from clinic.core.roles import Role
from clinic.models import User
from monitoring.alerts.models import Alert, AlertEscalation


def alert_list(*, user: User, status: str | None = None, session_id: int | None = None) -> QuerySet[Alert]:
    qs = Alert.objects.select_related("session__course__patient", "acknowledged_by", "resolved_by", "resolution")
    if user.role == Role.PATIENT:
        return qs.none()
    if status:
        qs = qs.filter(status=status)
    if session_id is not None:
        qs = qs.filter(session_id=session_id)
    return qs


def alert_escalation_list(*, user: User, limit: int = 200) -> list[AlertEscalation]:
    """The escalations addressed to this user, newest first. One query."""
    return list(
        AlertEscalation.objects.filter(recipient=user).select_related("alert").order_by("-escalated_at", "-id")[:limit]
    )
