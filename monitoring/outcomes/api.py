"""Outcomes and maintenance recommendations (CLINICAL.md §5-6).

`CourseViewSet` lives in infusions, which may not import monitoring, so these are plain views
registered in config/api_router.py under `courses/<pk>/...` before the router's own URLs.
"""

from typing import Any, ClassVar

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from clinic.core.api import actor, validated
from clinic.core.exports import CsvRenderer, ExportApi, JsonRecordsRenderer, export_format_parameter, export_responses
from clinic.core.permissions import RolePermission
from clinic.core.roles import CLINICAL, PRESCRIBER, REPORTS
from clinic.core.schema import JsonObjectField
from monitoring.outcomes import selectors as outcome_selectors
from monitoring.outcomes import services as maintenance_services
from monitoring.outcomes.models import MaintenanceDecision, MaintenanceRecommendation
from monitoring.outcomes.recommender import DecisionKind

# ---- serializers --------------------------------------------------------------------------------


class DecisionSerializer(serializers.ModelSerializer):
    class Meta:
        model = MaintenanceDecision
        fields = (
            "id",
            "decision",
            "action",
            "interval_days",
            "next_due",
            "previous_interval_days",
            "phase_before",
            "phase_after",
            "reason",
            "decided_by",
            "decided_at",
            "appointment",
            "followup",
        )


class RecommendationSerializer(serializers.ModelSerializer):
    decision = serializers.SerializerMethodField()
    details = JsonObjectField(read_only=True)

    class Meta:
        model = MaintenanceRecommendation
        fields = (
            "id",
            "course",
            "interval_days",
            "next_due",
            "rationale",
            "status",
            "rule",
            "rule_number",
            "action",
            "needs_clinician",
            "automatic_change",
            "details",
            "computed_at",
            "decision",
        )

    @extend_schema_field(DecisionSerializer(allow_null=True))
    def get_decision(self, obj: MaintenanceRecommendation) -> dict[str, Any] | None:
        decision = getattr(obj, "decision", None) if hasattr(obj, "decision") else None
        return dict(DecisionSerializer(decision).data) if decision is not None else None


class AcceptSerializer(serializers.Serializer):
    recommendation = serializers.IntegerField(
        required=False, help_text="The recommendation shown; 409 `recommendation_stale` if it has changed since."
    )
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
    override_reason = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=2000,
        help_text="A clinician's reason to book despite a relative contraindication.",
    )


class ModifySerializer(AcceptSerializer):
    interval_days = serializers.IntegerField(min_value=1, max_value=365)
    next_due = serializers.DateField(required=False, help_text="Default: the last session + interval_days.")
    reason = serializers.CharField(max_length=2000)


class RejectSerializer(serializers.Serializer):
    recommendation = serializers.IntegerField(required=False)
    reason = serializers.CharField(max_length=2000)


class ScoreRefSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    total = serializers.IntegerField()


class CourseOutcomeSerializer(serializers.Serializer):
    course = serializers.IntegerField()
    indication = serializers.CharField()
    instrument = serializers.CharField(allow_null=True)
    sessions_given = serializers.IntegerField()
    first_session_at = serializers.DateTimeField(allow_null=True)
    baseline = ScoreRefSerializer(allow_null=True)
    current = ScoreRefSerializer(allow_null=True)
    change_percent = serializers.FloatField(allow_null=True)
    response_threshold_percent = serializers.IntegerField(allow_null=True)
    response = serializers.BooleanField(allow_null=True)
    remission = serializers.BooleanField(allow_null=True)
    ever_responded = serializers.BooleanField()
    ever_remitted = serializers.BooleanField()
    first_response_at = serializers.DateTimeField(allow_null=True)
    sessions_to_first_response = serializers.IntegerField(allow_null=True)


