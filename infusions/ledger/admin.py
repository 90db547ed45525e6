"""Admin for the controlled-substance ledger: visible to admins, never changed there
(append-only; corrections are reversing entries through the API)."""

from django.contrib import admin

from clinic.core.admin import ReadOnlyAdmin
from infusions.ledger.models import ControlledContainer, LedgerEntry, LedgerReconciliation


@admin.register(ControlledContainer)
class ControlledContainerAdmin(ReadOnlyAdmin):
    list_display = ("id", "site", "drug", "ndc", "lot", "expires_on", "strength_mg_per_ml", "volume_ml", "created_at")
    list_filter = ("site", "drug", "kind")
    search_fields = ("ndc", "lot")


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "occurred_at",
        "kind",
        "container",
        "amount_mg",
        "session",
        "recorded_by",
        "witness",
        "reverses",
    )
    list_filter = ("kind", "container__site", "container__drug")
    raw_id_fields = ("container", "session", "reverses")
    date_hierarchy = "occurred_at"


@admin.register(LedgerReconciliation)
class LedgerReconciliationAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "session",
        "status",
        "opened_mg",
        "administered_mg",
        "wasted_mg",
        "difference_mg",
        "created_at",
    )
    list_filter = ("status",)
    raw_id_fields = ("session", "resolves")
