"""Reads of the controlled-substance ledger, built to a fixed number of queries."""

from collections.abc import Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import DecimalField, Exists, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.http import Http404

from clinic.core.roles import LEDGER
from clinic.models import User
from infusions.ledger.models import (
    ControlledContainer,
    EntryKind,
    LedgerEntry,
    LedgerReconciliation,
    ReconciliationStatus,
)
from infusions.sessions.models import InfusionSession

ZERO = Value(Decimal("0"), output_field=DecimalField(max_digits=11, decimal_places=3))


def _readable(user: User) -> bool:
    return user.role in LEDGER


def container_list(
    *,
    user: User,
    site_id: int | None = None,
    drug: str | None = None,
    in_stock: bool | None = None,
    ids: Sequence[int] | None = None,
) -> QuerySet[ControlledContainer]:
    """Containers with their book balance (`stock_mg`), earliest expiry first."""
    qs = (
        ControlledContainer.objects.select_related("site", "received_by")
        .annotate(stock_mg=Coalesce(Sum("entries__stock_change_mg"), ZERO))
        .order_by("expires_on", "id")
    )
    if not _readable(user):
        return qs.none()
    if site_id is not None:
        qs = qs.filter(site_id=site_id)
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    if drug:
        qs = qs.filter(drug=drug)
    if in_stock is True:
        qs = qs.filter(stock_mg__gt=0)
    elif in_stock is False:
        qs = qs.filter(stock_mg__lte=0)
    return qs


def container_get(*, user: User, container_id: int | str) -> ControlledContainer:
    try:
        return container_list(user=user).get(pk=int(container_id))
    except (ControlledContainer.DoesNotExist, ValueError, TypeError) as error:
        raise Http404 from error


