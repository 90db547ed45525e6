"""Admin-only exports of the audit trail: `GET /api/v1/audit/history/` (every change to the
audited records, with the values before) and `GET /api/v1/audit/access/` (staff reads of
patients' records). CSV (the default) or JSON, by `Accept` or `format=` (clinic.core.exports);
rows in time order."""

from typing import Any, ClassVar

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from clinic.core.api import validated
from clinic.core.exports import ExportApi, export_format_parameter, export_responses
from clinic.core.permissions import RolePermission
from clinic.core.roles import ADMIN
from monitoring.audit import services as audit
from monitoring.audit.models import AUDITED_MODELS

MODEL_CHOICES = [m._meta.label for m in AUDITED_MODELS] + [m._meta.label for m, _, _ in audit.APPEND_ONLY]


class _ExportQuery(serializers.Serializer):
    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)


class HistoryQuerySerializer(_ExportQuery):
    model = serializers.ChoiceField(choices=MODEL_CHOICES, required=False, help_text="app_label.Model")


class AccessQuerySerializer(_ExportQuery):
    patient = serializers.IntegerField(required=False, min_value=1)
    user = serializers.IntegerField(required=False, min_value=1)


class HistoryRowSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    model = serializers.CharField()
    object_id = serializers.IntegerField()
    event = serializers.ChoiceField(choices=["created", "changed", "deleted"])
    user = serializers.CharField()
    changes = serializers.DictField(child=serializers.ListField(allow_null=True), help_text="field -> [before, after]")
    history_id = serializers.IntegerField(
        allow_null=True, help_text="The history record's id (null for append-only records)."
    )


class AccessRowSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    patient = serializers.IntegerField()
    user = serializers.CharField()
    role = serializers.CharField()
    method = serializers.CharField()
    view = serializers.CharField()
    path = serializers.CharField()
    status_code = serializers.IntegerField()


class AuditHistoryApi(ExportApi):
    """Every change to the audited clinical records: who, when, each changed field before and
    after; and the creation of the append-only clinical records. Oldest first."""

    permission_classes = (RolePermission,)
    roles: ClassVar[dict[str, Any]] = {"get": ADMIN}
    export_name = "audit-history"
    csv_columns = audit.HISTORY_COLUMNS

    @extend_schema(
        parameters=[HistoryQuerySerializer, export_format_parameter("csv")],
        responses=export_responses(HistoryRowSerializer(many=True), "One row per event"),
    )
    def get(self, request: Request) -> Response:
        v = validated(HistoryQuerySerializer, request.query_params)
        return self.export(audit.history_rows(since=v.get("since"), until=v.get("until"), model=v.get("model")))


class AuditAccessApi(ExportApi):
    """Staff reads of patients' records (the patient access log), oldest first."""

    permission_classes = (RolePermission,)
    roles: ClassVar[dict[str, Any]] = {"get": ADMIN}
    export_name = "patient-access-log"
    csv_columns = audit.ACCESS_COLUMNS

    @extend_schema(
        parameters=[AccessQuerySerializer, export_format_parameter("csv")],
        responses=export_responses(AccessRowSerializer(many=True), "One row per read"),
    )
    def get(self, request: Request) -> Response:
        v = validated(AccessQuerySerializer, request.query_params)
        return self.export(
            audit.access_rows(
                since=v.get("since"), until=v.get("until"), patient_id=v.get("patient"), user_id=v.get("user")
            )
        )
