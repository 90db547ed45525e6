"""Alerts after they are raised (services; CLINICAL.md §3): staff acknowledge and resolve
them; the minute scans raise `vitals_overdue` and escalate what nobody acknowledged.

Both scans are safe to run at the same time from several workers: they claim rows with
`SELECT ... FOR UPDATE SKIP LOCKED` and mark them in the same transaction (an alert's
`escalated_at` is set by an `UPDATE ... WHERE escalated_at IS NULL`), so every alert is
escalated exactly once and every overdue set raises one alert.
"""

from collections import defaultdict
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from clinic.core.exceptions import ApplicationError
from clinic.core.roles import Role
from clinic.localtime import site_zone
from clinic.models import StaffMember, User
from clinic.policy import ClinicalPolicy
from infusions.sessions.models import InfusionSession, SessionStatus
from infusions.sessions.selectors import session_policy, session_site
from monitoring.alerts.models import (
    Alert,
    AlertEscalation,
    AlertResolution,
    AlertRule,
    AlertSeverity,
    AlertStatus,
    ResolutionAction,
)
from monitoring.audit.history import history_snapshot
from monitoring.live import publish
from monitoring.vitals.models import VitalsSchedule

# What the history of a change made by a scan names as its cause.
OVERDUE_RULE = "vitals_overdue (CLINICAL.md §3)"
ESCALATION_RULE = "alert_escalation (CLINICAL.md §3)"

WATCHED_STATUSES = (SessionStatus.RUNNING, SessionStatus.PAUSED, SessionStatus.COMPLETED, SessionStatus.STOPPED)
# CLINICAL.md §3 leaves the severity of an overdue set open [U]: medium, so that it reaches
# the clinician on duty after `escalate_medium_after_minutes` if nobody answers it.
VITALS_OVERDUE_SEVERITY = AlertSeverity.MEDIUM


def _lock_alert(alert: Alert) -> Alert:
    return (
        Alert.objects.select_for_update(of=("self",)).select_related("session__course__patient__site").get(pk=alert.pk)
    )


def _refuse_if_signed(session: InfusionSession) -> None:
    if session.signed_at is not None:
        raise ApplicationError("The session is signed; its alerts are closed.", rule="session_signed")


def _prescriber_for(alert: Alert, actor: User) -> None:
    """Spravato label: a pre-dose BP above 140/90 is weighed by a prescriber."""
    if alert.rule == AlertRule.PREDOSE_BP and actor.role != Role.CLINICIAN:
        raise ApplicationError(
            "A prescriber must acknowledge a pre-dose blood pressure alert.", rule="prescriber_required", status=403
        )


@transaction.atomic
def alert_acknowledge(*, actor: User, alert: Alert) -> Alert:
    alert = _lock_alert(alert)
    _refuse_if_signed(alert.session)
    if alert.status != AlertStatus.OPEN:
        raise ApplicationError(f"The alert is already {alert.status}.", rule="alert_not_open")
    _prescriber_for(alert, actor)
    alert.status = AlertStatus.ACKNOWLEDGED
    alert.acknowledged_by, alert.acknowledged_at = actor, timezone.now()
    alert.full_clean()
    alert.save(update_fields=["status", "acknowledged_by", "acknowledged_at", "updated_at"])
    publish.session_changed(alert.session, publish.ALERTS)
    return alert


ACTION_REQUIRED = (AlertSeverity.HIGH, AlertSeverity.EMERGENCY)


def _check_resolution(alert: Alert, action: str, note: str) -> None:
    """A high or emergency alert is resolved with the action taken (400 per field)."""
    if action and action not in ResolutionAction.values:
        raise ValidationError({"action": "Choose one of the listed actions."})
    if alert.severity in ACTION_REQUIRED and not action:
        raise ValidationError({"action": f"A {alert.severity} alert is resolved with the action taken."})
    if action == ResolutionAction.OTHER and not note:
        raise ValidationError({"note": "Describe the action taken."})


