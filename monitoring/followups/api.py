"""Follow-ups API: each staff member's inbox, and complete / snooze / reassign."""

from datetime import timedelta
from typing import Any, ClassVar

from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from clinic.core.api import actor, validated
from clinic.core.permissions import RolePermission
from clinic.core.roles import STAFF
from clinic.core.schema import JsonObjectField
from clinic.models import User
from monitoring.followups import selectors, services
from monitoring.followups.dispatch import followup_title
from monitoring.followups.models import (
    AssigneeRole,
    FollowUp,
    FollowUpDelivery,
    FollowUpEvent,
    FollowUpKind,
    FollowUpStatus,
)

STATUS_FILTERS = [selectors.OPEN, *FollowUpStatus.values]


class FollowUpEventSerializer(serializers.ModelSerializer):
    data = JsonObjectField(read_only=True)  # type: ignore[assignment]  # the event's data field

    class Meta:
        model = FollowUpEvent
        fields = ("id", "action", "actor", "reason", "data", "created_at")


class FollowUpSerializer(serializers.ModelSerializer):
    patient_name = serializers.SerializerMethodField()
    overdue = serializers.SerializerMethodField()

    class Meta:
        model = FollowUp
        fields = (
            "id",
            "patient",
            "patient_name",
            "kind",
            "due_at",
            "status",
            "overdue",
            "site",
            "subject_type",
            "subject_id",
            "assignee_role",
            "assignee",
            "note",
            "round",
            "notified_at",
            "escalate_at",
            "escalated_at",
            "completed_at",
            "completed_by",
            "outcome",
            "cancelled_at",
            "cancel_reason",
            "created_at",
        )

    def get_patient_name(self, obj: FollowUp) -> str | None:
        if obj.patient is None:
            return None
        return f"{obj.patient.given_name} {obj.patient.family_name}"

    def get_overdue(self, obj: FollowUp) -> bool:
        return obj.escalated_at is not None or (
            obj.status in (FollowUpStatus.PENDING, FollowUpStatus.QUEUED, FollowUpStatus.NOTIFIED)
            and obj.escalate_at is not None
            and obj.escalate_at <= timezone.now()
        )


class FollowUpDetailSerializer(FollowUpSerializer):
    events = FollowUpEventSerializer(many=True, read_only=True)

    class Meta(FollowUpSerializer.Meta):
        fields = (*FollowUpSerializer.Meta.fields, "events")  # type: ignore[assignment]


class FollowUpCompleteSerializer(serializers.Serializer):
    outcome = serializers.CharField(max_length=4000)


class FollowUpSnoozeSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)
    until = serializers.DateTimeField(required=False)
    minutes = serializers.IntegerField(required=False, min_value=1, max_value=60 * 24 * 90)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("until" in attrs) == ("minutes" in attrs):
            raise serializers.ValidationError({"until": "Give either `until` or `minutes`."})
        if "minutes" in attrs:
            attrs["until"] = timezone.now() + timedelta(minutes=attrs.pop("minutes"))
        return attrs


class FollowUpReassignSerializer(serializers.Serializer):
    assignee_role = serializers.ChoiceField(choices=AssigneeRole.choices, required=False)
    assignee = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(role__in=AssigneeRole.values, is_active=True), required=False, allow_null=True
    )
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("assignee_role") and not attrs.get("assignee"):
            raise serializers.ValidationError({"assignee_role": "Give a role or a staff member."})
        return attrs


class FollowUpViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """`GET /followups/?status=` is the signed-in staff member's inbox (their role's and their
    own); `complete` records who and the outcome; `snooze` needs a reason; `reassign` hands it
    to another role or person. Patients have no follow-ups here (404)."""

    permission_classes = (RolePermission,)
    roles: ClassVar[dict[str, Any]] = {"*": STAFF}
    serializer_class = FollowUpSerializer

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        return FollowUpDetailSerializer if self.action == "retrieve" else FollowUpSerializer

    def get_queryset(self) -> QuerySet[FollowUp]:
        params = self.request.query_params
        status_ = params.get("status")
        kind = params.get("kind")
        patient = params.get("patient")
        due = params.get("due")
        return selectors.followup_list(
            user=actor(self.request),
            status=status_ if status_ in STATUS_FILTERS else None,
            kind=kind if kind in FollowUpKind.values else None,
            patient_id=int(patient) if patient and patient.isdigit() else None,
            due_before=timezone.now() if due in ("1", "true") else None,
        )

    def get_object(self) -> FollowUp:
        return selectors.followup_get(user=actor(self.request), followup_id=self.kwargs["pk"])

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, enum=STATUS_FILTERS, description="`open`: pending, queued or notified"),
            OpenApiParameter("kind", str, enum=FollowUpKind.values),
            OpenApiParameter("patient", int),
            OpenApiParameter("due", bool, description="Only those already due."),
        ]
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(responses={200: FollowUpDetailSerializer})
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().retrieve(request, *args, **kwargs)

    def _answer(self, followup: FollowUp) -> Response:
        return Response(FollowUpSerializer(followup).data)

    @extend_schema(request=FollowUpCompleteSerializer, responses={200: FollowUpSerializer})
    @action(detail=True, methods=["post"])
    def complete(self, request: Request, pk: str) -> Response:
        followup = self.get_object()
        data = validated(FollowUpCompleteSerializer, request.data)
        followup = services.followup_complete(actor=actor(request), followup=followup, outcome=data["outcome"])
        return self._answer(followup)

    @extend_schema(request=FollowUpSnoozeSerializer, responses={200: FollowUpSerializer})
    @action(detail=True, methods=["post"])
    def snooze(self, request: Request, pk: str) -> Response:
        followup = self.get_object()
        data = validated(FollowUpSnoozeSerializer, request.data)
        followup = services.followup_snooze(
            actor=actor(request),
            followup=followup,
            until=data["until"],
            reason=data["reason"],
        )
        return self._answer(followup)

    @extend_schema(request=FollowUpReassignSerializer, responses={200: FollowUpSerializer})
    @action(detail=True, methods=["post"])
    def reassign(self, request: Request, pk: str) -> Response:
        followup = self.get_object()
        data = validated(FollowUpReassignSerializer, request.data)
        followup = services.followup_reassign(
            actor=actor(request),
            followup=followup,
            assignee_role=data.get("assignee_role"),
            assignee=data.get("assignee"),
            reason=data.get("reason", ""),
        )
        return self._answer(followup)


class InboxEntrySerializer(serializers.ModelSerializer):
    kind = serializers.CharField(source="followup.kind", read_only=True)
    due_at = serializers.DateTimeField(source="followup.due_at", read_only=True)
    title = serializers.SerializerMethodField()

    class Meta:
        model = FollowUpDelivery
        fields = ("id", "followup", "kind", "due_at", "round", "title", "sent_at", "read_at")

    def get_title(self, obj: FollowUpDelivery) -> str:
        return followup_title(obj.followup, round_=obj.round)


class InboxViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The signed-in staff member's in-app notifications (one per follow-up and round they
    were told of), newest first; `read` marks one read."""

    permission_classes = (RolePermission,)
    roles: ClassVar[dict[str, Any]] = {"*": STAFF}
    serializer_class = InboxEntrySerializer

    def get_queryset(self) -> QuerySet[FollowUpDelivery]:
        unread = self.request.query_params.get("unread") in ("1", "true")
        return selectors.inbox_list(user=actor(self.request), unread=unread)

    @extend_schema(parameters=[OpenApiParameter("unread", bool)])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(request=None, responses={200: InboxEntrySerializer})
    @action(detail=True, methods=["post"])
    def read(self, request: Request, pk: str) -> Response:
        entry = services.inbox_entry_read(user=actor(request), entry_id=pk)
        return Response(InboxEntrySerializer(entry).data)
