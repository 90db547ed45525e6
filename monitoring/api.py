"""Vitals at the chair and the alerts they raise."""

from typing import Any, ClassVar

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from clinic.core.api import actor
from clinic.core.permissions import RolePermission
from clinic.core.roles import CLINICAL
from infusions.selectors import session_get
from monitoring import selectors, services
from monitoring.alerting import alert_acknowledge, alert_resolve
from monitoring.models import Alert, AlertStatus, Consciousness, VitalSign, VitalsSource


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
            "escalated_at",
        )


class News2Serializer(serializers.Serializer):
    score = serializers.IntegerField()
    risk = serializers.CharField()


class VitalSerializer(serializers.ModelSerializer):
    news2 = serializers.SerializerMethodField()
    alerts = AlertSerializer(many=True, read_only=True)
    superseded = serializers.SerializerMethodField()

    class Meta:
        model = VitalSign
        fields = (
            "id",
            "session",
            "recorded_at",
            "recorded_by",
            "source",
            "phase",
            "systolic",
            "diastolic",
            "heart_rate",
            "spo2",
            "respiratory_rate",
            "temperature_c",
            "consciousness",
            "on_oxygen",
            "moaas",
            "news2",
            "alerts",
            "supersedes",
            "correction_reason",
            "superseded",
            "created_at",
        )

    @extend_schema(responses=News2Serializer)  # type: ignore[misc]
    def get_news2(self, obj: VitalSign) -> dict[str, Any]:
        return {"score": obj.news2_score, "risk": obj.news2_risk}

    def get_superseded(self, obj: VitalSign) -> bool:
        return hasattr(obj, "superseded_by")


class VitalInputSerializer(serializers.Serializer):
    systolic = serializers.IntegerField()
    diastolic = serializers.IntegerField()
    heart_rate = serializers.IntegerField()
    spo2 = serializers.IntegerField()
    respiratory_rate = serializers.IntegerField()
    temperature_c = serializers.DecimalField(max_digits=3, decimal_places=1, required=False, allow_null=True)
    consciousness = serializers.ChoiceField(choices=Consciousness.choices, required=False, default="A")
    on_oxygen = serializers.BooleanField(required=False, default=False)
    moaas = serializers.IntegerField(required=False, allow_null=True)
    recorded_at = serializers.DateTimeField(required=False)
    source = serializers.ChoiceField(  # type: ignore[assignment]
        choices=VitalsSource.choices, required=False, default="manual"
    )


class VitalCorrectionSerializer(VitalInputSerializer):
    correction_reason = serializers.CharField(max_length=2000)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, f in self.fields.items():
            if name != "correction_reason":
                f.required = False
                f.default = serializers.empty  # type: ignore[assignment]


def _recorded_data(recorded: list[services.RecordedVitals]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for item in recorded:
        data = VitalSerializer(item.vital).data
        data["alerts"] = AlertSerializer(item.alerts, many=True).data
        out.append(data)
    return out


class SessionVitalsApi(APIView):
    """`GET` a session's vitals (corrections included, superseded rows marked); `POST` one
    set or a list of sets, stored all or nothing."""

    permission_classes = (RolePermission,)
    roles: ClassVar[dict[str, Any]] = {"get": CLINICAL, "post": CLINICAL}

    @extend_schema(responses={200: VitalSerializer(many=True)})
    def get(self, request: Request, session_pk: str) -> Response:
        session = session_get(user=actor(request), session_id=session_pk)
        rows = selectors.vitals_list(session=session)
        return Response(VitalSerializer(rows, many=True).data)

    @extend_schema(request=VitalInputSerializer(many=True), responses={201: VitalSerializer(many=True)})
    def post(self, request: Request, session_pk: str) -> Response:
        session = session_get(user=actor(request), session_id=session_pk)
        many = isinstance(request.data, list)
        if many and not request.data:
            raise serializers.ValidationError({"non_field_errors": ["Send at least one set."]})
        data = VitalInputSerializer(data=request.data, many=many)
        data.is_valid(raise_exception=True)
        rows = data.validated_data if many else [data.validated_data]
        recorded = services.vitals_record(actor=actor(request), session=session, rows=rows)
        body = _recorded_data(recorded)
        return Response(body if many else body[0], status=status.HTTP_201_CREATED)


class VitalCorrectApi(APIView):
    """`POST` a correction: a new set that supersedes this one, with a reason."""

    permission_classes = (RolePermission,)
    roles: ClassVar[dict[str, Any]] = {"post": CLINICAL}

    @extend_schema(request=VitalCorrectionSerializer, responses={201: VitalSerializer})
    def post(self, request: Request, pk: str) -> Response:
        vital = selectors.vital_get(user=actor(request), vital_id=pk)
        data = VitalCorrectionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        reason = values.pop("correction_reason")
        recorded = services.vitals_correct(actor=actor(request), vital=vital, values=values, reason=reason)
        return Response(_recorded_data([recorded])[0], status=status.HTTP_201_CREATED)


class AlertResolveSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class AlertViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    permission_classes = (RolePermission,)
    roles: ClassVar[dict[str, Any]] = {"*": CLINICAL}
    serializer_class = AlertSerializer

    def get_queryset(self) -> QuerySet[Alert]:
        params = self.request.query_params
        session = params.get("session")
        status_ = params.get("status")
        return selectors.alert_list(
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
        data = AlertResolveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        alert = alert_resolve(actor=actor(request), alert=self.get_object(), note=data.validated_data["note"])
        return Response(AlertSerializer(alert).data)