class OutcomeRowSerializer(serializers.Serializer):
    protocol = serializers.CharField()
    indication = serializers.CharField()
    courses = serializers.IntegerField()
    evaluable = serializers.IntegerField()
    responders = serializers.IntegerField()
    response_rate = serializers.FloatField(allow_null=True)
    remitters = serializers.IntegerField()
    remission_rate = serializers.FloatField(allow_null=True)
    median_sessions_to_response = serializers.FloatField(allow_null=True)
    stopped_after_first_session = serializers.IntegerField()
    stopped_after_first_session_share = serializers.FloatField(allow_null=True)


# ---- views --------------------------------------------------------------------------------------


def _recommendation_data(row: MaintenanceRecommendation) -> dict[str, Any]:
    return dict(RecommendationSerializer(row).data)


class MaintenanceRecommendationApi(APIView):
    """`GET` the course's current maintenance recommendation (CLINICAL.md §6): the interval,
    the next due date, the rule that fired and a rationale with scores, intervals and the
    estimated durability. Stored when it changes."""

    permission_classes = (RolePermission,)
    roles: ClassVar[dict[str, Any]] = {"get": CLINICAL}

    @extend_schema(responses={200: RecommendationSerializer})
    def get(self, request: Request, pk: str) -> Response:
        course = outcome_selectors.course_for_outcomes(user=actor(request), course_id=pk)
        row = maintenance_services.recommendation_refresh(course=course)
        return Response(_recommendation_data(row))


class MaintenanceRecommendationHistoryApi(APIView):
    """`GET` every recommendation stored for the course, newest first, with the decisions."""

    permission_classes = (RolePermission,)
    roles: ClassVar[dict[str, Any]] = {"get": CLINICAL}

    @extend_schema(responses={200: RecommendationSerializer(many=True)})
    def get(self, request: Request, pk: str) -> Response:
        course = outcome_selectors.course_for_outcomes(user=actor(request), course_id=pk)
        rows = outcome_selectors.recommendation_list(course=course)
        return Response(RecommendationSerializer(rows, many=True).data)


class _DecideApi(APIView):
    permission_classes = (RolePermission,)
    roles: ClassVar[dict[str, Any]] = {"post": PRESCRIBER}
    decision: ClassVar[str]
    input_serializer: ClassVar[type[serializers.Serializer]]

    def _decide(self, request: Request, pk: str) -> Response:
        course = outcome_selectors.course_for_outcomes(user=actor(request), course_id=pk)
        data = validated(self.input_serializer, request.data)
        values = data
        record = maintenance_services.recommendation_decide(
            actor=actor(request),
            course=course,
            decision=self.decision,
            reason=values.get("reason", ""),
            interval_days=values.get("interval_days"),
            next_due=values.get("next_due"),
            recommendation_id=values.get("recommendation"),
            override_reason=values.get("override_reason", ""),
        )
        row = outcome_selectors.recommendation_get(recommendation_id=record.recommendation_id)
        return Response(_recommendation_data(row))


class MaintenanceAcceptApi(_DecideApi):
    """`POST` accept: a booster is booked at the earliest slot of the due date (or the nearest
    day before it), or a booster-due follow-up is created when there is none; a pause pauses
    the course. One transaction."""

    decision = DecisionKind.ACCEPTED
    input_serializer = AcceptSerializer

    @extend_schema(request=AcceptSerializer, responses={200: RecommendationSerializer})
    def post(self, request: Request, pk: str) -> Response:
        return self._decide(request, pk)


class MaintenanceModifyApi(_DecideApi):
    """`POST` modify: the clinician's own interval (and due date), with a reason; books as accept."""

    decision = DecisionKind.MODIFIED
    input_serializer = ModifySerializer

    @extend_schema(request=ModifySerializer, responses={200: RecommendationSerializer})
    def post(self, request: Request, pk: str) -> Response:
        return self._decide(request, pk)


