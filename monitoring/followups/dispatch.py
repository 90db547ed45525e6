"""Sending due follow-ups: exactly once per (follow-up, round, channel, recipient).

1. `followups_claim_due` (the beat tick, every minute) locks due rows with
   `SELECT ... FOR UPDATE SKIP LOCKED`, marks them `queued` with a lease time and, after
   commit, hands their ids in batches to the delivery task. Rows whose escalation time has
   come are escalated in the same step (new round, new assignee role).
2. `followups_deliver` (the delivery task) locks the queued rows, writes one delivery row
   per (follow-up, round, channel, recipient) with `INSERT ... ON CONFLICT DO NOTHING`,
   sends only what that insert created, and marks the rows `notified`, all in one
   transaction: a retry, a redelivery after a worker died, or a second copy of the message
   finds the delivery rows and sends nothing again.
3. Nothing is lost: a row stays `queued` until a delivery commits; if its message is lost
   (Redis restarted empty, a worker killed before it acknowledged), the next tick after the
   lease (`FOLLOWUP_DISPATCH_LEASE_SECONDS`) queues it again.
"""

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Case, F, Q, Value, When
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce, NullIf
from django.utils import timezone

from clinic.models import User
from monitoring.followups import sql
from monitoring.followups.channels import Channel, Notification, channels_get
from monitoring.followups.timing import site_zone
from monitoring.models import (
    OPEN_FOLLOWUP_STATUSES,
    FollowUp,
    FollowUpAction,
    FollowUpKind,
    FollowUpStatus,
)

logger = logging.getLogger(__name__)

# An escalated booster_due is a booster_overdue (CLINICAL.md §7: overdue after 7 days goes
# to the clinician).
ESCALATED_KIND = {FollowUpKind.BOOSTER_DUE: FollowUpKind.BOOSTER_OVERDUE}
# Kinds whose first round (round 0) goes to the patient's portal account; staff are told at
# the escalation time (CLINICAL.md §7: questionnaire 72 h before, staff reminded if missing
# 24 h before).
PATIENT_FIRST_KINDS = {FollowUpKind.PRE_SESSION_QUESTIONNAIRE}


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def dispatch_batch_size() -> int:
    return _setting("FOLLOWUP_DISPATCH_BATCH_SIZE", 500)


def dispatch_lease() -> timedelta:
    return timedelta(seconds=_setting("FOLLOWUP_DISPATCH_LEASE_SECONDS", 300))


def _enqueue(ids: Sequence[int]) -> None:
    """After commit: hand the ids to the delivery task in batches. A broker failure is logged;
    the rows stay `queued` and the tick after the lease queues them again."""
    from monitoring.followups.tasks import followups_deliver_task

    size = dispatch_batch_size()
    for start in range(0, len(ids), size):
        chunk = list(ids[start : start + size])
        try:
            followups_deliver_task.delay(chunk)
        except Exception:
            logger.exception("Could not enqueue %d follow-ups; they are re-queued after the lease.", len(chunk))
            return


@dataclass(frozen=True)
class Claimed:
    ids: list[int]
    escalated: list[int]


def followups_claim_due(
    *, now: datetime | None = None, limit: int | None = None, enqueue: Callable[[Sequence[int]], None] | None = None
) -> Claimed:
    """One tick: lock due and escalating rows (skip those another tick holds), mark them
    queued, and enqueue their ids after commit. A constant number of queries."""
    now = now or timezone.now()
    limit = limit or _setting("FOLLOWUP_DISPATCH_MAX_PER_TICK", 20000)
    send = enqueue or _enqueue
    with transaction.atomic():
        escalating = list(
            FollowUp.objects.select_for_update(skip_locked=True)
            .filter(escalate_at__lte=now, escalated_at__isnull=True, status__in=OPEN_FOLLOWUP_STATUSES)
            .order_by("escalate_at", "id")
            .values_list("id", flat=True)[:limit]
        )
        if escalating:
            before = {
                r["id"]: r
                for r in FollowUp.objects.filter(id__in=ids_in(escalating)).values(
                    "id", "assignee_role", "assignee_id", "kind"
                )
            }
            FollowUp.objects.filter(id__in=ids_in(escalating)).update(
                assignee_role=Coalesce(NullIf(F("escalate_role"), Value("")), F("assignee_role")),
                assignee=None,
                kind=Case(
                    *[When(kind=k, then=Value(v.value)) for k, v in ESCALATED_KIND.items()],
                    default=F("kind"),
                ),
                round=F("round") + 1,
                escalated_at=now,
                status=FollowUpStatus.QUEUED,
                queued_at=now,
                updated_at=now,
            )
            sql.insert_events(
                escalating,
                FollowUpAction.ESCALATED,
                data=[
                    {
                        "before": {
                            "assignee_role": before[pk]["assignee_role"],
                            "assignee": before[pk]["assignee_id"],
                            "kind": before[pk]["kind"],
                        }
                    }
                    for pk in escalating
                ],
            )
        due = list(
            FollowUp.objects.select_for_update(skip_locked=True)
            .filter(
                Q(status=FollowUpStatus.PENDING, due_at__lte=now)
                | Q(status=FollowUpStatus.QUEUED, queued_at__lt=now - dispatch_lease())
            )
            .exclude(id__in=ids_in(escalating))
            .order_by("due_at", "id")
            .values_list("id", flat=True)[: max(limit - len(escalating), 0)]
        )
        if due:
            FollowUp.objects.filter(id__in=ids_in(due)).update(
                status=FollowUpStatus.QUEUED, queued_at=now, updated_at=now
            )
        ids = escalating + due
        if ids:
            transaction.on_commit(lambda: send(ids))
    return Claimed(ids=ids, escalated=escalating)


