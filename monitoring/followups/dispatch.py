"""Sending due follow-ups: exactly once per (follow-up, round, channel, recipient).

1. `followups_claim_due` (the beat tick, every minute) locks due rows with
   `SELECT ... FOR UPDATE SKIP LOCKED`, marks them `queued` with a lease time and, after
   commit, hands their ids in batches to the delivery task. Rows whose escalation time has
   come are escalated in the same step (new round, new assignee role).
2. `followups_deliver` (the delivery task) locks the queued rows and, in one transaction,
   writes one delivery row per (follow-up, round, channel, recipient) with `INSERT ... ON
   CONFLICT DO NOTHING`, the outbox messages of the sent channels (e-mail: one digest per
   recipient, with its Message-ID) for what that insert created, and marks the rows
   `notified`. Nothing is sent inside it: a retry, a redelivery after a worker died, or a
   second copy of the message finds the rows notified and writes nothing again.
3. After commit the outbox (`monitoring.outbox`) sends each channel's messages on its own
   and marks each one sent as soon as it went: a failing channel delays only itself, the
   in-app inbox (whose delivery rows are the entries) is delivered at commit.
4. Nothing is lost: a row stays `queued` until its delivery commits; if its message is lost
   (Redis restarted empty, a worker killed before it acknowledged), the next tick after the
   lease (`FOLLOWUP_DISPATCH_LEASE_SECONDS`) queues it again (a `requeued` event says so).
"""

import logging
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
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
from monitoring.audit.history import audit_cause, history_snapshot
from monitoring.bedside.models import OPEN_FOLLOWUP_STATUSES
from monitoring.followups import sql
from monitoring.followups.models import FollowUp, FollowUpAction, FollowUpKind, FollowUpStatus
from monitoring.outbox.channels import Channel, Notification, channels_get
from monitoring.outbox.services import outbox_add

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
    requeued: list[int] = field(default_factory=list)


CLAIM_RULE = "followup_due (CLINICAL.md §7)"
ESCALATE_RULE = "followup_escalation (CLINICAL.md §7)"
REQUEUE_RULE = "followup_lease_expired"


def followups_claim_due(
    *, now: datetime | None = None, limit: int | None = None, enqueue: Callable[[Sequence[int]], None] | None = None
) -> Claimed:
    """One tick: lock due and escalating rows (skip those another tick holds), mark them
    queued, and enqueue their ids after commit. A constant number of queries."""
    now = now or timezone.now()
    limit = limit or _setting("FOLLOWUP_DISPATCH_MAX_PER_TICK", 20000)
    send = enqueue or _enqueue
    with transaction.atomic():
        escalating = _escalate(now, limit)
        due, requeued = _queue_due(now, max(limit - len(escalating), 0), exclude=escalating)
        ids = escalating + due
        if ids:
            transaction.on_commit(lambda: send(ids))
    return Claimed(ids=ids, escalated=escalating, requeued=requeued)


def _escalate(now: datetime, limit: int) -> list[int]:
    """Rows whose escalation time has come: new round, the escalation role, queued."""
    escalating = list(
        FollowUp.objects.select_for_update(skip_locked=True)
        .filter(escalate_at__lte=now, escalated_at__isnull=True, status__in=OPEN_FOLLOWUP_STATUSES)
        .order_by("escalate_at", "id")
        .values_list("id", flat=True)[:limit]
    )
    if not escalating:
        return []
    before = {
        r["id"]: r
        for r in FollowUp.objects.filter(id_any(escalating)).values("id", "assignee_role", "assignee_id", "kind")
    }
    FollowUp.objects.filter(id_any(escalating)).update(
        assignee_role=Coalesce(NullIf(F("escalate_role"), Value("")), F("assignee_role")),
        assignee=None,
        kind=Case(*[When(kind=k, then=Value(v.value)) for k, v in ESCALATED_KIND.items()], default=F("kind")),
        round=F("round") + 1,
        escalated_at=now,
        status=FollowUpStatus.QUEUED,
        queued_at=now,
        updated_at=now,
    )
    history_snapshot(FollowUp, escalating, rule=ESCALATE_RULE, at=now)
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
    return escalating


def _queue_due(now: datetime, limit: int, *, exclude: Sequence[int]) -> tuple[list[int], list[int]]:
    """Due pending rows, and queued rows whose lease expired (their message was lost): queued
    now. Returns (all, the re-claimed ones); a re-claim leaves a `requeued` event."""
    rows = list(
        FollowUp.objects.select_for_update(skip_locked=True)
        .filter(
            Q(status=FollowUpStatus.PENDING, due_at__lte=now)
            | Q(status=FollowUpStatus.QUEUED, queued_at__lt=now - dispatch_lease())
        )
        .exclude(id_any(exclude))
        .order_by("due_at", "id")
        .values_list("id", "status")[:limit]
    )
    due = [pk for pk, _ in rows]
    requeued = [pk for pk, status in rows if status == FollowUpStatus.QUEUED]
    if due:
        FollowUp.objects.filter(id_any(due)).update(status=FollowUpStatus.QUEUED, queued_at=now, updated_at=now)
        history_snapshot(FollowUp, due, rule=CLAIM_RULE, at=now)
    if requeued:
        sql.insert_events(requeued, FollowUpAction.REQUEUED, reason="The delivery did not commit within the lease.")
    return due, requeued


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
    # Delivery rows written per channel (the inbox's are delivered; a sent channel's are in
    # the outbox, sent after commit).
    sent: dict[str, int]