@transaction.atomic
def alert_resolve(*, actor: User, alert: Alert, note: str = "", action: str = "") -> Alert:
    """Resolved (the cause is dealt with). Resolving an open alert acknowledges it too, so it
    needs the same role as acknowledging. A high or emergency alert needs the action taken
    (ResolutionAction, plus free text), kept append-only as its AlertResolution."""
    alert = _lock_alert(alert)
    _refuse_if_signed(alert.session)
    if alert.status == AlertStatus.RESOLVED:
        raise ApplicationError("The alert is already resolved.", rule="alert_already_resolved")
    note = note.strip()
    _check_resolution(alert, action, note)
    now = timezone.now()
    if alert.status == AlertStatus.OPEN:
        _prescriber_for(alert, actor)
        alert.acknowledged_by, alert.acknowledged_at = actor, now
    alert.status = AlertStatus.RESOLVED
    alert.resolved_by, alert.resolved_at = actor, now
    alert.resolution_note = note
    alert.full_clean()
    alert.save(
        update_fields=[
            "status",
            "acknowledged_by",
            "acknowledged_at",
            "resolved_by",
            "resolved_at",
            "resolution_note",
            "updated_at",
        ]
    )
    resolution = AlertResolution(alert=alert, action=action, note=note, resolved_by=actor, resolved_at=now)
    resolution.full_clean()
    resolution.save()
    publish.session_changed(alert.session, publish.ALERTS)
    return alert


# ---- the minute scans ------------------------------------------------------------------------


def vitals_overdue_raise(*, now: datetime | None = None) -> list[int]:
    """Raise `vitals_overdue` for every watched session whose next set is more than
    `vitals_overdue_grace_minutes` late (CLINICAL.md §3, 5 min [U]). Idempotent: once per due
    time, and never while the session already has an unanswered overdue alert."""
    now = now or timezone.now()
    with transaction.atomic():
        rows = list(
            VitalsSchedule.objects.select_for_update(of=("self",), skip_locked=True)
            .select_related("session__course__patient__site")
            .filter(next_due_at__lte=now, session__status__in=WATCHED_STATUSES, session__signed_at__isnull=True)
            .filter(
                Q(overdue_alerted_for__isnull=True)
                | Q(overdue_alerted_for__lt=F("next_due_at"))
                | Q(overdue_alerted_for__gt=F("next_due_at"))
            )
            .order_by("next_due_at", "id")
        )
        late = []
        for row in rows:
            policy = session_policy(row.session)
            assert row.next_due_at is not None  # noqa: S101 - filtered above
            if row.next_due_at + timedelta(minutes=policy.vitals_overdue_grace_minutes) <= now:
                late.append((row, policy))
        if not late:
            return []
        answered_already = set(
            Alert.objects.filter(
                session_id__in=[row.session_id for row, _ in late],
                rule=AlertRule.VITALS_OVERDUE,
                status__in=(AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED),
            ).values_list("session_id", flat=True)
        )
        alerts = [
            Alert(
                session_id=row.session_id,
                rule=AlertRule.VITALS_OVERDUE,
                severity=VITALS_OVERDUE_SEVERITY,
                message=_overdue_message(row, policy, now),
                raised_at=now,
            )
            for row, policy in late
            if row.session_id not in answered_already
        ]
        Alert.objects.bulk_create(alerts)
        history_snapshot(Alert, [a.pk for a in alerts], history_type="+", rule=OVERDUE_RULE, at=now)
        for row, _ in late:
            row.overdue_alerted_for = row.next_due_at
            row.updated_at = now
        VitalsSchedule.objects.bulk_update([row for row, _ in late], ["overdue_alerted_for", "updated_at"])
        publish.sessions_changed([row.session for row, _ in late], publish.ALERTS, publish.SCHEDULE)
        return [alert.pk for alert in alerts]