# --- delivery ---


# What the delivery reads of each follow-up (not the free text).
DELIVERY_FIELDS = (
    "id",
    "kind",
    "status",
    "round",
    "due_at",
    "patient_id",
    "site_id",
    "site__time_zone",
    "assignee_role",
    "assignee_id",
    "escalated_at",
)


def ids_in(ids: Sequence[int]) -> RawSQL:
    """`id__in=ids_in(ids)`: the ids as one array parameter (`unnest`), so building the query
    does not cost a parameter per id."""
    return RawSQL("SELECT unnest(%s::bigint[])", (list(ids),))


def _portal_accounts(rows: Sequence[FollowUp]) -> dict[int, User]:
    """The patients' portal accounts for the patient-first rows (one query, when any)."""
    patient_ids = {r.patient_id for r in rows if r.kind in PATIENT_FIRST_KINDS and r.round == 0 and r.patient_id}
    if not patient_ids:
        return {}
    return {
        u.patient.pk: u  # type: ignore[attr-defined]
        for u in User.objects.filter(patient__in=patient_ids, is_active=True).select_related("patient")
    }


def _recipients(rows: Sequence[FollowUp]) -> dict[int, list[User]]:
    """Who is told, per follow-up: the named assignee, else every active staff account of
    the assignee role at the follow-up's site (accounts without a site: every site); for a
    patient-first kind's round 0, the patient's portal account. One query for all rows."""
    roles = {r.assignee_role for r in rows if r.assignee_id is None}
    staff: list[User] = list(
        User.objects.filter(role__in=roles, is_active=True).select_related("staff").order_by("id") if roles else []
    )
    assignees = {r.assignee_id for r in rows if r.assignee_id is not None}
    named = {u.pk: u for u in User.objects.filter(pk__in=assignees, is_active=True)} if assignees else {}
    by_role_site: dict[tuple[str, int | None], list[User]] = defaultdict(list)
    everywhere: dict[str, list[User]] = defaultdict(list)
    all_of_role: dict[str, list[User]] = defaultdict(list)
    for user in staff:
        all_of_role[user.role].append(user)
        member = getattr(user, "staff", None)
        if member is None:
            everywhere[user.role].append(user)
        else:
            by_role_site[(user.role, member.site_id)].append(user)
    portals = _portal_accounts(rows)
    out: dict[int, list[User]] = {}
    for row in rows:
        if row.kind in PATIENT_FIRST_KINDS and row.round == 0:
            portal = portals.get(row.patient_id) if row.patient_id else None
            out[row.pk] = [portal] if portal is not None else []
        elif row.assignee_id is not None:
            out[row.pk] = [named[row.assignee_id]] if row.assignee_id in named else []
        elif row.site_id is None:
            out[row.pk] = all_of_role[row.assignee_role]
        else:
            out[row.pk] = by_role_site[(row.assignee_role, row.site_id)] + everywhere[row.assignee_role]
    return out


def _when(row: FollowUp) -> str:
    return timezone.localtime(row.due_at, site_zone(row.site)).strftime("%a %d %b %Y %H:%M %Z")


def followup_title(row: FollowUp, *, round_: int | None = None) -> str:
    """What a notification about this follow-up says: kind and due time, never patient data."""
    if row.kind in PATIENT_FIRST_KINDS and (row.round if round_ is None else round_) == 0:
        return "Please fill in your questionnaire before your next session"
    prefix = "overdue" if row.escalated_at else "due"
    return f"{FollowUpKind(row.kind).label}: {prefix} {_when(row)}"


