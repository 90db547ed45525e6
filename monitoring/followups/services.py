"""Follow-ups (CLINICAL.md §7): the idempotent writes every app may call.

`followup_ensure` is the one way a follow-up comes into being (the planner, the PHQ-9
item-9 rule, the REMS form rule): a database unique constraint on `key` means that
running it twice, or from two processes at once, creates one row.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from clinic.core.exceptions import ApplicationError
from clinic.models import Site, User
from clinic.policy import site_policy
from monitoring.audit.history import audit_cause, history_snapshot
from monitoring.bedside.models import OPEN_FOLLOWUP_STATUSES
from monitoring.followups import sql as followup_sql
from monitoring.followups.keys import subject_label
from monitoring.followups.models import (
    AssigneeRole,
    FollowUp,
    FollowUpAction,
    FollowUpDelivery,
    FollowUpEvent,
    FollowUpKind,
    FollowUpStatus,
)
from patients.models import Patient

INBOX_CHANNEL = "inbox"


@dataclass(frozen=True)
class FollowUpSpec:
    """What the planner wants to exist (one row per `key`)."""

    kind: str
    key: str
    due_at: datetime
    assignee_role: str
    patient_id: int | None = None
    site_id: int | None = None
    subject_type: str = ""
    subject_id: int | None = None
    assignee_id: int | None = None
    escalate_at: datetime | None = None
    escalate_role: str = ""
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _spec_validate(spec: FollowUpSpec) -> None:
    errors: dict[str, str] = {}
    if spec.kind not in FollowUpKind.values:
        errors["kind"] = f"Unknown follow-up kind {spec.kind!r}."
    if spec.assignee_role not in AssigneeRole.values:
        errors["assignee_role"] = f"Must be one of {', '.join(AssigneeRole.values)}."
    if spec.escalate_role and spec.escalate_role not in AssigneeRole.values:
        errors["escalate_role"] = f"Must be one of {', '.join(AssigneeRole.values)}."
    if not spec.key or len(spec.key) > 200:
        errors["key"] = "A key of 1 to 200 characters is required."
    if timezone.is_naive(spec.due_at):
        errors["due_at"] = "Must carry a time zone."
    if errors:
        raise ValidationError(errors)


def followups_ensure_many(specs: Sequence[FollowUpSpec]) -> list[int]:
    """INSERT ... ON CONFLICT (key) DO NOTHING for every spec; returns the ids created.

    Two statements (the rows, and the "created" events), whatever the number of specs and
    whatever already exists.
    """
    for spec in specs:
        _spec_validate(spec)
    if not specs:
        return []
    rows = [
        {
            "kind": s.kind,
            "key": s.key,
            "patient_id": s.patient_id,
            "site_id": s.site_id,
            "subject_type": s.subject_type,
            "subject_id": s.subject_id,
            "due_at": s.due_at,
            "assignee_role": s.assignee_role,
            "assignee_id": s.assignee_id,
            "note": s.note,
            "escalate_at": s.escalate_at,
            "escalate_role": s.escalate_role,
        }
        for s in specs
    ]
    with transaction.atomic():
        created = followup_sql.insert_followups(rows, timezone.now())
        followup_sql.insert_events(created, FollowUpAction.CREATED)
    return created


def _subject_fields(subject: dict[str, Any]) -> dict[str, Any]:
    """Accepts `subject=<model instance>` or `subject_type=` + `subject_id=`."""
    unknown = set(subject) - {
        "subject",
        "subject_type",
        "subject_id",
        "site",
        "assignee",
        "escalate_at",
        "escalate_role",
    }
    if unknown:
        raise TypeError(f"followup_ensure() got unexpected keyword arguments: {', '.join(sorted(unknown))}")
    out: dict[str, Any] = {}
    obj = subject.get("subject")
    if obj is not None:
        out["subject_type"] = subject_label(obj)
        out["subject_id"] = obj.pk
    else:
        out["subject_type"] = subject.get("subject_type", "") or ""
        out["subject_id"] = subject.get("subject_id")
    site: Site | None = subject.get("site")
    out["site_id"] = site.pk if site is not None else None
    assignee: User | None = subject.get("assignee")
    out["assignee_id"] = assignee.pk if assignee is not None else None
    out["escalate_at"] = subject.get("escalate_at")
    out["escalate_role"] = subject.get("escalate_role", "") or ""
    return out


@transaction.atomic
def followup_ensure(
    *,
    kind: str,
    key: str,
    patient: Patient | None,
    due_at: datetime,
    assignee_role: str,
    note: str = "",
    **subject: Any,
) -> FollowUp:
    """The follow-up for `key`, created if it does not exist yet (idempotent, race-safe).

    Extra keywords: `subject=<model instance>` (or `subject_type=`/`subject_id=`), `site=`,
    `assignee=`, `escalate_at=`, `escalate_role=`. An existing row is returned unchanged.
    """
    extra = _subject_fields(subject)
    site_id = extra.pop("site_id")
    site: Site | None = subject.get("site")
    if site_id is None and patient is not None:
        site_id, site = patient.site_id, patient.site
    if kind == FollowUpKind.BOOSTER_DUE and extra["escalate_at"] is None:
        # CLINICAL.md §7: a booster overdue after 7 days goes to the clinician.
        from clinic.localtime import local_shift, site_zone

        policy = site_policy(site)
        extra["escalate_at"] = local_shift(due_at, site_zone(site), days=policy.followup_booster_overdue_days)
        extra["escalate_role"] = extra["escalate_role"] or AssigneeRole.CLINICIAN
    spec = FollowUpSpec(
        kind=kind,
        key=key,
        due_at=due_at,
        assignee_role=assignee_role,
        patient_id=patient.pk if patient is not None else None,
        site_id=site_id,
        note=note,
        **extra,
    )
    followups_ensure_many([spec])
    return FollowUp.objects.get(key=key)


def followup_ids_by_key(keys: Iterable[str]) -> dict[str, int]:
    return dict(FollowUp.objects.filter(key__in=list(keys)).values_list("key", "id"))


# --- the life of a follow-up after it exists ---


def _lock(followup: FollowUp) -> FollowUp:
    return FollowUp.objects.select_for_update(of=("self",)).select_related("patient", "site").get(pk=followup.pk)


def _refuse_closed(followup: FollowUp) -> None:
    if followup.status not in OPEN_FOLLOWUP_STATUSES:
        raise ApplicationError(
            f"This follow-up is {followup.status}; it can no longer be changed.",
            rule="followup_closed",
            extra={"status": followup.status},
        )


def _event(followup: FollowUp, action: str, actor: User | None, reason: str = "", **data: Any) -> FollowUpEvent:
    return FollowUpEvent.objects.create(followup=followup, action=action, actor=actor, reason=reason, data=data)


@transaction.atomic
def followup_complete(*, actor: User, followup: FollowUp, outcome: str) -> FollowUp:
    """Done: records who, when and the outcome. A closed follow-up refuses (409)."""
    followup = _lock(followup)
    _refuse_closed(followup)
    if not outcome.strip():
        raise ValidationError({"outcome": "Say what was done (the outcome)."})
    before = followup.status
    followup.status = FollowUpStatus.COMPLETED
    followup.completed_at = timezone.now()
    followup.completed_by = actor
    followup.outcome = outcome.strip()
    followup.full_clean()
    followup.save()
    _event(followup, FollowUpAction.COMPLETED, actor, followup.outcome, before={"status": before})
    return followup


@transaction.atomic
def followup_snooze(*, actor: User, followup: FollowUp, until: datetime, reason: str) -> FollowUp:
    """Due again at `until` (in the future), with a reason; the assignees are told again then."""
    followup = _lock(followup)
    _refuse_closed(followup)
    errors: dict[str, str] = {}
    if not reason.strip():
        errors["reason"] = "A snooze needs a reason."
    if timezone.is_naive(until):
        errors["until"] = "Must carry a time zone."
    elif until <= timezone.now():
        errors["until"] = "Must be in the future."
    if errors:
        raise ValidationError(errors)
    before = {"due_at": followup.due_at.isoformat(), "status": followup.status, "round": followup.round}
    followup.due_at = until
    followup.status = FollowUpStatus.PENDING
    followup.queued_at = None
    followup.round += 1
    followup.full_clean()
    followup.save()
    _event(followup, FollowUpAction.SNOOZED, actor, reason.strip(), before=before, until=until.isoformat())
    return followup


@transaction.atomic
def followup_reassign(
    *, actor: User, followup: FollowUp, assignee_role: str | None = None, assignee: User | None = None, reason: str = ""
) -> FollowUp:
    """Hand it to another role or a named staff member; they are notified on the next tick."""
    followup = _lock(followup)
    _refuse_closed(followup)
    if assignee is None and not assignee_role:
        raise ValidationError({"assignee_role": "Give a role or a staff member."})
    if assignee is not None:
        if assignee.role not in AssigneeRole.values or not assignee.is_active:
            raise ValidationError({"assignee": "Must be an active staff account."})
        assignee_role = assignee_role or assignee.role
    if assignee_role not in AssigneeRole.values:
        raise ValidationError({"assignee_role": f"Must be one of {', '.join(AssigneeRole.values)}."})
    before = {"assignee_role": followup.assignee_role, "assignee": followup.assignee_id, "round": followup.round}
    followup.assignee_role = str(assignee_role)
    followup.assignee = assignee
    followup.status = FollowUpStatus.PENDING
    followup.queued_at = None
    followup.round += 1
    followup.full_clean()
    followup.save()
    _event(
        followup,
        FollowUpAction.REASSIGNED,
        actor,
        reason.strip(),
        before=before,
        assignee_role=followup.assignee_role,
        assignee=assignee.pk if assignee is not None else None,
    )
    return followup


@transaction.atomic
def followups_cancel(*, followup_ids: Sequence[int], reason: str, actor: User | None = None) -> int:
    """Cancel open follow-ups whose reason went away (planner) or that staff withdraw."""
    ids = list(
        FollowUp.objects.select_for_update()
        .filter(id__in=list(followup_ids), status__in=OPEN_FOLLOWUP_STATUSES)
        .values_list("id", flat=True)
    )
    if not ids:
        return 0
    now = timezone.now()
    FollowUp.objects.filter(id__in=ids).update(
        status=FollowUpStatus.CANCELLED, cancelled_at=now, cancel_reason=reason[:200], updated_at=now
    )
    history_snapshot(FollowUp, ids, user=actor, rule="followup_cancelled", at=now)
    FollowUpEvent.objects.bulk_create(
        [FollowUpEvent(followup_id=pk, action=FollowUpAction.CANCELLED, actor=actor, reason=reason) for pk in ids]
    )
    return len(ids)


@transaction.atomic
def followups_reopen(*, specs: Sequence[FollowUpSpec], reason: str) -> int:
    """Follow-ups the planner had cancelled whose reason came back (a booked booster was
    cancelled again): pending again at the spec's times, a new round, with a history row."""
    wanted = {s.key: s for s in specs}
    rows = list(
        FollowUp.objects.select_for_update(skip_locked=True).filter(
            key__in=list(wanted), status=FollowUpStatus.CANCELLED
        )
    )
    now = timezone.now()
    with audit_cause(rule="followup_reopened"):
        _reopen(rows, wanted, reason, now)
    return len(rows)


