"""Set-based writes for follow-ups: one statement per batch, whatever its size.

`INSERT ... SELECT FROM unnest(array, array, ...)` passes one array per column, so the
statement and its parameters stay the same size for 1 or 10,000 rows (a VALUES list would
grow with the rows, and so would the client's time to build it).
"""

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import connection

from monitoring.models import FollowUp, FollowUpDelivery, FollowUpEvent


def insert_followups(rows: Sequence[dict[str, Any]], now: datetime) -> list[int]:
    """INSERT ... ON CONFLICT (key) DO NOTHING RETURNING id: the ids of the rows created."""
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
        return [row[0] for row in cursor.fetchall()]


def insert_events(
    followup_ids: Sequence[int], action: str, *, data: Sequence[dict[str, Any]] | None = None, reason: str = ""
) -> None:
    """One history row per follow-up (no actor: the system did it)."""
    if not followup_ids:
        return
    payloads = [json.dumps(d) for d in data] if data is not None else ["{}"] * len(followup_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{FollowUpEvent._meta.db_table}" ("created_at", "followup_id", "action", "reason", "data") '  # noqa: S608
            "SELECT now(), f, %s, %s, d::jsonb FROM unnest(%s::bigint[], %s::text[]) AS x(f, d)",
            [action, reason, list(followup_ids), payloads],
        )


def insert_deliveries(
    channel: str, followup_ids: Sequence[int], rounds: Sequence[int], recipient_ids: Sequence[int], now: datetime
) -> set[tuple[int, int]]:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING: the (follow-up, recipient) pairs that are new."""
    if not followup_ids:
        return set()
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{FollowUpDelivery._meta.db_table}" '  # noqa: S608
            '("followup_id", "round", "channel", "recipient_id", "sent_at") '
            "SELECT f, r, %s, u, %s FROM unnest(%s::bigint[], %s::int[], %s::bigint[]) AS x(f, r, u) "
            "ON CONFLICT ON CONSTRAINT followupdelivery_once DO NOTHING "
            'RETURNING "followup_id", "recipient_id"',
            [channel, now, list(followup_ids), list(rounds), list(recipient_ids)],
        )
        return {(f, r) for f, r in cursor.fetchall()}


def delete_deliveries(
    channel: str, followup_ids: Sequence[int], rounds: Sequence[int], recipient_ids: Sequence[int]
) -> None:
    if not followup_ids:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f'DELETE FROM "{FollowUpDelivery._meta.db_table}" d USING '  # noqa: S608
            "unnest(%s::bigint[], %s::int[], %s::bigint[]) AS x(f, r, u) "
            "WHERE d.channel = %s AND d.followup_id = x.f AND d.round = x.r AND d.recipient_id = x.u",
            [list(followup_ids), list(rounds), list(recipient_ids), channel],
        )