def _overdue_message(row: VitalsSchedule, policy: ClinicalPolicy, now: datetime) -> str:
    assert row.next_due_at is not None  # noqa: S101
    late = int((now - row.next_due_at).total_seconds() // 60)
    kind = row.next_kind.replace("_", " ") or "vitals"
    due = row.next_due_at.astimezone(site_zone(session_site(row.session)))
    return f"The {kind} vitals set was due at {due:%H:%M}: {late} min overdue."


def escalation_wait(severity: str, policy: ClinicalPolicy) -> timedelta:
    """CLINICAL.md §3: emergency or high after 2 minutes, medium after 10 [U]."""
    if severity in (AlertSeverity.EMERGENCY, AlertSeverity.HIGH):
        return timedelta(minutes=policy.escalate_high_after_minutes)
    return timedelta(minutes=policy.escalate_medium_after_minutes)


def clinicians_on_duty(site_ids: set[int | None]) -> dict[int | None, list[User]]:
    """The clinicians each site's alerts go to: the active clinicians placed at that site
    (StaffMember); a site with none (or a patient without a site) goes to every active
    clinician, so an escalation never goes nowhere. One query."""
    staff = list(
        StaffMember.objects.filter(user__role=Role.CLINICIAN, user__is_active=True)
        .select_related("user")
        .order_by("user_id")
    )
    everyone = sorted({s.user.pk: s.user for s in staff}.values(), key=lambda u: u.pk)
    if not everyone:
        everyone = list(User.objects.filter(role=Role.CLINICIAN, is_active=True).order_by("pk"))
    by_site: dict[int | None, list[User]] = defaultdict(list)
    for member in staff:
        by_site[member.site_id].append(member.user)
    return {site_id: (by_site.get(site_id) if site_id is not None else None) or everyone for site_id in site_ids}


def alerts_escalate(*, now: datetime | None = None) -> list[int]:
    """Escalate every open (unacknowledged) alert past its wait to the clinicians on duty,
    exactly once: rows are claimed with FOR UPDATE SKIP LOCKED and `escalated_at` is set by an
    UPDATE ... WHERE escalated_at IS NULL in the same transaction as the notices. Returns the
    ids this call escalated."""
    now = now or timezone.now()
    with transaction.atomic():
        candidates = _escalation_candidates()
        due = [a for a in candidates if a.created_at + escalation_wait(a.severity, session_policy(a.session)) <= now]
        if not due:
            return []
        with connection.cursor() as cursor:
            cursor.execute(
                f'UPDATE "{Alert._meta.db_table}" SET "escalated_at" = %s, "updated_at" = %s '  # noqa: S608
                'WHERE "id" = ANY(%s) AND "escalated_at" IS NULL AND "status" = \'open\' RETURNING "id"',
                [now, now, [a.pk for a in due]],
            )
            claimed = {row[0] for row in cursor.fetchall()}
        history_snapshot(Alert, sorted(claimed), rule=ESCALATION_RULE, at=now)
        due = [a for a in due if a.pk in claimed]
        sites = {_alert_site_id(a) for a in due}
        recipients = clinicians_on_duty(sites)
        notices = []
        for alert in due:
            message = _escalation_message(alert)
            people = recipients.get(_alert_site_id(alert)) or []
            notices += [AlertEscalation(alert=alert, recipient=u, escalated_at=now, message=message) for u in people]
            if not people:
                notices.append(AlertEscalation(alert=alert, recipient=None, escalated_at=now, message=message))
        AlertEscalation.objects.bulk_create(notices)
        return sorted(claimed)


def _escalation_candidates() -> list[Alert]:
    """Open, never escalated alerts of unsigned sessions, locked; rows another scan holds
    are skipped (it is escalating them)."""
    return list(
        Alert.objects.select_for_update(of=("self",), skip_locked=True)
        .select_related("session__course__patient__site", "session__appointment")
        .filter(status=AlertStatus.OPEN, escalated_at__isnull=True, session__signed_at__isnull=True)
        .order_by("created_at", "id")
    )


def _alert_site_id(alert: Alert) -> int | None:
    site = session_site(alert.session)
    return site.pk if site is not None else None


def _escalation_message(alert: Alert) -> str:
    """No patient data beyond the session number (notices may travel by e-mail later)."""
    return f"Unacknowledged {alert.severity} alert '{alert.rule}' on session {alert.session_id}: please attend."


def vitals_overdue_resolve(*, session: InfusionSession, actor: User, at: datetime | None = None) -> int:
    """A set was recorded: the session's `vitals_overdue` alert is answered."""
    at = at or timezone.now()
    ids = list(
        Alert.objects.filter(
            session=session,
            rule=AlertRule.VITALS_OVERDUE,
            status__in=(AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED),
        ).values_list("pk", flat=True)
    )
    if not ids:
        return 0
    Alert.objects.filter(pk__in=ids).update(
        status=AlertStatus.RESOLVED,
        resolved_by=actor,
        resolved_at=at,
        resolution_note="A vitals set was recorded.",
        updated_at=at,
    )
    history_snapshot(Alert, ids, user=actor, rule="vitals_overdue_answered", at=at)
    return len(ids)
