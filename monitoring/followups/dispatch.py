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
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import BooleanField, Case, F, Q, Value, When
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce, NullIf
from django.utils import timezone

from clinic.localtime import site_zone, zone_named
from clinic.models import User
from monitoring.bedside.models import OPEN_FOLLOWUP_STATUSES
from monitoring.followups import sql
from monitoring.followups.channels import Channel, Notification, channels_get
from monitoring.followups.models import FollowUp, FollowUpAction, FollowUpKind, FollowUpStatus

logger = logging.getLogger(__name__)

# An escalated booster_due is a booster_overdue (CLINICAL.md §7: overdue after 7 days goes
# to the clinician).
ESCALATED_KIND = {FollowUpKind.BOOSTER_DUE: FollowUpKind.BOOSTER_OVERDUE}
# Kinds whose first round (round 0) goes to the patient's portal account; staff are told at
# the escalation time (CLINICAL.md §7: questionnaire 72 h before, staff reminded if missing
# 24 h before).
PATIENT_FIRST_KINDS = {FollowUpKind.PRE_SESSION_QUESTIONNAIRE}
KIND_LABELS: dict[str, str] = dict(FollowUpKind.choices)
QUESTIONNAIRE_TITLE = "Please fill in your questionnaire before your next session"


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def dispatch_batch_size() -> int:
    return _setting("FOLLOWUP_DISPATCH_BATCH_SIZE", 500)


def dispatch_lease() -> timedelta:
    return timedelta(seconds=_setting("FOLLOWUP_DISPATCH_LEASE_SECONDS", 300))


def id_any(ids: Sequence[int]) -> RawSQL:
    """`FollowUp.objects.filter(id_any(ids))`: `id = ANY(array)`, the ids as one array
    parameter, so the query stays the same size whatever the batch and each id is looked up
    in the primary key (an `IN (SELECT unnest(...))` joins, and can scan the whole table)."""
    return RawSQL(  # noqa: S611 - the table name is ours, the ids a parameter
        f'"{FollowUp._meta.db_table}"."id" = ANY(%s::bigint[])', (sql.int_array(ids),), output_field=BooleanField()
    )


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
                for r in FollowUp.objects.filter(id_any(escalating)).values(
                    "id", "assignee_role", "assignee_id", "kind"
                )
            }
            FollowUp.objects.filter(id_any(escalating)).update(
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
            .exclude(id_any(escalating))
            .order_by("due_at", "id")
            .values_list("id", flat=True)[: max(limit - len(escalating), 0)]
        )
        if due:
            FollowUp.objects.filter(id_any(due)).update(status=FollowUpStatus.QUEUED, queued_at=now, updated_at=now)
        ids = escalating + due
        if ids:
            transaction.on_commit(lambda: send(ids))
    return Claimed(ids=ids, escalated=escalating)


# --- delivery ---


class QueuedRow(NamedTuple):
    """What the delivery reads of a follow-up (not the free text)."""

    id: int
    kind: str
    round: int
    due_at: datetime
    patient_id: int | None
    site_id: int | None
    time_zone: str | None
    assignee_role: str
    assignee_id: int | None
    escalated: bool


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _lock_queued(followup_ids: Sequence[int]) -> list[QueuedRow]:
    """Lock these follow-ups and keep those still queued (another delivery of them waits on
    the lock, then finds them notified). Plain tuples, not model instances."""
    due: dict[int, datetime] = {}  # a batch's rows share a few due times
    rows = []
    for pk, status, kind, round_, due_us, *rest in sql.lock_followups(followup_ids):
        if status != FollowUpStatus.QUEUED:
            continue
        if due_us not in due:
            due[due_us] = EPOCH + timedelta(microseconds=due_us)
        rows.append(QueuedRow(pk, kind, round_, due[due_us], *rest))
    return rows


def _patient_first(row: QueuedRow) -> bool:
    return row.kind in PATIENT_FIRST_KINDS and row.round == 0


