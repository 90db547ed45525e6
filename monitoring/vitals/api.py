"""Vitals at the chair and the alerts they raise."""

from decimal import Decimal
from typing import Any, ClassVar

from django.http import Http404
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from clinic.core.api import actor, validated
from clinic.core.permissions import RolePermission
from clinic.core.roles import CLINICAL
from infusions.sessions.models import InfusionSession
from infusions.sessions.selectors import session_get
from monitoring.alerts.api import AlertSerializer
from monitoring.alerts.models import Alert
from monitoring.vitals import services
from monitoring.vitals.models import Consciousness, VitalSign, VitalsSource
from monitoring.vitals.selectors import vital_get, vitals_list


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
            "correction_artefact",
            "superseded",
            "created_at",
        )

    @extend_schema_field(News2Serializer)
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
    artefact = serializers.BooleanField(
        required=False,
        default=False,
        help_text="The corrected set was a measurement artefact (FHIR: entered-in-error), not wrong values "
        "put right (FHIR: amended).",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, f in self.fields.items():
            if name not in ("correction_reason", "artefact"):
                f.required = False
                f.default = serializers.empty  # type: ignore[assignment]


# --- the ingest fast path ----------------------------------------------------------------------
# Vitals arrive every few minutes from every chair, often in batches from a monitor. A well-formed
# set (JSON numbers, known choices, an ISO time with its offset) is read here field by field; any
# set that is not is handed to `VitalInputSerializer`, so the accepted values and every error
# message are exactly the serializer's (tests/monitoring/vitals/test_vitals_io.py holds them equal).

_INT_FIELDS = ("systolic", "diastolic", "heart_rate", "spo2", "respiratory_rate")
_CONSCIOUSNESS = frozenset(Consciousness.values)
_SOURCES = frozenset(VitalsSource.values)
_TENTH = Decimal("0.1")


def _fast_row(raw: object) -> dict[str, Any] | None:
    """The validated set, or None when the serializer must decide."""
    if type(raw) is not dict:
        return None
    row: dict[str, Any] = {}
    for name in _INT_FIELDS:
        value = raw.get(name)
        if type(value) is not int:
            return None
        row[name] = value
    if (temp := raw.get("temperature_c")) is not None:
        if type(temp) not in (int, float):
            return None
        decimal = Decimal(str(temp))
        if decimal.as_tuple().exponent < -1 or not -100 < decimal < 100:  # type: ignore[operator]
            return None
        row["temperature_c"] = decimal.quantize(_TENTH)
    elif "temperature_c" in raw:
        row["temperature_c"] = None
    consciousness = raw.get("consciousness", "A")
    if consciousness not in _CONSCIOUSNESS:
        return None
    row["consciousness"] = consciousness
    on_oxygen = raw.get("on_oxygen", False)
    if type(on_oxygen) is not bool:
        return None
    row["on_oxygen"] = on_oxygen
    if "moaas" in raw:
        moaas = raw["moaas"]
        if moaas is not None and type(moaas) is not int:
            return None
        row["moaas"] = moaas
    if "recorded_at" in raw:
        text = raw["recorded_at"]
        parsed = parse_datetime(text) if type(text) is str else None
        if parsed is None or parsed.tzinfo is None:
            return None
        row["recorded_at"] = parsed
    source = raw.get("source", "manual")
    if source not in _SOURCES:
        return None
    row["source"] = source
    return row


def vitals_input(data: Any) -> list[dict[str, Any]]:
    """One set (an object) or a batch (a list) as validated rows; 400 per field otherwise."""
    many = isinstance(data, list)
    if many and not data:
        raise serializers.ValidationError({"non_field_errors": ["Send at least one set."]})
    rows = [_fast_row(raw) for raw in (data if many else [data])]
    if all(row is not None for row in rows):
        return rows  # type: ignore[return-value]
    checked = validated(VitalInputSerializer, data, many=many)
    return list(checked) if many else [checked]


_DATETIME = serializers.DateTimeField()
# One serializer for every alert: building a serializer's fields costs more than using them.
_ALERT = AlertSerializer()


def vital_data(vital: VitalSign, alerts: list[Alert], *, superseded: bool = False) -> dict[str, Any]:
    """What `VitalSerializer` gives for a set, built directly (about ten times faster per row,
    and without a query when the caller has the alerts: a set just stored is not superseded
    and its alerts are the ones it raised)."""
    return {
        "id": vital.pk,
        "session": vital.session_id,
        "recorded_at": _DATETIME.to_representation(vital.recorded_at),
        "recorded_by": vital.recorded_by_id,
        "source": vital.source,
        "phase": vital.phase,
        "systolic": vital.systolic,
        "diastolic": vital.diastolic,
        "heart_rate": vital.heart_rate,
        "spo2": vital.spo2,
        "respiratory_rate": vital.respiratory_rate,
        "temperature_c": None if vital.temperature_c is None else Decimal(vital.temperature_c).quantize(_TENTH),
        "consciousness": vital.consciousness,
        "on_oxygen": vital.on_oxygen,
        "moaas": vital.moaas,
        "news2": {"score": vital.news2_score, "risk": vital.news2_risk},
        "alerts": [_ALERT.to_representation(alert) for alert in alerts],
        "supersedes": vital.supersedes_id,
        "correction_reason": vital.correction_reason,
        "correction_artefact": vital.correction_artefact,
        "superseded": superseded,
        "created_at": _DATETIME.to_representation(vital.created_at),
    }


def _recorded_data(recorded: list[services.RecordedVitals]) -> list[dict[str, Any]]:
    return [vital_data(item.vital, item.alerts) for item in recorded]


class SessionVitalsApi(APIView):
    """`GET` a session's vitals (corrections included, superseded rows marked); `POST` one
    set or a list of sets, stored all or nothing."""

    permission_classes = (RolePermission,)
    roles: ClassVar[dict[str, Any]] = {"get": CLINICAL, "post": CLINICAL}

    @extend_schema(responses={200: VitalSerializer(many=True)})
    def get(self, request: Request, session_pk: str) -> Response:
        session = session_get(user=actor(request), session_id=session_pk)
        rows = vitals_list(session=session)
        return Response([vital_data(v, list(v.alerts.all()), superseded=hasattr(v, "superseded_by")) for v in rows])

    # One object or a list (clinic.core.schema.one_or_many_hook writes both into the schema).
    @extend_schema(
        request=VitalInputSerializer(many=True),
        responses={201: VitalSerializer(many=True)},
        extensions={"x-one-or-many": True},
    )
    def post(self, request: Request, session_pk: str) -> Response:
        # Only clinical staff get here (RolePermission), and they may see every session: the
        # service's locked read of the session is the only one (no separate session_get).
        many = isinstance(request.data, list)
        rows = vitals_input(request.data)
        try:
            recorded = services.vitals_record(actor=actor(request), session=int(session_pk), rows=rows)
        except InfusionSession.DoesNotExist as error:
            raise Http404 from error
        body = _recorded_data(recorded)
        return Response(body if many else body[0], status=status.HTTP_201_CREATED)


class VitalCorrectApi(APIView):
    """`POST` a correction: a new set that supersedes this one, with a reason."""

    permission_classes = (RolePermission,)
    roles: ClassVar[dict[str, Any]] = {"post": CLINICAL}

    @extend_schema(request=VitalCorrectionSerializer, responses={201: VitalSerializer})
    def post(self, request: Request, pk: str) -> Response:
        vital = vital_get(user=actor(request), vital_id=pk)
        data = validated(VitalCorrectionSerializer, request.data)
        values = dict(data)
        reason = values.pop("correction_reason")
        artefact = values.pop("artefact")
        recorded = services.vitals_correct(
            actor=actor(request), vital=vital, values=values, reason=reason, artefact=artefact
        )
        return Response(_recorded_data([recorded])[0], status=status.HTTP_201_CREATED)
