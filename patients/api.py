"""Patients, their portal login, weights and screenings."""

from typing import Any, ClassVar

from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import generics, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from clinic.core.api import actor, validated
from clinic.core.permissions import RolePermission
from clinic.core.roles import CLINICAL, DEMOGRAPHICS, PATIENT, STAFF
from clinic.core.schema import IntegerListField, JsonObjectField, StringListField, StringMapListField
from clinic.models import Site
from patients import selectors, services
from patients.models import Assessment, AssessmentInstrument, BodyMeasurement, Patient, Screening, Sex
from patients.scoring import PORTAL_INSTRUMENTS
from patients.screening import ANSWER_KEYS


class PatientSerializer(serializers.ModelSerializer):
    has_portal_account = serializers.SerializerMethodField()

    class Meta:
        model = Patient
        fields = (
            "id",
            "mrn",
            "given_name",
            "family_name",
            "birth_date",
            "sex",
            "email",
            "phone",
            "site",
            "has_portal_account",
            "created_at",
        )

    def get_has_portal_account(self, obj: Patient) -> bool:
        return obj.user_id is not None


class PatientCreateSerializer(serializers.Serializer):
    mrn = serializers.CharField(max_length=32)
    given_name = serializers.CharField(max_length=80)
    family_name = serializers.CharField(max_length=80)
    birth_date = serializers.DateField()
    sex = serializers.ChoiceField(choices=Sex.choices)
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    phone = serializers.CharField(required=False, allow_blank=True, default="", max_length=32)
    site = serializers.PrimaryKeyRelatedField(queryset=Site.objects.all(), required=False, allow_null=True)


class PatientUpdateSerializer(PatientCreateSerializer):
    mrn = None  # type: ignore[assignment]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for f in self.fields.values():
            f.required = False


class PortalAccountSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, write_only=True, style={"input_type": "password"})


class MeasurementSerializer(serializers.ModelSerializer):
    class Meta:
        model = BodyMeasurement
        fields = (
            "id",
            "patient",
            "weight_kg",
            "height_cm",
            "measured_at",
            "recorded_by",
            "change_confirmed",
            "created_at",
        )


class MeasurementCreateSerializer(serializers.Serializer):
    weight_kg = serializers.DecimalField(max_digits=5, decimal_places=1, min_value=2, max_value=400)
    height_cm = serializers.DecimalField(
        max_digits=4, decimal_places=1, min_value=40, max_value=250, required=False, allow_null=True
    )
    measured_at = serializers.DateTimeField(required=False)
    confirm_change = serializers.BooleanField(
        required=False, default=False, help_text="Confirm a change beyond the threshold from the previous weight."
    )


class ScreeningSerializer(serializers.ModelSerializer):
    reasons = StringListField(read_only=True)
    medication_flags = StringMapListField(read_only=True)
    answers = JsonObjectField(read_only=True)

    class Meta:
        model = Screening
        fields = (
            "id",
            "patient",
            "outcome",
            "reasons",
            "medication_flags",
            "answers",
            "screened_at",
            "valid_until",
            "screened_by",
        )


def _answers_serializer() -> type[serializers.Serializer]:
    attrs: dict[str, Any] = {key: serializers.BooleanField() for key in ANSWER_KEYS}
    attrs["medications"] = serializers.ListField(child=serializers.CharField(max_length=120), max_length=100)
    return type("ScreeningAnswersSerializer", (serializers.Serializer,), attrs)


class ScreeningCreateSerializer(serializers.Serializer):
    answers = _answers_serializer()()
    screened_at = serializers.DateTimeField(required=False)


class PatientViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Patients: front desk manages demographics; clinical staff record weights and screenings."""

    permission_classes = (RolePermission,)
    roles: ClassVar[dict[str, Any]] = {
        "list": STAFF,
        "retrieve": (*STAFF, *PATIENT),
        "create": DEMOGRAPHICS,
        "partial_update": DEMOGRAPHICS,
        "portal_account": DEMOGRAPHICS,
        "measurements": CLINICAL,
        "screenings": CLINICAL,
    }
    serializer_class = PatientSerializer
    http_method_names = ("get", "post", "patch", "head", "options")

    def get_queryset(self) -> QuerySet[Patient]:
        return selectors.patient_list(user=actor(self.request), search=self.request.query_params.get("search"))

    def get_object(self) -> Patient:
        return selectors.patient_get(user=actor(self.request), patient_id=self.kwargs["pk"])

    @extend_schema(parameters=[OpenApiParameter("search", str, description="MRN or part of a name")])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(request=PatientCreateSerializer, responses={201: PatientSerializer})
    def create(self, request: Request) -> Response:
        data = validated(PatientCreateSerializer, request.data)
        patient = services.patient_create(actor=actor(request), **data)
        return Response(PatientSerializer(patient).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=PatientUpdateSerializer, responses={200: PatientSerializer})
    def partial_update(self, request: Request, pk: str) -> Response:
        patient = self.get_object()
        data = PatientUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        patient = services.patient_update(actor=actor(request), patient=patient, data=data.validated_data)
        return Response(PatientSerializer(patient).data)

    @extend_schema(request=PortalAccountSerializer, responses={201: PatientSerializer})
    @action(detail=True, methods=["post"], url_path="portal-account")
    def portal_account(self, request: Request, pk: str) -> Response:
        patient = self.get_object()
        data = validated(PortalAccountSerializer, request.data)
        services.patient_portal_account_create(actor=actor(request), patient=patient, **data)
        patient.refresh_from_db()
        return Response(PatientSerializer(patient).data, status=status.HTTP_201_CREATED)

    @extend_schema(methods=["get"], responses={200: MeasurementSerializer(many=True)})
    @extend_schema(methods=["post"], request=MeasurementCreateSerializer, responses={201: MeasurementSerializer})
    @action(detail=True, methods=["get", "post"])
    def measurements(self, request: Request, pk: str) -> Response:
        patient = self.get_object()
        if request.method == "GET":
            rows = selectors.measurement_list(patient=patient)
            return Response(MeasurementSerializer(rows, many=True).data)
        data = validated(MeasurementCreateSerializer, request.data)
        values = data
        measurement = services.measurement_record(
            actor=actor(request),
            patient=patient,
            weight_kg=values["weight_kg"],
            height_cm=values.get("height_cm"),
            measured_at=values.get("measured_at"),
            confirm_change=values["confirm_change"],
        )
        return Response(MeasurementSerializer(measurement).data, status=status.HTTP_201_CREATED)

    @extend_schema(methods=["get"], responses={200: ScreeningSerializer(many=True)})
    @extend_schema(methods=["post"], request=ScreeningCreateSerializer, responses={201: ScreeningSerializer})
    @action(detail=True, methods=["get", "post"])
    def screenings(self, request: Request, pk: str) -> Response:
        patient = self.get_object()
        if request.method == "GET":
            return Response(ScreeningSerializer(selectors.screening_list(patient=patient), many=True).data)
        data = validated(ScreeningCreateSerializer, request.data)
        screening = services.screening_record(
            actor=actor(request),
            patient=patient,
            answers=data["answers"],
            screened_at=data.get("screened_at"),
        )
        return Response(ScreeningSerializer(screening).data, status=status.HTTP_201_CREATED)


class AssessmentSerializer(serializers.ModelSerializer):
    items = IntegerListField(read_only=True)
    flags = StringListField(read_only=True)

    class Meta:
        model = Assessment
        fields = (
            "id",
            "patient",
            "instrument",
            "items",
            "total",
            "severity",
            "flags",
            "administered_at",
            "recorded_by",
            "source",
            "created_at",
        )


_COMPUTED = ("total", "severity", "flags")


@extend_schema_field(
    {
        "oneOf": [
            {"type": "array", "items": {"type": "integer"}},
            {"type": "object", "additionalProperties": {"type": "integer"}},
        ]
    }
)
class ItemScoresField(serializers.JSONField):
    """Item scores: a list (item 1 first) or an object keyed by item number."""


class AssessmentCreateSerializer(serializers.Serializer):
    instrument = serializers.ChoiceField(choices=AssessmentInstrument.choices)
    items = ItemScoresField(
        help_text="The item scores, item 1 first (a list), or an object keyed by item number. "
        "The total, severity band and flags are computed by the service; do not send them."
    )
    administered_at = serializers.DateTimeField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        sent = [name for name in _COMPUTED if name in self.initial_data]
        if sent:
            raise serializers.ValidationError(
                {name: ["Computed by the service from the items; do not send it."] for name in sent}
            )
        return attrs


class PatientAssessmentCreateSerializer(AssessmentCreateSerializer):
    instrument = serializers.ChoiceField(
        choices=AssessmentInstrument.choices,
        help_text=f"A patient submits {' or '.join(PORTAL_INSTRUMENTS)} only (others: 400).",
    )


class _AssessmentsApi(generics.GenericAPIView):
    permission_classes = (RolePermission,)
    serializer_class = AssessmentSerializer
    create_serializer: type[AssessmentCreateSerializer] = AssessmentCreateSerializer

    def patient(self) -> Patient:
        raise NotImplementedError

    def _list(self, request: Request) -> Response:
        instrument = request.query_params.get("instrument")
        rows = selectors.assessment_list(
            patient=self.patient(), instrument=instrument if instrument in AssessmentInstrument.values else None
        )
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(AssessmentSerializer(page, many=True).data)

    def _create(self, request: Request) -> Response:
        patient = self.patient()
        data = validated(self.create_serializer, request.data)
        values = data
        assessment = services.assessment_record(
            actor=actor(request),
            patient=patient,
            instrument=values["instrument"],
            items=values["items"],
            administered_at=values.get("administered_at"),
        )
        return Response(AssessmentSerializer(assessment).data, status=status.HTTP_201_CREATED)


_INSTRUMENT_PARAM = OpenApiParameter("instrument", str, enum=AssessmentInstrument.values)


class PatientAssessmentsApi(_AssessmentsApi):
    """A patient's outcome assessments (CLINICAL.md §5). Clinical staff record and read them;
    front desk never reads them; a patient uses `me/assessments/`."""

    roles: ClassVar[dict[str, Any]] = {"get": CLINICAL, "post": CLINICAL}

    def patient(self) -> Patient:
        return selectors.patient_get(user=actor(self.request), patient_id=self.kwargs["patient_pk"])

    @extend_schema(parameters=[_INSTRUMENT_PARAM], responses={200: AssessmentSerializer(many=True)})
    def get(self, request: Request, patient_pk: str) -> Response:
        return self._list(request)

    @extend_schema(request=AssessmentCreateSerializer, responses={201: AssessmentSerializer})
    def post(self, request: Request, patient_pk: str) -> Response:
        return self._create(request)


class MyAssessmentsApi(_AssessmentsApi):
    """The signed-in patient's own score history; `POST` their own PHQ-9 or GAD-7."""

    roles: ClassVar[dict[str, Any]] = {"get": PATIENT, "post": PATIENT}
    create_serializer = PatientAssessmentCreateSerializer

    def patient(self) -> Patient:
        patient = selectors.patient_list(user=actor(self.request)).first()
        if patient is None:
            raise Http404
        return patient

    @extend_schema(parameters=[_INSTRUMENT_PARAM], responses={200: AssessmentSerializer(many=True)})
    def get(self, request: Request) -> Response:
        return self._list(request)

    @extend_schema(request=PatientAssessmentCreateSerializer, responses={201: AssessmentSerializer})
    def post(self, request: Request) -> Response:
        return self._create(request)