class MaintenanceRejectApi(_DecideApi):
    """`POST` reject, with a reason; nothing is booked."""

    decision = DecisionKind.REJECTED
    input_serializer = RejectSerializer

    @extend_schema(request=RejectSerializer, responses={200: RecommendationSerializer})
    def post(self, request: Request, pk: str) -> Response:
        return self._decide(request, pk)


class CourseOutcomeApi(APIView):
    """`GET` the course's baseline, current response and remission, and sessions until the
    first response (CLINICAL.md §5)."""

    permission_classes = (RolePermission,)
    roles: ClassVar[dict[str, Any]] = {"get": CLINICAL}

    @extend_schema(responses={200: CourseOutcomeSerializer})
    def get(self, request: Request, pk: str) -> Response:
        course = outcome_selectors.course_for_outcomes(user=actor(request), course_id=pk)
        outcome = outcome_selectors.course_history(course=course).outcome()

        def ref(point: Any) -> dict[str, Any] | None:
            return {"at": point.at, "total": point.total} if point is not None else None

        body = {
            "course": course.pk,
            "indication": course.indication,
            "instrument": outcome.instrument,
            "sessions_given": outcome.sessions_given,
            "first_session_at": outcome.first_session_at,
            "baseline": ref(outcome.baseline),
            "current": ref(outcome.current),
            "change_percent": outcome.change_percent,
            "response_threshold_percent": outcome.response_threshold_percent,
            "response": outcome.response,
            "remission": outcome.remission,
            "ever_responded": outcome.ever_responded,
            "ever_remitted": outcome.ever_remitted,
            "first_response_at": outcome.first_response_at,
            "sessions_to_first_response": outcome.sessions_to_first_response,
        }
        return Response(CourseOutcomeSerializer(body).data)


class OutcomesReportApi(ExportApi):
    """`GET` outcomes per protocol and indication: courses, response rate, remission rate,
    median sessions to response, share who stopped after the first session. JSON (the default)
    or CSV, by `Accept` or `format=` (clinic.core.exports); `reports/outcomes.csv` is the CSV."""

    permission_classes = (RolePermission,)
    roles: ClassVar[dict[str, Any]] = {"get": REPORTS}
    renderer_classes: tuple[type[BaseRenderer], ...] = (JsonRecordsRenderer, CsvRenderer)
    csv_columns = outcome_selectors.REPORT_COLUMNS
    export_name = "outcomes"

    @extend_schema(
        parameters=[
            OpenApiParameter("site", int, description="Only patients of this site."),
            OpenApiParameter(
                "lapsed_after_days",
                int,
                description="A single-session course with nothing after it for this many days counts as "
                "stopped (default 28).",
            ),
            export_format_parameter("json"),
        ],
        responses=export_responses(OutcomeRowSerializer(many=True), "One row per protocol and indication"),
    )
    def get(self, request: Request, **kwargs: Any) -> Response:
        params = request.query_params
        site = params.get("site")
        lapsed = params.get("lapsed_after_days")
        errors: dict[str, list[str]] = {}
        if site is not None and not site.isdigit():
            errors["site"] = ["A site id."]
        if lapsed is not None and not (lapsed.isdigit() and 1 <= int(lapsed) <= 3650):
            errors["lapsed_after_days"] = ["A whole number of days from 1 to 3650."]
        if errors:
            raise serializers.ValidationError(errors)
        rows = outcome_selectors.outcomes_report(
            user=actor(request),
            site_id=int(site) if site else None,
            lapsed_after_days=int(lapsed) if lapsed else 28,
        )
        return self.export(OutcomeRowSerializer(rows, many=True).data)


class OutcomesReportCsvApi(OutcomesReportApi):
    """`GET reports/outcomes.csv`: the outcomes report as CSV."""

    renderer_classes = (CsvRenderer,)

    @extend_schema(
        parameters=[OpenApiParameter("site", int), OpenApiParameter("lapsed_after_days", int)],
        responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="The outcomes report rows.")},
    )
    def get(self, request: Request, **kwargs: Any) -> Response:
        return super().get(request, **kwargs)