DELIVER_RULE = "followup_due (CLINICAL.md §7)"


def followups_deliver(*, followup_ids: Sequence[int], channels: Sequence[Channel] | None = None) -> Delivered:
    """Notify the assignees of these queued follow-ups, once each, on every channel: the
    delivery rows, the outbox messages of the sent channels and the `notified` mark commit
    together; each channel's messages are sent after commit, on their own. Idempotent; a
    constant number of queries per batch whatever its size and however many channels."""
    channels = list(channels) if channels is not None else channels_get()
    now = timezone.now()
    with transaction.atomic(), audit_cause(rule=DELIVER_RULE):
        rows = _lock_queued(followup_ids)
        if not rows:
            return Delivered(notified=[], sent={c.name: 0 for c in channels})
        recipients = _recipients(rows)
        per_channel = _notifications(rows, recipients, channels)
        written = _deliveries_write(channels, per_channel, now)
        _outbox_write(channels, written, now)
        _notified_mark(rows, recipients, written, now)
    _warn_unreached(rows, recipients)
    return Delivered(
        notified=[r.id for r in rows], sent={c.name: len(w) for c, w in zip(channels, written, strict=True)}
    )


def _ref(row: QueuedRow) -> str:
    return f"followup:{row.id}:{row.round}"


def ref_parse(ref: str) -> tuple[int, int]:
    """`followup:12:0` -> (12, 0)."""
    _, followup_id, round_ = ref.split(":")
    return int(followup_id), int(round_)


def _notifications(
    rows: Sequence[QueuedRow], recipients: dict[int, list[User]], channels: Sequence[Channel]
) -> list[list[Notification]]:
    """What each channel would deliver: one notification per row and reachable recipient."""
    messages = _messages(rows)
    users = {u.id: u for people in recipients.values() for u in people}
    out = []
    for channel in channels:
        reachable = {uid for uid, u in users.items() if channel.accepts(u)}
        out.append(
            [
                Notification(ref=_ref(row), recipient=user, title=messages[row.id][0], body=messages[row.id][1])
                for row in rows
                for user in recipients[row.id]
                if user.id in reachable
            ]
        )
    return out


def _deliveries_write(
    channels: Sequence[Channel], per_channel: Sequence[Sequence[Notification]], now: datetime
) -> list[list[Notification]]:
    """The delivery rows of every channel in one statement; returns, per channel, the
    notifications whose row this call created (one already there is not delivered again)."""
    flat = [(ix, n) for ix, candidates in enumerate(per_channel) for n in candidates]
    keys = [ref_parse(n.ref) for _, n in flat]
    existing = sql.insert_deliveries(
        [c.name for c in channels],
        [ix for ix, _ in flat],
        [f for f, _ in keys],
        [r for _, r in keys],
        [n.recipient.id for _, n in flat],
        now,
    )
    written: list[list[Notification]] = [[] for _ in channels]
    for position, (ix, n) in enumerate(flat):
        if position not in existing:
            written[ix].append(n)
    return written


def _outbox_write(channels: Sequence[Channel], written: Sequence[Sequence[Notification]], now: datetime) -> None:
    """Each sent channel's messages into the outbox (their `refs` name the deliveries they
    carry); they are sent after commit (`monitoring.outbox`)."""
    for channel, notifications in zip(channels, written, strict=True):
        if not channel.stored and notifications:
            outbox_add(channel=channel.name, drafts=channel.compose(notifications), now=now)


def _notified_mark(
    rows: Sequence[QueuedRow],
    recipients: dict[int, list[User]],
    written: Sequence[Sequence[Notification]],
    now: datetime,
) -> None:
    """The rows are notified: status, history (who caused it) and one event each."""
    ids = [row.id for row in rows]
    per_row: Counter[int] = Counter(ref_parse(n.ref)[0] for notifications in written for n in notifications)
    FollowUp.objects.filter(id_any(ids)).update(status=FollowUpStatus.NOTIFIED, notified_at=now, updated_at=now)
    history_snapshot(FollowUp, ids, at=now)
    sql.insert_events(
        ids,
        FollowUpAction.NOTIFIED,
        data=[
            {"round": row.round, "deliveries": per_row[row.id], "recipients": [u.id for u in recipients[row.id]]}
            for row in rows
        ],
    )


def _warn_unreached(rows: Sequence[QueuedRow], recipients: dict[int, list[User]]) -> None:
    nobody = [r.id for r in rows if not recipients[r.id] and not _patient_first(r)]
    if nobody:
        # Still open and listed for the role (GET /followups/), but no account could be told.
        logger.warning("No active staff account to notify for follow-ups %s.", nobody[:20])