def _message(row: FollowUp) -> tuple[str, str]:
    """Title and body: kind and due time only, never patient data."""
    title = followup_title(row)
    if row.kind in PATIENT_FIRST_KINDS and row.round == 0:
        portal = getattr(settings, "FOLLOWUP_PORTAL_URL", "")
        return title, (
            "Your clinic asks you to fill in your questionnaire before your next session. "
            f"Sign in to the patient portal to answer it. {portal}"
        ).strip()
    prefix = "Overdue" if row.escalated_at else "Due"
    link = getattr(settings, "FOLLOWUP_INBOX_URL", "/api/v1/followups/")
    label = FollowUpKind(row.kind).label
    return title, f"{prefix}: {label} (follow-up #{row.pk}), due {_when(row)}.\nOpen your follow-ups: {link}{row.pk}/"


@dataclass(frozen=True)
class Delivered:
    notified: list[int]
    sent: dict[str, int]
    failed: list[int]


def followups_deliver(*, followup_ids: Sequence[int], channels: Sequence[Channel] | None = None) -> Delivered:
    """Notify the assignees of these queued follow-ups, once each. Idempotent; a constant
    number of queries per batch whatever its size."""
    channels = list(channels) if channels is not None else channels_get()
    now = timezone.now()
    sent: dict[str, int] = {c.name: 0 for c in channels}
    with transaction.atomic():
        rows = list(
            FollowUp.objects.select_for_update(of=("self",))
            .select_related("site")
            .only(*DELIVERY_FIELDS)
            .filter(id__in=ids_in(followup_ids), status=FollowUpStatus.QUEUED)
            .order_by("id")
        )
        if not rows:
            return Delivered(notified=[], sent=sent, failed=[])
        recipients = _recipients(rows)
        messages = {row.pk: _message(row) for row in rows}
        failed_rows: set[int] = set()
        per_row: dict[int, int] = defaultdict(int)
        users = {u.id: u for people in recipients.values() for u in people}
        for channel in channels:
            reachable = {uid for uid, u in users.items() if channel.accepts(u)}
            pairs = [(row, u.id) for row in rows for u in recipients[row.id] if u.id in reachable]
            if not pairs:
                continue
            created = sql.insert_deliveries(
                channel.name,
                [row.id for row, _ in pairs],
                [row.round for row, _ in pairs],
                [uid for _, uid in pairs],
                now,
            )
            todo = [
                Notification(
                    followup_id=row.id,
                    round=row.round,
                    recipient=users[uid],
                    title=messages[row.id][0],
                    body=messages[row.id][1],
                    due_at=row.due_at,
                )
                for row, uid in pairs
                if (row.id, uid) in created
            ]
            if not todo:
                continue
            done = channel.send(todo)
            done_keys = {(n.followup_id, n.recipient.pk) for n in done}
            failed = [n for n in todo if (n.followup_id, n.recipient.pk) not in done_keys]
            sql.delete_deliveries(
                channel.name,
                [n.followup_id for n in failed],
                [n.round for n in failed],
                [n.recipient.pk for n in failed],
            )
            failed_rows.update(n.followup_id for n in failed)
            sent[channel.name] += len(done)
            for n in done:
                per_row[n.followup_id] += 1
        notified = [row.pk for row in rows if row.pk not in failed_rows]
        if notified:
            FollowUp.objects.filter(id__in=ids_in(notified)).update(
                status=FollowUpStatus.NOTIFIED, notified_at=now, updated_at=now
            )
            by_id = {row.pk: row for row in rows}
            sql.insert_events(
                notified,
                FollowUpAction.NOTIFIED,
                data=[
                    {
                        "round": by_id[pk].round,
                        "deliveries": per_row[pk],
                        "recipients": [u.pk for u in recipients[pk]],
                    }
                    for pk in notified
                ],
            )
    nobody = [r.pk for r in rows if not recipients[r.pk] and not (r.kind in PATIENT_FIRST_KINDS and r.round == 0)]
    if nobody:
        # Still open and listed for the role (GET /followups/), but no account could be told.
        logger.warning("No active staff account to notify for follow-ups %s.", nobody[:20])
    if failed_rows:
        logger.warning("Follow-up delivery failed for %d follow-ups; retrying.", len(failed_rows))
    return Delivered(notified=notified, sent=sent, failed=sorted(failed_rows))
