"""Protocols, treatment courses, sessions and the dose preview."""

from decimal import Decimal
from typing import Any, ClassVar

from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from clinic.core.api import actor, validated
from clinic.core.permissions import RolePermission
from clinic.core.roles import CLINICAL, PRESCRIBER
from clinic.core.schema import StringListField
from infusions.protocols.models import Protocol
from infusions.scheduling.models import Appointment
from infusions.scheduling.selectors import appointment_get
from infusions.sessions import services
from infusions.sessions.models import Indication, InfusionSession, TreatmentCourse
from infusions.sessions.selectors import course_get, course_list, session_get, session_list
from patients.models import Patient


class CourseSerializer(serializers.ModelSerializer):
    protocol_code = serializers.CharField(source="protocol.code", read_only=True)

    class Meta:
        model = TreatmentCourse
        fields = (
            "id",
            "patient",
            "protocol",
            "protocol_code",
            "indication",
            "phase",
            "notes",
            "created_by",
            "created_at",
        )


class CourseCreateSerializer(serializers.Serializer):
    patient = serializers.PrimaryKeyRelatedField(queryset=Patient.objects.all())
    protocol = serializers.PrimaryKeyRelatedField(queryset=Protocol.objects.all())
    indication = serializers.ChoiceField(choices=Indication.choices)
    notes = serializers.CharField(required=False, allow_blank=True, default="")


class DoseFiguresSerializer(serializers.Serializer):
    weight_kg = serializers.DecimalField(max_digits=5, decimal_places=1, allow_null=True)
    dose = serializers.DecimalField(max_digits=8, decimal_places=3)
    dose_unit = serializers.CharField()
    concentration_mg_per_ml = serializers.DecimalField(max_digits=8, decimal_places=3, allow_null=True)
    total_dose_mg = serializers.DecimalField(max_digits=9, decimal_places=1)
    rate_mg_per_h = serializers.DecimalField(max_digits=9, decimal_places=1, allow_null=True)
    volume_ml = serializers.DecimalField(max_digits=9, decimal_places=1, allow_null=True)
    rate_ml_per_h = serializers.DecimalField(max_digits=9, decimal_places=1, allow_null=True)
    devices = serializers.IntegerField(allow_null=True)
    requires_approval = serializers.BooleanField()
    approval_reasons = serializers.ListField(child=serializers.CharField())


class SessionSerializer(serializers.ModelSerializer):
    patient = serializers.IntegerField(source="course.patient_id", read_only=True)
    approval_reasons = StringListField(read_only=True)
    protocol_code = serializers.CharField(source="course.protocol.code", read_only=True)

    class Meta:
        model = InfusionSession
        fields = (
            "id",
            "course",
            "appointment",
            "patient",
            "protocol_code",
            "status",
            "weight_kg",
            "dose",
            "dose_unit",
            "concentration_mg_per_ml",
            "total_dose_mg",
            "rate_mg_per_h",
            "volume_ml",
            "rate_ml_per_h",
            "devices",
            "requires_approval",
            "approval_reasons",
            "override_reason",
            "approved_by",
            "approved_at",
            "created_by",
            "created_at",
            "started_at",
            "dosing_ended_at",
            "actual_dose_mg",
            "signed_at",
            "signed_by",
        )


class SessionCreateSerializer(serializers.Serializer):
    course = serializers.IntegerField()
    dose = serializers.DecimalField(max_digits=8, decimal_places=3, min_value=Decimal("0.001"))
    concentration_mg_per_ml = serializers.DecimalField(
        max_digits=8, decimal_places=3, min_value=Decimal("0.001"), required=False, allow_null=True
    )
    override_reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
    appointment = serializers.IntegerField(required=False, allow_null=True)


class DosePreviewQuerySerializer(serializers.Serializer):
    course = serializers.IntegerField()
    dose = serializers.DecimalField(max_digits=8, decimal_places=3, min_value=Decimal("0.001"))
    concentration_mg_per_ml = serializers.DecimalField(
        max_digits=8, decimal_places=3, min_value=Decimal("0.001"), required=False
    )


class ApproveSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class CourseViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    permission_classes = (RolePermission,)
    roles: ClassVar[dict[str, Any]] = {"list": CLINICAL, "retrieve": CLINICAL, "create": PRESCRIBER}
    serializer_class = CourseSerializer

    def get_queryset(self) -> QuerySet[TreatmentCourse]:
        patient = self.request.query_params.get("patient")
        return course_list(user=actor(self.request), patient_id=int(patient) if patient and patient.isdigit() else None)

    def get_object(self) -> TreatmentCourse:
        return course_get(user=actor(self.request), course_id=self.kwargs["pk"])

    @extend_schema(parameters=[OpenApiParameter("patient", int)])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(request=CourseCreateSerializer, responses={201: CourseSerializer})
    def create(self, request: Request) -> Response:
        data = validated(CourseCreateSerializer, request.data)
        course = services.course_create(actor=actor(request), **data)
        return Response(CourseSerializer(course).data, status=status.HTTP_201_CREATED)


def _figures(plan: services.DosePlan) -> dict[str, Any]:
    result = plan.result
    return {
        "weight_kg": result.weight_kg,
        "dose": result.dose,
        "dose_unit": result.unit,
        "concentration_mg_per_ml": result.concentration_mg_per_ml,
        "total_dose_mg": result.total_dose_mg,
        "rate_mg_per_h": result.rate_mg_per_h,
        "volume_ml": result.volume_ml,
        "rate_ml_per_h": result.rate_ml_per_h,
        "devices": result.devices,
        "requires_approval": bool(plan.approval_reasons),
        "approval_reasons": plan.approval_reasons,
    }


class SessionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Sessions with their computed dose. Frontdesk never sees doses."""

    permission_classes = (RolePermission,)
    roles: ClassVar[dict[str, Any]] = {
        "list": CLINICAL,
        "retrieve": CLINICAL,
        "create": CLINICAL,
        "dose_preview": CLINICAL,
        "approve": PRESCRIBER,
    }
    serializer_class = SessionSerializer

    def get_queryset(self) -> QuerySet[InfusionSession]:
        course = self.request.query_params.get("course")
        return session_list(user=actor(self.request), course_id=int(course) if course and course.isdigit() else None)

    def get_object(self) -> InfusionSession:
        return session_get(user=actor(self.request), session_id=self.kwargs["pk"])

    @extend_schema(parameters=[OpenApiParameter("course", int)])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(request=SessionCreateSerializer, responses={201: SessionSerializer})
    def create(self, request: Request) -> Response:
        data = validated(SessionCreateSerializer, request.data)
        values = data
        course = self._course(values["course"])
        session = services.session_create(
            actor=actor(request),
            course=course,
            dose=values["dose"],
            concentration_mg_per_ml=values.get("concentration_mg_per_ml"),
            override_reason=values["override_reason"],
            appointment=self._appointment(values.get("appointment")),
        )
        return Response(SessionSerializer(session).data, status=status.HTTP_201_CREATED)

    @extend_schema(parameters=[DosePreviewQuerySerializer], responses={200: DoseFiguresSerializer})
    @action(detail=False, methods=["get"], url_path="dose-preview")
    def dose_preview(self, request: Request) -> Response:
        data = validated(DosePreviewQuerySerializer, request.query_params)
        values = data
        plan = services.dose_plan(
            course=self._course(values["course"]),
            dose=values["dose"],
            concentration_mg_per_ml=values.get("concentration_mg_per_ml"),
        )
        return Response(DoseFiguresSerializer(_figures(plan)).data)

    @extend_schema(request=ApproveSerializer, responses={200: SessionSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str) -> Response:
        session = self.get_object()
        data = validated(ApproveSerializer, request.data)
        session = services.session_approve(actor=actor(request), session=session, reason=data["reason"])
        return Response(SessionSerializer(session).data)

    def _appointment(self, appointment_id: int | None) -> Appointment | None:
        if appointment_id is None:
            return None
        try:
            return appointment_get(user=actor(self.request), appointment_id=appointment_id)
        except Http404 as error:
            raise serializers.ValidationError({"appointment": ["No such appointment."]}) from error

    def _course(self, course_id: int) -> TreatmentCourse:
        try:
            return course_get(user=actor(self.request), course_id=course_id)
        except Http404 as error:
            raise serializers.ValidationError({"course": ["No such course."]}) from error
