"""The API paths of the audit trail exports (under `/api/v1/`, namespace `api`)."""

from django.urls import path

from monitoring.audit.api import AuditAccessApi, AuditHistoryApi

urlpatterns = [
    path("audit/history/", AuditHistoryApi.as_view(), name="audit-history"),
    path("audit/access/", AuditAccessApi.as_view(), name="audit-access"),
]