def _portal_accounts(rows: Sequence[QueuedRow]) -> dict[int, User]:
    """The patients' portal accounts for the patient-first rows (one query, when any)."""
    patient_ids = {r.patient_id for r in rows if _patient_first(r) and r.patient_id}
    if not patient_ids:
        return {}
    return {
        u.patient.pk: u  # type: ignore[attr-defined]
        for u in User.objects.filter(patient__in=patient_ids, is_active=True).select_related("patient")
    }


def _recipients(rows: Sequence[QueuedRow]) -> dict[int, list[User]]:
    """Who is told, per follow-up: the named assignee, else every active staff account of
    the assignee role at the follow-up's site (accounts without a site: every site); for a
    patient-first kind's round 0, the patient's portal account. One query for all rows.
    Rows with the same audience share one list (do not mutate it)."""
    roles = {r.assignee_role for r in rows if r.assignee_id is None}
    staff: list[User] = list(
        User.objects.filter(role__in=roles, is_active=True).select_related("staff").order_by("id") if roles else []
    )
    assignees = {r.assignee_id for r in rows if r.assignee_id is not None}
    named = {u.id: u for u in User.objects.filter(pk__in=assignees, is_active=True)} if assignees else {}
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
    at_site: dict[tuple[str, int], list[User]] = {}
    portals = _portal_accounts(rows)
    out: dict[int, list[User]] = {}
    for row in rows:
        if _patient_first(row):
            portal = portals.get(row.patient_id) if row.patient_id else None
            out[row.id] = [portal] if portal is not None else []
        elif row.assignee_id is not None:
            out[row.id] = [named[row.assignee_id]] if row.assignee_id in named else []
        elif row.site_id is None:
            out[row.id] = all_of_role[row.assignee_role]
        else:
            key = (row.assignee_role, row.site_id)
            if key not in at_site:
                at_site[key] = by_role_site[key] + everywhere[row.assignee_role]
            out[row.id] = at_site[key]
    return out


def _when(due_at: datetime, zone: ZoneInfo) -> str:
    return timezone.localtime(due_at, zone).strftime("%a %d %b %Y %H:%M %Z")


def _staff_title(kind: str, escalated: bool, when: str) -> str:
    return f"{KIND_LABELS[kind]}: {'overdue' if escalated else 'due'} {when}"


def followup_title(row: FollowUp, *, round_: int | None = None) -> str:
    """What a notification about this follow-up says: kind and due time, never patient data."""
    if row.kind in PATIENT_FIRST_KINDS and (row.round if round_ is None else round_) == 0:
        return QUESTIONNAIRE_TITLE
    return _staff_title(row.kind, bool(row.escalated_at), _when(row.due_at, site_zone(row.site)))


def _messages(rows: Sequence[QueuedRow]) -> dict[int, tuple[str, str]]:
    """Title and body per follow-up: kind and due time only, never patient data. Each due
    time is formatted once per time zone (a batch's rows mostly share a few)."""
    portal = getattr(settings, "FOLLOWUP_PORTAL_URL", "")
    link = getattr(settings, "FOLLOWUP_INBOX_URL", "/api/v1/followups/")
    questionnaire = (
        QUESTIONNAIRE_TITLE,
        (
            "Your clinic asks you to fill in your questionnaire before your next session. "
            f"Sign in to the patient portal to answer it. {portal}"
        ).strip(),
    )
    whens: dict[tuple[datetime, str | None], str] = {}
    out: dict[int, tuple[str, str]] = {}
    for row in rows:
        if _patient_first(row):
            out[row.id] = questionnaire
            continue
        when = whens.get((row.due_at, row.time_zone))
        if when is None:
            when = whens[(row.due_at, row.time_zone)] = _when(row.due_at, zone_named(row.time_zone))
        prefix = "Overdue" if row.escalated else "Due"
        out[row.id] = (
            _staff_title(row.kind, row.escalated, when),
            f"{prefix}: {KIND_LABELS[row.kind]} (follow-up #{row.id}), due {when}.\n"
            f"Open your follow-ups: {link}{row.id}/",
        )
    return out


