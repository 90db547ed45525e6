"""Set-based writes for follow-ups: one statement per batch, whatever its size.

`INSERT ... SELECT FROM unnest(array, array, ...)` passes one array per column, so the
statement and its parameters stay the same size for 1 or 10,000 rows (a VALUES list would
grow with the rows, and so would the client's time to build it).

Integer arrays travel as one array literal (`int_array`), and JSON documents as one JSON
array: psycopg's client-side binding would otherwise quote every element in Python, which
cost more than the statements themselves on a batch of 500 follow-ups.
"""

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.db import connection

from clinic.models import Site
from monitoring.audit.history import history_snapshot
from monitoring.followups.models import FollowUp, FollowUpDelivery, FollowUpEvent


def insert_followups(rows: Sequence[dict[str, Any]], now: datetime) -> list[int]:
    """INSERT ... ON CONFLICT (key) DO NOTHING RETURNING id: the ids of the rows created
    (with their history)."""
    if not rows:
        return []
    columns = {
        "kind": "text",
        "key": "text",
        "patient_id": "bigint",
        "site_id": "bigint",
        "subject_type": "text",
        "subject_id": "bigint",
        "due_at": "timestamptz",
        "assignee_role": "text",
        "assignee_id": "bigint",
        "note": "text",
        "escalate_at": "timestamptz",
        "escalate_role": "text",
    }
    names = list(columns)
    arrays = [[row[name] for row in rows] for name in names]
    unnest = ", ".join(f"%s::{kind}[]" for kind in columns.values())
    sql = (
        f'INSERT INTO "{FollowUp._meta.db_table}" ("created_at", "updated_at", "status", "round", "outcome", '  # noqa: S608
        f'"cancel_reason", {", ".join(names)}) '
        f"SELECT %s, %s, 'pending', 0, '', '', {', '.join(names)} FROM unnest({unnest}) AS x({', '.join(names)}) "
        'ON CONFLICT ("key") DO NOTHING RETURNING "id"'
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [now, now, *arrays])
        created = [row[0] for row in cursor.fetchall()]
    history_snapshot(FollowUp, created, history_type="+", rule="followup_planned (CLINICAL.md §7)", at=now)
    return created


def int_array(values: Iterable[int]) -> str:
    """`{1,2,3}`: integers as one PostgreSQL array literal, cast in SQL (`%s::bigint[]`)."""
    return "{" + ",".join(map(str, map(int, values))) + "}"


def lock_followups(followup_ids: Sequence[int]) -> list[tuple[Any, ...]]:
    """`SELECT ... FOR UPDATE` of these follow-ups, in id order (two deliveries lock in the
    same order), with what the delivery reads of each (not the free text): id, status, kind,
    round, due time in microseconds since the epoch, patient, site, the site's time zone,
    assignee role, assignee, escalated or not.

    The ids are looked up in the primary key (the status is returned, not filtered on: a
    filter lets the planner walk the whole status index instead). The due time is an
    integer because Django's timestamptz loader is pure Python, about 10 us a value."""
    if not followup_ids:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT f.id, f.status, f.kind, f.round, (extract(epoch FROM f.due_at) * 1000000)::bigint, "  # noqa: S608
            "f.patient_id, f.site_id, s.time_zone, f.assignee_role, f.assignee_id, f.escalated_at IS NOT NULL "
            f'FROM "{FollowUp._meta.db_table}" f LEFT JOIN "{Site._meta.db_table}" s ON s.id = f.site_id '
            "WHERE f.id = ANY(%s::bigint[]) ORDER BY f.id FOR UPDATE OF f",
            [int_array(followup_ids)],
        )
        return cursor.fetchall()


def insert_events(
    followup_ids: Sequence[int], action: str, *, data: Sequence[dict[str, Any]] | None = None, reason: str = ""
) -> None:
    """One history row per follow-up (no actor: the system did it). `data[i]` is the i-th
    follow-up's; the documents go as one JSON array, paired with the ids by position."""
    if not followup_ids:
        return
    table = FollowUpEvent._meta.db_table
    with connection.cursor() as cursor:
        if data is None:
            cursor.execute(
                f'INSERT INTO "{table}" ("created_at", "followup_id", "action", "reason", "data") '  # noqa: S608
                "SELECT now(), f, %s, %s, '{}'::jsonb FROM unnest(%s::bigint[]) AS x(f)",
                [action, reason, int_array(followup_ids)],
            )
            return
        if len(data) != len(followup_ids):
            raise ValueError("One data document per follow-up.")
        cursor.execute(
            f'INSERT INTO "{table}" ("created_at", "followup_id", "action", "reason", "data") '  # noqa: S608
            "SELECT now(), f, %s, %s, d "
            "FROM ROWS FROM (unnest(%s::bigint[]), jsonb_array_elements(%s::jsonb)) AS x(f, d)",
            [action, reason, int_array(followup_ids), json.dumps(list(data))],
        )


def insert_deliveries(
    channels: Sequence[str],
    channel_ix: Sequence[int],
    followup_ids: Sequence[int],
    rounds: Sequence[int],
    recipient_ids: Sequence[int],
    now: datetime,
) -> set[int]:
    """One delivery row per (follow-up, round, channel, recipient), `channels[channel_ix[i]]`
    for the i-th, in one `INSERT ... ON CONFLICT DO NOTHING` for every channel. Returns the
    positions of those that were already there (nothing to send for them): usually none, so
    the answer is empty rather than every row created."""
    if not followup_ids:
        return set()
    table = FollowUpDelivery._meta.db_table
    query = (
        "WITH x AS MATERIALIZED ("  # noqa: S608
        "  SELECT f, r, (%s::text[])[c + 1] AS c, u, i - 1 AS i"
        "  FROM unnest(%s::bigint[], %s::int[], %s::int[], %s::bigint[]) WITH ORDINALITY AS x(f, r, c, u, i)"
        "), created AS ("
        f'  INSERT INTO "{table}" ("followup_id", "round", "channel", "recipient_id", "sent_at")'
        "  SELECT f, r, c, u, %s FROM x"
        "  ON CONFLICT ON CONSTRAINT followupdelivery_once DO NOTHING"
        '  RETURNING "followup_id", "round", "channel", "recipient_id"'
        ") "
        "SELECT x.i FROM x WHERE NOT EXISTS ("
        "  SELECT FROM created n"
        "  WHERE n.followup_id = x.f AND n.round = x.r AND n.channel = x.c AND n.recipient_id = x.u"
        ")"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            query,
            [
                list(channels),
                int_array(followup_ids),
                int_array(rounds),
                int_array(channel_ix),
                int_array(recipient_ids),
                now,
            ],
        )
        return {i for (i,) in cursor.fetchall()}
