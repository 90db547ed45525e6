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
from django.db import connection, models, transaction
from django.utils import timezone

from clinic.models import Site, User
from monitoring.models import (
    AssigneeRole,
    FollowUp,
    FollowUpAction,
    FollowUpEvent,
    FollowUpKind,
)
from patients.models import Patient


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


def subject_label(obj: models.Model) -> str:
    return f"{obj._meta.app_label}.{obj._meta.model_name}"


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


_COLUMNS = (
    "created_at",
    "updated_at",
    "kind",
    "key",
    "patient_id",
    "site_id",
    "subject_type",
    "subject_id",
    "due_at",
    "assignee_role",
    "assignee_id",
    "status",
    "note",
    "round",
    "escalate_at",
    "escalate_role",
    "outcome",
    "cancel_reason",
)


def followups_ensure_many(specs: Sequence[FollowUpSpec], *, batch_size: int = 1000) -> list[int]:
    """INSERT ... ON CONFLICT (key) DO NOTHING for every spec; returns the ids created.

    One statement per batch (plus one for the "created" events), whatever already exists.
    """
    for spec in specs:
        _spec_validate(spec)
    created: list[int] = []
    if not specs:
        return created
    now = timezone.now()
    table = FollowUp._meta.db_table
    cols = ", ".join(f'"{c}"' for c in _COLUMNS)
    row_sql = "(" + ", ".join(["%s"] * len(_COLUMNS)) + ")"
    with transaction.atomic(), connection.cursor() as cursor:
        for start in range(0, len(specs), batch_size):
            chunk = specs[start : start + batch_size]
            params: list[Any] = []
            for s in chunk:
                params += [
                    now,
                    now,
                    s.kind,
                    s.key,
                    s.patient_id,
                    s.site_id,
                    s.subject_type,
                    s.subject_id,
                    s.due_at,
                    s.assignee_role,
                    s.assignee_id,
                    "pending",
                    s.note,
                    0,
                    s.escalate_at,
                    s.escalate_role,
                    "",
                    "",
                ]
            cursor.execute(
                f'INSERT INTO "{table}" ({cols}) VALUES {", ".join([row_sql] * len(chunk))} '  # noqa: S608
                'ON CONFLICT ("key") DO NOTHING RETURNING "id"',
                params,
            )
            created += [row[0] for row in cursor.fetchall()]
        if created:
            FollowUpEvent.objects.bulk_create(
                [FollowUpEvent(followup_id=pk, action=FollowUpAction.CREATED) for pk in created]
            )
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
    if site_id is None and patient is not None:
        site_id = patient.site_id
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