def _reopen(rows: Sequence[FollowUp], wanted: dict[str, FollowUpSpec], reason: str, now: datetime) -> None:
    for row in rows:
        spec = wanted[row.key]
        before = {"status": row.status, "cancel_reason": row.cancel_reason, "round": row.round}
        row.status, row.due_at, row.escalate_at = FollowUpStatus.PENDING, spec.due_at, spec.escalate_at
        row.escalated_at = row.queued_at = row.cancelled_at = None
        row.cancel_reason = ""
        row.round += 1
        row.updated_at = now
        row.save()
        _event(row, FollowUpAction.RESCHEDULED, None, reason, before=before, reopened=True)


@transaction.atomic
def followups_reschedule(*, changes: Sequence[tuple[int, datetime, datetime | None]], reason: str) -> int:
    """Move the due (and escalation) time of follow-ups not yet sent, e.g. after an
    appointment moved. Rows already notified or escalated keep their times."""
    wanted = {pk: (due, esc) for pk, due, esc in changes}
    rows = list(
        FollowUp.objects.select_for_update(skip_locked=True).filter(
            id__in=list(wanted), status=FollowUpStatus.PENDING, escalated_at__isnull=True
        )
    )
    changed: list[FollowUp] = []
    events: list[FollowUpEvent] = []
    for row in rows:
        due, esc = wanted[row.pk]
        if row.due_at == due and row.escalate_at == esc:
            continue
        events.append(
            FollowUpEvent(
                followup_id=row.pk,
                action=FollowUpAction.RESCHEDULED,
                reason=reason,
                data={
                    "before": {
                        "due_at": row.due_at.isoformat(),
                        "escalate_at": row.escalate_at.isoformat() if row.escalate_at else None,
                    }
                },
            )
        )
        row.due_at, row.escalate_at, row.updated_at = due, esc, timezone.now()
        changed.append(row)
    if changed:
        FollowUp.objects.bulk_update(changed, ["due_at", "escalate_at", "updated_at"])
        history_snapshot(FollowUp, [row.pk for row in changed], rule="followup_rescheduled")
        FollowUpEvent.objects.bulk_create(events)
    return len(changed)


@transaction.atomic
def inbox_entry_read(*, user: User, entry_id: int | str) -> FollowUpDelivery:
    """Mark one of the user's own inbox entries read (another's answers 404)."""
    try:
        entry = (
            FollowUpDelivery.objects.select_for_update(of=("self",))
            .select_related("followup")
            .get(pk=int(entry_id), recipient=user, channel=INBOX_CHANNEL)
        )
    except (FollowUpDelivery.DoesNotExist, ValueError, TypeError) as error:
        raise Http404 from error
    if entry.read_at is None:
        entry.read_at = timezone.now()
        entry.save(update_fields=["read_at"])
    return entry
