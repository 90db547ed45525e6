"""The API paths of the controlled-substance ledger (under `/api/v1/`, namespace `api`)."""

from django.urls import path

from clinic.core.api import PackageRouter
from infusions.ledger.api import (
    BalanceApi,
    ContainerViewSet,
    DiscrepancyListApi,
    EntryViewSet,
    ExportApi,
    SessionLedgerApi,
    SessionReconcileApi,
    SessionResolveApi,
)

router = PackageRouter()
router.register("ledger/containers", ContainerViewSet, basename="ledger-container")
router.register("ledger/entries", EntryViewSet, basename="ledger-entry")

urlpatterns = [
    path("ledger/sessions/<int:session_pk>/", SessionLedgerApi.as_view(), name="ledger-session"),
    path("ledger/sessions/<int:session_pk>/reconcile/", SessionReconcileApi.as_view(), name="ledger-reconcile"),
    path("ledger/sessions/<int:session_pk>/resolve/", SessionResolveApi.as_view(), name="ledger-resolve"),
    path("ledger/discrepancies/", DiscrepancyListApi.as_view(), name="ledger-discrepancies"),
    path("ledger/balances/", BalanceApi.as_view(), name="ledger-balances"),
    path("ledger/export/", ExportApi.as_view(), name="ledger-export"),
    *router.urls,
]