def entry_list(
    *,
    user: User,
    container_id: int | None = None,
    session_id: int | None = None,
    kind: str | None = None,
    site_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[LedgerEntry]:
    qs = LedgerEntry.objects.select_related(
        "container__site", "recorded_by", "witness", "second_witness", "reverses"
    ).annotate(reversed=Exists(LedgerEntry.objects.filter(reverses=OuterRef("pk"))))
    if not _readable(user):
        return qs.none()
    if container_id is not None:
        qs = qs.filter(container_id=container_id)
    if session_id is not None:
        qs = qs.filter(session_id=session_id)
    if kind:
        qs = qs.filter(kind=kind)
    if site_id is not None:
        qs = qs.filter(container__site_id=site_id)
    if since is not None:
        qs = qs.filter(occurred_at__gte=since)
    if until is not None:
        qs = qs.filter(occurred_at__lt=until)
    return qs.order_by("occurred_at", "id")


def entry_get(*, user: User, entry_id: int | str) -> LedgerEntry:
    try:
        return entry_list(user=user).get(pk=int(entry_id))
    except (LedgerEntry.DoesNotExist, ValueError, TypeError) as error:
        raise Http404 from error


def ledger_session_get(*, user: User, session_id: int | str) -> InfusionSession:
    if not _readable(user):
        raise Http404
    try:
        return InfusionSession.objects.select_related("course__protocol").get(pk=int(session_id))
    except (InfusionSession.DoesNotExist, ValueError, TypeError) as error:
        raise Http404 from error


def reconciliation_list(*, session: InfusionSession) -> QuerySet[LedgerReconciliation]:
    return session.ledger_reconciliations.select_related("reconciled_by").order_by("created_at", "id")


def discrepancy_list(*, user: User, open_only: bool = True) -> QuerySet[LedgerReconciliation]:
    """Discrepancies; open ones are those no later reconciliation of the session balanced."""
    qs = LedgerReconciliation.objects.filter(status=ReconciliationStatus.DISCREPANCY).select_related(
        "session__course__protocol", "reconciled_by"
    )
    if not _readable(user):
        return qs.none()
    if open_only:
        latest = (
            LedgerReconciliation.objects.filter(session=OuterRef("session"))
            .order_by("-created_at", "-id")
            .values("pk")[:1]
        )
        qs = qs.filter(pk=Subquery(latest))
    return qs.order_by("-created_at", "-id")


def balance_summary(*, user: User, site_id: int | None = None) -> list[dict[str, Any]]:
    """On-hand stock per site and drug (one query)."""
    if not _readable(user):
        return []
    qs = LedgerEntry.objects.all()
    if site_id is not None:
        qs = qs.filter(container__site_id=site_id)
    rows = (
        qs.values("container__site_id", "container__site__code", "container__drug")
        .annotate(
            stock_mg=Coalesce(Sum("stock_change_mg"), ZERO),
            received_mg=Coalesce(Sum("stock_change_mg", filter=Q(kind=EntryKind.RECEIVE)), ZERO),
        )
        .order_by("container__site__code", "container__drug")
    )
    return [
        {
            "site": row["container__site_id"],
            "site_code": row["container__site__code"],
            "drug": row["container__drug"],
            "stock_mg": row["stock_mg"],
            "received_mg": row["received_mg"],
        }
        for row in rows
    ]


EXPORT_COLUMNS = (
    "entry_id",
    "occurred_at",
    "recorded_at",
    "kind",
    "reversal_of",
    "site",
    "container",
    "drug",
    "ndc",
    "lot",
    "expires_on",
    "strength_mg_per_ml",
    "container_volume_ml",
    "amount_mg",
    "amount_ml",
    "stock_change_mg",
    "session",
    "recorded_by",
    "witness",
    "second_witness",
    "supplier",
    "supplier_dea_number",
    "invoice_number",
    "recipient",
    "recipient_dea_number",
    "loss_kind",
    "count_kind",
    "count_method",
    "expected_mg",
    "reason",
)


def _person(user: User | None) -> str:
    if user is None:
        return ""
    name = user.get_full_name()
    return f"{name} ({user.username})" if name else user.username


def export_rows(
    *, user: User, site_id: int | None = None, since: datetime | None = None, until: datetime | None = None
) -> Iterator[dict[str, Any]]:
    """Every entry in time order, one flat row each, for an inspector (CSV or JSON). Staff
    appear by name and username; no patient data (sessions appear by number). Amounts are
    Decimals (JSON numbers); a missing reversal, session or expected amount is None (an empty
    CSV cell, JSON null)."""
    qs = entry_list(user=user, site_id=site_id, since=since, until=until)
    for entry in qs.iterator(chunk_size=2000):
        container = entry.container
        yield {
            "entry_id": entry.pk,
            "occurred_at": entry.occurred_at.isoformat(),
            "recorded_at": entry.created_at.isoformat(),
            "kind": entry.kind,
            "reversal_of": entry.reverses_id,
            "site": container.site.code,
            "container": container.pk,
            "drug": container.drug,
            "ndc": container.ndc,
            "lot": container.lot,
            "expires_on": container.expires_on.isoformat(),
            "strength_mg_per_ml": container.strength_mg_per_ml,
            "container_volume_ml": container.volume_ml,
            "amount_mg": entry.amount_mg,
            "amount_ml": entry.amount_ml,
            "stock_change_mg": entry.stock_change_mg,
            "session": entry.session_id,
            "recorded_by": _person(entry.recorded_by),
            "witness": _person(entry.witness),
            "second_witness": _person(entry.second_witness),
            "supplier": entry.supplier,
            "supplier_dea_number": entry.supplier_dea_number,
            "invoice_number": entry.invoice_number,
            "recipient": entry.recipient,
            "recipient_dea_number": entry.recipient_dea_number,
            "loss_kind": entry.loss_kind,
            "count_kind": entry.count_kind,
            "count_method": entry.count_method,
            "expected_mg": entry.expected_mg,
            "reason": entry.reason,
        }
