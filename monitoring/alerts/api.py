"""The alerts API: list, acknowledge, resolve; the signed-in clinician's escalations."""

from typing import Any, ClassVar

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from clinic.core.api import actor, validated
from clinic.core.permissions import RolePermission
from clinic.core.roles import CLINICAL, PRESCRIBER
from monitoring.alerts.models import Alert, AlertEscalation, AlertResolution, AlertStatus, ResolutionAction
from monitoring.alerts.selectors import alert_escalation_list, alert_list
from monitoring.alerts.services import alert_acknowledge, alert_resolve


class AlertResolutionSerializer(serializers.ModelSerializer):
    class Meta:
        model = AlertResolution
        fields = ("action", "note", "resolved_by", "resolved_at")


class AlertSerializer(serializers.ModelSerializer):
    class Meta:
        model = Alert
        fields = (
            "id",
            "session",
            "vital",
            "rule",
            "severity",
            "status",
            "message",
            "raised_at",
            "acknowledged_by",
            "acknowledged_at",
            "resolved_by",
            "resolved_at",
            "resolution_note",
            "resolution",
            "escalated_at",
        )

    resolution = serializers.SerializerMethodField()

    @extend_schema_field(AlertResolutionSerializer(allow_null=True))
    def get_resolution(self, alert: Alert) -> dict[str, Any] | None:
        """The action taken (kept append-only), once resolved."""
        if alert.status != AlertStatus.RESOLVED:
            return None
        try:
            return dict(AlertResolutionSerializer(alert.resolution).data)
        except AlertResolution.DoesNotExist:
            return None


class AlertResolveSerializer(serializers.Serializer):
    action = serializers.ChoiceField(
        choices=ResolutionAction.choices,
        required=False,
        allow_blank=True,
        default="",
        help_text="The action taken; required for high and emergency alerts.",
    )
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class AlertViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    permission_classes = (RolePermission,)
    roles: ClassVar[dict[str, Any]] = {"*": CLINICAL}
    serializer_class = AlertSerializer

    def get_queryset(self) -> QuerySet[Alert]:
        params = self.request.query_params
        session = params.get("session")
        status_ = params.get("status")
        return alert_list(
            user=actor(self.request),
            status=status_ if status_ in AlertStatus.values else None,
            session_id=int(session) if session and session.isdigit() else None,
        )

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, enum=AlertStatus.values),
            OpenApiParameter("session", int),
        ]
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(request=None, responses={200: AlertSerializer})
    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, pk: str) -> Response:
        """Seen and being dealt with. A pre-dose BP alert needs a prescriber (403 otherwise)."""
        alert = alert_acknowledge(actor=actor(request), alert=self.get_object())
        return Response(AlertSerializer(alert).data)

    @extend_schema(request=AlertResolveSerializer, responses={200: AlertSerializer})
    @action(detail=True, methods=["post"])
    def resolve(self, request: Request, pk: str) -> Response:
        """The cause is dealt with (resolving an open alert acknowledges it too)."""
        data = validated(AlertResolveSerializer, request.data)
        alert = alert_resolve(actor=actor(request), alert=self.get_object(), note=data["note"], action=data["action"])
        return Response(AlertSerializer(alert).data)


class AlertEscalationSerializer(serializers.ModelSerializer):
    session = serializers.IntegerField(source="alert.session_id", read_only=True)
    rule = serializers.CharField(source="alert.rule", read_only=True)
    severity = serializers.CharField(source="alert.severity", read_only=True)

    class Meta:
        model = AlertEscalation
        fields = ("id", "alert", "session", "rule", "severity", "recipient", "escalated_at", "message")


class AlertEscalationListApi(APIView):
    """The signed-in clinician's escalated alerts (the in-app notices), newest first."""

    permission_classes = (RolePermission,)
    roles: ClassVar[dict[str, Any]] = {"get": PRESCRIBER}

    @extend_schema(responses={200: AlertEscalationSerializer(many=True)})
    def get(self, request: Request) -> Response:
        rows = alert_escalation_list(user=actor(request))
        return Response(AlertEscalationSerializer(rows, many=True).data)