@dataclass(frozen=True)
class Delivered:
    notified: list[int]
    sent: dict[str, int]
    failed: list[int]


def followups_deliver(*, followup_ids: Sequence[int], channels: Sequence[Channel] | None = None) -> Delivered:
    """Notify the assignees of these queued follow-ups, once each. Idempotent; a constant
    number of queries per batch whatever its size and however many channels."""
    channels = list(channels) if channels is not None else channels_get()
    now = timezone.now()
    sent: dict[str, int] = {c.name: 0 for c in channels}
    with transaction.atomic():
        rows = _lock_queued(followup_ids)
        if not rows:
            return Delivered(notified=[], sent=sent, failed=[])
        recipients = _recipients(rows)
        messages = _messages(rows)
        users = {u.id: u for people in recipients.values() for u in people}
        # What each channel would send, then the delivery rows of all of it in one statement:
        # what already had its row (a retry, a redelivered message) is not sent again.
        per_channel: list[list[Notification]] = []
        for channel in channels:
            reachable = {uid for uid, u in users.items() if channel.accepts(u)}
            per_channel.append(
                [
                    Notification(
                        followup_id=row.id,
                        round=row.round,
                        recipient=user,
                        title=messages[row.id][0],
                        body=messages[row.id][1],
                        due_at=row.due_at,
                    )
                    for row in rows
                    for user in recipients[row.id]
                    if user.id in reachable
                ]
            )
        existing = sql.insert_deliveries(
            [c.name for c in channels],
            [ix for ix, candidates in enumerate(per_channel) for _ in candidates],
            [n.followup_id for candidates in per_channel for n in candidates],
            [n.round for candidates in per_channel for n in candidates],
            [n.recipient.id for candidates in per_channel for n in candidates],
            now,
        )
        failed: list[tuple[str, Notification]] = []
        per_row: Counter[int] = Counter()
        offset = 0
        for channel, candidates in zip(channels, per_channel, strict=True):
            todo = [n for position, n in enumerate(candidates, offset) if position not in existing]
            offset += len(candidates)
            if not todo:
                continue
            done = channel.send(todo)
            done_keys = {(n.followup_id, n.recipient.id) for n in done}
            failed.extend((channel.name, n) for n in todo if (n.followup_id, n.recipient.id) not in done_keys)
            sent[channel.name] += len(done)
            per_row.update(n.followup_id for n in done)
        # What a channel did not deliver is rolled back (its rows deleted) and retried.
        sql.delete_deliveries(
            [name for name, _ in failed],
            [n.followup_id for _, n in failed],
            [n.round for _, n in failed],
            [n.recipient.id for _, n in failed],
        )
        failed_rows = {n.followup_id for _, n in failed}
        notified_rows = [row for row in rows if row.id not in failed_rows]
        notified = [row.id for row in notified_rows]
        if notified:
            FollowUp.objects.filter(id_any(notified)).update(
                status=FollowUpStatus.NOTIFIED, notified_at=now, updated_at=now
            )
            sql.insert_events(
                notified,
                FollowUpAction.NOTIFIED,
                data=[
                    {
                        "round": row.round,
                        "deliveries": per_row[row.id],
                        "recipients": [u.id for u in recipients[row.id]],
                    }
                    for row in notified_rows
                ],
            )
    nobody = [r.id for r in rows if not recipients[r.id] and not _patient_first(r)]
    if nobody:
        # Still open and listed for the role (GET /followups/), but no account could be told.
        logger.warning("No active staff account to notify for follow-ups %s.", nobody[:20])
    if failed_rows:
        logger.warning("Follow-up delivery failed for %d follow-ups; retrying.", len(failed_rows))
    return Delivered(notified=notified, sent=sent, failed=sorted(failed_rows))
