"""Admin-only exports of the audit trail: `GET /api/v1/audit/history/` (every change to the
audited records, with the values before) and `GET /api/v1/audit/access/` (staff reads of
patients' records). CSV (default) or JSON."""

from typing import Any, ClassVar

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.views import APIView

from clinic.core.api import validated
from clinic.core.exports import FORMATS, export_response
from clinic.core.permissions import RolePermission
from clinic.core.roles import ADMIN
from monitoring.audit import services as audit
from monitoring.audit.models import AUDITED_MODELS

MODEL_CHOICES = [m._meta.label for m in AUDITED_MODELS] + [m._meta.label for m, _, _ in audit.APPEND_ONLY]


class _ExportQuery(serializers.Serializer):
    file_format = serializers.ChoiceField(choices=FORMATS, default="csv")
    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)


class HistoryQuerySerializer(_ExportQuery):
    model = serializers.ChoiceField(choices=MODEL_CHOICES, required=False, help_text="app_label.Model")


class AccessQuerySerializer(_ExportQuery):
    patient = serializers.IntegerField(required=False, min_value=1)
    user = serializers.IntegerField(required=False, min_value=1)


EXPORT_RESPONSES = {
    (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="One row per event, with a header."),
    (200, "application/json"): OpenApiResponse(OpenApiTypes.OBJECT, description="{columns, rows}"),
}


class AuditHistoryApi(APIView):
    """Every change to the audited clinical records: who, when, each changed field before and
    after; and the creation of the append-only clinical records."""

    permission_classes = (RolePermission,)
    roles: ClassVar[dict[str, Any]] = {"get": ADMIN}

    @extend_schema(parameters=[HistoryQuerySerializer], responses=EXPORT_RESPONSES)
    def get(self, request: Request) -> Any:
        data = validated(HistoryQuerySerializer, request.query_params)
        v = data
        rows = audit.history_rows(since=v.get("since"), until=v.get("until"), model=v.get("model"))
        return export_response(v["file_format"], "audit-history", audit.HISTORY_COLUMNS, rows)


class AuditAccessApi(APIView):
    """Staff reads of patients' records (the patient access log)."""

    permission_classes = (RolePermission,)
    roles: ClassVar[dict[str, Any]] = {"get": ADMIN}

    @extend_schema(parameters=[AccessQuerySerializer], responses=EXPORT_RESPONSES)
    def get(self, request: Request) -> Any:
        data = validated(AccessQuerySerializer, request.query_params)
        v = data
        rows = audit.access_rows(
            since=v.get("since"), until=v.get("until"), patient_id=v.get("patient"), user_id=v.get("user")
        )
        return export_response(v["file_format"], "patient-access-log", audit.ACCESS_COLUMNS, rows)
