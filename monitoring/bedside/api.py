"""Running a session at the chair: the steps, what is recorded during it, the REMS form, the
board and the session's whole record. Thin views: input serializer -> service or selector ->
output serializer. Registered in config/api_router.py before the router's own paths."""

from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

from django.http import HttpResponse
from django.template.loader import render_to_string
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from clinic.core.api import actor, validated
from clinic.core.exceptions import ApplicationError
from clinic.core.permissions import RolePermission
from clinic.core.roles import CLINICAL
from clinic.core.schema import JsonObjectField
from clinic.selectors import site_get, staff_site
from infusions.sessions.api import SessionSerializer
from infusions.sessions.models import InfusionSession
from infusions.sessions.selectors import session_get
from monitoring.alerts.api import AlertEscalationSerializer, AlertSerializer
from monitoring.bedside import services as bedside
from monitoring.bedside.models import (
    ConsentMethod,
    Intervention,
    InterventionRoute,
    RemsMonitoringForm,
    SessionAmendment,
    SessionConsent,
    SessionEscort,
    SessionEvent,
    SideEffect,
    SideEffectKind,
    SideEffectSeverity,
)
from monitoring.bedside.rems import ANSWER_FIELDS
from monitoring.bedside.selectors import (
    NextDue,
    board_list,
    rems_export_get,
    session_detail_get,
    session_events_list,
    session_records_list,
)
from monitoring.vitals.api import VitalSerializer
from monitoring.vitals.schedule import observation_ends_at

# ---- serializers -------------------------------------------------------------------------------


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class CompleteSerializer(serializers.Serializer):
    actual_dose_mg = serializers.DecimalField(max_digits=9, decimal_places=1, min_value=Decimal("0"))
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class StopSerializer(serializers.Serializer):
    actual_dose_mg = serializers.DecimalField(max_digits=9, decimal_places=1, min_value=Decimal("0"))
    reason = serializers.CharField(max_length=2000)


class DischargeSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class UnmetSerializer(serializers.Serializer):
    rule = serializers.CharField()
    detail = serializers.CharField()


class ReadinessSerializer(serializers.Serializer):
    ready = serializers.BooleanField()
    unmet = UnmetSerializer(many=True)


class SessionEventSerializer(serializers.ModelSerializer):
    actor_name = serializers.SerializerMethodField()
    data = JsonObjectField(read_only=True)  # type: ignore[assignment]  # the event's data field

    class Meta:
        model = SessionEvent
        fields = ("id", "action", "from_status", "to_status", "actor", "actor_name", "at", "reason", "data")

    def get_actor_name(self, obj: SessionEvent) -> str:
        return obj.actor.get_full_name() or obj.actor.get_username()


class ConsentSerializer(serializers.ModelSerializer):
    class Meta:
        model = SessionConsent
        fields = ("id", "session", "given", "method", "obtained_at", "document_reference", "note", "recorded_by")


class ConsentInputSerializer(serializers.Serializer):
    given = serializers.BooleanField(required=False, default=True)
    method = serializers.ChoiceField(choices=ConsentMethod.choices, required=False, default=ConsentMethod.WRITTEN)
    obtained_at = serializers.DateTimeField(required=False)
    document_reference = serializers.CharField(required=False, allow_blank=True, default="", max_length=120)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class EscortSerializer(serializers.ModelSerializer):
    class Meta:
        model = SessionEscort
        fields = ("id", "session", "name", "relationship", "phone", "recorded_by", "created_at")


class EscortInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    phone = serializers.CharField(max_length=32)
    relationship = serializers.CharField(required=False, allow_blank=True, default="", max_length=60)


class SideEffectSerializer(serializers.ModelSerializer):
    class Meta:
        model = SideEffect
        fields = ("id", "session", "kind", "severity", "onset_at", "note", "recorded_by", "created_at")


class SideEffectInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=SideEffectKind.choices)
    severity = serializers.ChoiceField(choices=SideEffectSeverity.choices)
    onset_at = serializers.DateTimeField(required=False)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class InterventionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Intervention
        fields = (
            "id",
            "session",
            "drug",
            "dose",
            "dose_unit",
            "route",
            "given_at",
            "reason",
            "recorded_by",
            "created_at",
        )


class InterventionInputSerializer(serializers.Serializer):
    drug = serializers.CharField(max_length=120)
    dose = serializers.DecimalField(max_digits=9, decimal_places=3, min_value=Decimal("0.001"))
    dose_unit = serializers.CharField(max_length=16)
    route = serializers.ChoiceField(choices=InterventionRoute.choices)
    given_at = serializers.DateTimeField(required=False)
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class AmendmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = SessionAmendment
        fields = ("id", "session", "text", "recorded_by", "created_at")


class AmendmentInputSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=5000)


class RemsAnswersSerializer(serializers.ModelSerializer):
    class Meta:
        model = RemsMonitoringForm
        fields = ANSWER_FIELDS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = False


class RemsStateSerializer(serializers.Serializer):
    saved = serializers.BooleanField()
    answers = RemsAnswersSerializer()
    complete = serializers.BooleanField()
    missing = serializers.ListField(child=serializers.CharField())
    suggestions = serializers.DictField(child=serializers.BooleanField())
    updated_at = serializers.DateTimeField(allow_null=True)
    updated_by = serializers.IntegerField(allow_null=True)
    submitted_at = serializers.DateTimeField(allow_null=True)
    submitted_by = serializers.IntegerField(allow_null=True)


class NextDueSerializer(serializers.Serializer):
    kind = serializers.CharField()
    at = serializers.DateTimeField(allow_null=True)
    overdue = serializers.BooleanField()


class PatientBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    mrn = serializers.CharField()
    given_name = serializers.CharField()
    family_name = serializers.CharField()
    birth_date = serializers.DateField()
    sex = serializers.CharField()


class ProtocolBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    drug = serializers.CharField()
    route = serializers.CharField()
    duration_minutes = serializers.IntegerField(allow_null=True)
    observation_minutes = serializers.IntegerField()


class ChairBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class LatestVitalsSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    recorded_at = serializers.DateTimeField()
    phase = serializers.CharField()
    systolic = serializers.IntegerField()
    diastolic = serializers.IntegerField()
    heart_rate = serializers.IntegerField()
    spo2 = serializers.IntegerField()
    respiratory_rate = serializers.IntegerField()
    temperature_c = serializers.DecimalField(max_digits=3, decimal_places=1, allow_null=True)
    consciousness = serializers.CharField()
    on_oxygen = serializers.BooleanField()
    moaas = serializers.IntegerField(allow_null=True)
    news2_score = serializers.IntegerField()
    news2_risk = serializers.CharField()


class BoardEntrySerializer(serializers.Serializer):
    session = serializers.IntegerField()
    status = serializers.CharField()
    patient = PatientBriefSerializer()
    protocol = ProtocolBriefSerializer()
    chair = ChairBriefSerializer(allow_null=True)
    dose = serializers.DecimalField(max_digits=8, decimal_places=3)
    dose_unit = serializers.CharField()
    total_dose_mg = serializers.DecimalField(max_digits=9, decimal_places=1)
    started_at = serializers.DateTimeField(allow_null=True)
    dosing_ended_at = serializers.DateTimeField(allow_null=True)
    observation_ends_at = serializers.DateTimeField(allow_null=True)
    latest_vitals = LatestVitalsSerializer(allow_null=True)
    next_vitals_due = NextDueSerializer(allow_null=True)
    alerts = AlertSerializer(many=True)
    allowed_actions = serializers.ListField(child=serializers.CharField())


class ScreeningBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    outcome = serializers.CharField()
    reasons = serializers.ListField(child=serializers.CharField())
    medication_flags = serializers.ListField(child=serializers.DictField())
    screened_at = serializers.DateTimeField()
    valid_until = serializers.DateTimeField()


class SessionDetailSerializer(serializers.Serializer):
    session = SessionSerializer()
    patient = PatientBriefSerializer()
    protocol = ProtocolBriefSerializer()
    chair = ChairBriefSerializer(allow_null=True)
    allowed_actions = serializers.ListField(child=serializers.CharField())
    observation_ends_at = serializers.DateTimeField(allow_null=True)
    next_vitals_due = NextDueSerializer(allow_null=True)
    vitals = VitalSerializer(many=True)
    alerts = AlertSerializer(many=True)
    escalations = AlertEscalationSerializer(many=True)
    events = SessionEventSerializer(many=True)
    consents = ConsentSerializer(many=True)
    escorts = EscortSerializer(many=True)
    side_effects = SideEffectSerializer(many=True)
    interventions = InterventionSerializer(many=True)
    amendments = AmendmentSerializer(many=True)
    screening = ScreeningBriefSerializer(allow_null=True)
    discharge = ReadinessSerializer(allow_null=True)
    rems = RemsStateSerializer(allow_null=True)


def _readiness(readiness: bedside.Readiness | None) -> dict[str, Any] | None:
    if readiness is None:
        return None
    return {"ready": readiness.ready, "unmet": [u.as_dict() for u in readiness.unmet]}


def _iso(value: datetime | None) -> str | None:
    return serializers.DateTimeField().to_representation(value) if value is not None else None


def _next_due(due: NextDue | None) -> dict[str, Any] | None:
    return None if due is None else {"kind": due.kind, "at": _iso(due.at), "overdue": due.overdue}


def _rems_state(
    form: RemsMonitoringForm | None, missing: list[str] | None, suggestions: dict[str, bool] | None
) -> dict[str, Any]:
    answers = RemsAnswersSerializer(form).data if form is not None else dict.fromkeys(ANSWER_FIELDS)
    return {
        "saved": form is not None,
        "answers": answers,
        "complete": not missing,
        "missing": missing or [],
        "suggestions": suggestions or {},
        "updated_at": _iso(form.updated_at) if form else None,
        "updated_by": form.updated_by_id if form else None,
        "submitted_at": _iso(form.submitted_at) if form else None,
        "submitted_by": form.submitted_by_id if form else None,
    }


# ---- views -------------------------------------------------------------------------------------


class _SessionApi(APIView):
    permission_classes = (RolePermission,)
    roles: ClassVar[dict[str, Any]] = {"get": CLINICAL, "post": CLINICAL}

    def _session(self, request: Request, pk: int) -> InfusionSession:
        return session_get(user=actor(request), session_id=pk)


class _SessionStepApi(_SessionApi):
    roles: ClassVar[dict[str, Any]] = {"post": CLINICAL}
    input_serializer: ClassVar[type[serializers.Serializer] | None] = None

    def perform(self, request: Request, session: InfusionSession, data: dict[str, Any]) -> InfusionSession:
        raise NotImplementedError

    def _run(self, request: Request, pk: int) -> Response:
        session = self._session(request, pk)
        data: dict[str, Any] = {}
        if self.input_serializer is not None:
            incoming = validated(self.input_serializer, request.data)
            data = dict(incoming)
        session = self.perform(request, session, data)
        return Response(SessionSerializer(session).data)


STEP_DOC = (
    "Answers the session; a move the state machine does not allow answers 409 `invalid_transition` "
    "with `allowed_actions`."
)


class SessionPrecheckApi(_SessionStepApi):
    """Pre-check: screening, fresh weight, consent, escort, approved dose, baseline vitals.
    What is missing answers 409 `precheck_unmet` with the `unmet` list."""

    @extend_schema(request=None, responses={200: SessionSerializer}, description=STEP_DOC)
    def post(self, request: Request, pk: int) -> Response:
        return self._run(request, pk)

    def perform(self, request: Request, session: InfusionSession, data: dict[str, Any]) -> InfusionSession:
        return bedside.session_precheck(actor=actor(request), session=session)


class SessionStartApi(_SessionStepApi):
    """Start dosing (a pre-dose BP alert needs a prescriber's acknowledgement first)."""

    @extend_schema(request=None, responses={200: SessionSerializer}, description=STEP_DOC)
    def post(self, request: Request, pk: int) -> Response:
        return self._run(request, pk)

    def perform(self, request: Request, session: InfusionSession, data: dict[str, Any]) -> InfusionSession:
        return bedside.session_start(actor=actor(request), session=session)


class SessionPauseApi(_SessionStepApi):
    input_serializer = ReasonSerializer

    @extend_schema(request=ReasonSerializer, responses={200: SessionSerializer}, description=STEP_DOC)
    def post(self, request: Request, pk: int) -> Response:
        return self._run(request, pk)

    def perform(self, request: Request, session: InfusionSession, data: dict[str, Any]) -> InfusionSession:
        return bedside.session_pause(actor=actor(request), session=session, reason=data["reason"])


class SessionResumeApi(_SessionStepApi):
    input_serializer = ReasonSerializer

    @extend_schema(request=ReasonSerializer, responses={200: SessionSerializer}, description=STEP_DOC)
    def post(self, request: Request, pk: int) -> Response:
        return self._run(request, pk)

    def perform(self, request: Request, session: InfusionSession, data: dict[str, Any]) -> InfusionSession:
        return bedside.session_resume(actor=actor(request), session=session, reason=data["reason"])


class SessionCompleteApi(_SessionStepApi):
    """Dosing done: the dose actually given (mg) is recorded."""

    input_serializer = CompleteSerializer

    @extend_schema(request=CompleteSerializer, responses={200: SessionSerializer}, description=STEP_DOC)
    def post(self, request: Request, pk: int) -> Response:
        return self._run(request, pk)

    def perform(self, request: Request, session: InfusionSession, data: dict[str, Any]) -> InfusionSession:
        return bedside.session_complete(
            actor=actor(request), session=session, actual_dose_mg=data["actual_dose_mg"], note=data["note"]
        )


class SessionStopApi(_SessionStepApi):
    """Stopped early, with a reason and the dose given so far (mg)."""

    input_serializer = StopSerializer

    @extend_schema(request=StopSerializer, responses={200: SessionSerializer}, description=STEP_DOC)
    def post(self, request: Request, pk: int) -> Response:
        return self._run(request, pk)

    def perform(self, request: Request, session: InfusionSession, data: dict[str, Any]) -> InfusionSession:
        return bedside.session_stop(
            actor=actor(request), session=session, actual_dose_mg=data["actual_dose_mg"], reason=data["reason"]
        )


class SessionDischargeApi(_SessionStepApi):
    """Discharge and sign (CLINICAL.md §4). Not ready: 409 `discharge_not_ready` with the
    `unmet` list. After this the session is immutable."""

    input_serializer = DischargeSerializer

    @extend_schema(request=DischargeSerializer, responses={200: SessionSerializer}, description=STEP_DOC)
    def post(self, request: Request, pk: int) -> Response:
        return self._run(request, pk)

    def perform(self, request: Request, session: InfusionSession, data: dict[str, Any]) -> InfusionSession:
        return bedside.session_discharge(actor=actor(request), session=session, note=data["note"])


class _SessionRecordsApi(_SessionApi):
    """`GET` the session's rows of one kind; `POST` a new one (append-only)."""

    roles: ClassVar[dict[str, Any]] = {"get": CLINICAL, "post": CLINICAL}
    output: ClassVar[type[serializers.ModelSerializer]]
    input: ClassVar[type[serializers.Serializer]]

    def rows(self, session: InfusionSession) -> Any:
        return session_records_list(model=self.output.Meta.model, session=session)

    def create(self, request: Request, session: InfusionSession, data: dict[str, Any]) -> Any:
        raise NotImplementedError

    def _list(self, request: Request, pk: int) -> Response:
        session = self._session(request, pk)
        return Response(self.output(self.rows(session), many=True).data)

    def _create(self, request: Request, pk: int) -> Response:
        session = self._session(request, pk)
        incoming = validated(self.input, request.data)
        row = self.create(request, session, dict(incoming))
        return Response(self.output(row).data, status=status.HTTP_201_CREATED)


class SessionConsentApi(_SessionRecordsApi):
    """The patient's consent for this session (the latest row counts)."""

    output = ConsentSerializer
    input = ConsentInputSerializer

    @extend_schema(responses={200: ConsentSerializer(many=True)})
    def get(self, request: Request, pk: int) -> Response:
        return self._list(request, pk)

    @extend_schema(request=ConsentInputSerializer, responses={201: ConsentSerializer})
    def post(self, request: Request, pk: int) -> Response:
        return self._create(request, pk)

    def create(self, request: Request, session: InfusionSession, data: dict[str, Any]) -> Any:
        return bedside.consent_record(actor=actor(request), session=session, **data)


class SessionEscortApi(_SessionRecordsApi):
    """Who takes the patient home (the latest row counts)."""

    output = EscortSerializer
    input = EscortInputSerializer

    @extend_schema(responses={200: EscortSerializer(many=True)})
    def get(self, request: Request, pk: int) -> Response:
        return self._list(request, pk)

    @extend_schema(request=EscortInputSerializer, responses={201: EscortSerializer})
    def post(self, request: Request, pk: int) -> Response:
        return self._create(request, pk)

    def create(self, request: Request, session: InfusionSession, data: dict[str, Any]) -> Any:
        return bedside.escort_record(actor=actor(request), session=session, **data)


class SessionSideEffectsApi(_SessionRecordsApi):
    """Side effects noticed during the session (nausea, dissociation, anxiety, headache, ...)."""

    output = SideEffectSerializer
    input = SideEffectInputSerializer

    @extend_schema(responses={200: SideEffectSerializer(many=True)})
    def get(self, request: Request, pk: int) -> Response:
        return self._list(request, pk)

    @extend_schema(request=SideEffectInputSerializer, responses={201: SideEffectSerializer})
    def post(self, request: Request, pk: int) -> Response:
        return self._create(request, pk)

    def create(self, request: Request, session: InfusionSession, data: dict[str, Any]) -> Any:
        return bedside.side_effect_record(actor=actor(request), session=session, **data)


class SessionInterventionsApi(_SessionRecordsApi):
    """Drugs given during the session: drug, dose, time."""

    output = InterventionSerializer
    input = InterventionInputSerializer

    @extend_schema(responses={200: InterventionSerializer(many=True)})
    def get(self, request: Request, pk: int) -> Response:
        return self._list(request, pk)

    @extend_schema(request=InterventionInputSerializer, responses={201: InterventionSerializer})
    def post(self, request: Request, pk: int) -> Response:
        return self._create(request, pk)

    def create(self, request: Request, session: InfusionSession, data: dict[str, Any]) -> Any:
        return bedside.intervention_record(actor=actor(request), session=session, **data)


class SessionAmendmentsApi(_SessionRecordsApi):
    """Notes added beside the record, also after it is signed."""

    output = AmendmentSerializer
    input = AmendmentInputSerializer

    @extend_schema(responses={200: AmendmentSerializer(many=True)})
    def get(self, request: Request, pk: int) -> Response:
        return self._list(request, pk)

    @extend_schema(request=AmendmentInputSerializer, responses={201: AmendmentSerializer})
    def post(self, request: Request, pk: int) -> Response:
        return self._create(request, pk)

    def create(self, request: Request, session: InfusionSession, data: dict[str, Any]) -> Any:
        return bedside.amendment_record(actor=actor(request), session=session, **data)


class SessionEventsApi(_SessionApi):
    """The session's history: each step with who and when."""

    roles: ClassVar[dict[str, Any]] = {"get": CLINICAL}

    @extend_schema(responses={200: SessionEventSerializer(many=True)})
    def get(self, request: Request, pk: int) -> Response:
        session = self._session(request, pk)
        return Response(SessionEventSerializer(session_events_list(session=session), many=True).data)


def _brief(detail_session: InfusionSession) -> dict[str, Any]:
    patient = detail_session.course.patient
    protocol = detail_session.course.protocol
    appointment = detail_session.appointment if detail_session.appointment_id else None
    chair = appointment.chair if appointment is not None else None
    return {
        "patient": PatientBriefSerializer(patient).data,
        "protocol": ProtocolBriefSerializer(protocol).data,
        "chair": ChairBriefSerializer(chair).data if chair is not None else None,
        "allowed_actions": bedside.allowed_actions(detail_session.status),
    }


class SessionDetailApi(_SessionApi):
    """Everything about one session in one call (a fixed number of queries)."""

    roles: ClassVar[dict[str, Any]] = {"get": CLINICAL}

    @extend_schema(responses={200: SessionDetailSerializer})
    def get(self, request: Request, pk: int) -> Response:
        detail = session_detail_get(user=actor(request), session_id=pk)
        session = detail.session
        ends = (
            observation_ends_at(session.dosing_ended_at, session.course.protocol.observation_minutes)
            if session.dosing_ended_at
            else None
        )
        body = {
            "session": SessionSerializer(session).data,
            **_brief(session),
            "observation_ends_at": _iso(ends),
            "next_vitals_due": _next_due(detail.next_due),
            "vitals": VitalSerializer(detail.vitals, many=True).data,
            "alerts": AlertSerializer(detail.alerts, many=True).data,
            "escalations": AlertEscalationSerializer(detail.escalations, many=True).data,
            "events": SessionEventSerializer(detail.events, many=True).data,
            "consents": ConsentSerializer(detail.consents, many=True).data,
            "escorts": EscortSerializer(detail.escorts, many=True).data,
            "side_effects": SideEffectSerializer(detail.side_effects, many=True).data,
            "interventions": InterventionSerializer(detail.interventions, many=True).data,
            "amendments": AmendmentSerializer(detail.amendments, many=True).data,
            "screening": ScreeningBriefSerializer(detail.screening).data if detail.screening else None,
            "discharge": _readiness(detail.discharge),
            "rems": (
                _rems_state(detail.rems_form, detail.rems_missing, detail.rems_suggestions)
                if detail.rems_missing is not None
                else None
            ),
        }
        return Response(body)  # already serialized, piece by piece (SessionDetailSerializer documents it)


class BoardQuerySerializer(serializers.Serializer):
    site = serializers.IntegerField(required=False)


class BoardApi(APIView):
    """What is happening on the site's chairs now: sessions in a chair (and today's planned
    ones), latest vitals, next set due, unresolved alerts; sessions with alerts first."""

    permission_classes = (RolePermission,)
    roles: ClassVar[dict[str, Any]] = {"get": CLINICAL}

    @extend_schema(
        parameters=[OpenApiParameter("site", int, description="Defaults to the signed-in staff member's site.")],
        responses={200: BoardEntrySerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        query = validated(BoardQuerySerializer, request.query_params)
        user = actor(request)
        site_id = query.get("site")
        site = staff_site(user) if site_id is None else site_get(user=user, site_id=site_id)
        if site is None:
            raise serializers.ValidationError({"site": ["Give the site." if site_id is None else "No such site."]})
        entries = board_list(user=user, site=site)
        body = []
        for entry in entries:
            session = entry.session
            vitals = entry.latest_vitals
            body.append(
                {
                    "session": session.pk,
                    "status": session.status,
                    **_brief(session),
                    "dose": float(session.dose),
                    "dose_unit": session.dose_unit,
                    "total_dose_mg": float(session.total_dose_mg),
                    "started_at": _iso(session.started_at),
                    "dosing_ended_at": _iso(session.dosing_ended_at),
                    "observation_ends_at": _iso(entry.observation_ends_at),
                    "latest_vitals": LatestVitalsSerializer(vitals).data if vitals is not None else None,
                    "next_vitals_due": _next_due(entry.next_due),
                    "alerts": AlertSerializer(entry.alerts, many=True).data,
                }
            )
        return Response(body)  # already serialized, piece by piece (BoardEntrySerializer documents it)


class RemsFormApi(_SessionApi):
    """The esketamine REMS monitoring form: `GET` its state (answers, what is missing,
    suggestions from the screening's medication list); `PATCH` answers (partial). Frozen once
    the session is signed. Other drugs: 404 `rems_not_applicable`."""

    roles: ClassVar[dict[str, Any]] = {"get": CLINICAL, "patch": CLINICAL}

    def _state(self, request: Request, pk: int) -> dict[str, Any]:
        detail = session_detail_get(user=actor(request), session_id=pk)
        if detail.rems_missing is None:
            raise ApplicationError(
                "Only esketamine sessions have a REMS monitoring form.", rule="rems_not_applicable", status=404
            )
        return _rems_state(detail.rems_form, detail.rems_missing, detail.rems_suggestions)

    @extend_schema(responses={200: RemsStateSerializer})
    def get(self, request: Request, pk: int) -> Response:
        return Response(self._state(request, pk))

    @extend_schema(request=RemsAnswersSerializer, responses={200: RemsStateSerializer})
    def patch(self, request: Request, pk: int) -> Response:
        session = self._session(request, pk)
        incoming = validated(RemsAnswersSerializer, request.data, partial=True)
        bedside.rems_form_update(actor=actor(request), session=session, values=dict(incoming))
        return Response(self._state(request, pk))


class RemsFormExportApi(_SessionApi):
    """The REMS form as a JSON document (every field of the paper form; `complete`, `missing`)."""

    roles: ClassVar[dict[str, Any]] = {"get": CLINICAL}

    @extend_schema(responses={200: OpenApiResponse(OpenApiTypes.OBJECT, description="The REMS form document.")})
    def get(self, request: Request, pk: int) -> Response:
        document = rems_export_get(user=actor(request), session_id=pk)
        return Response(
            document,
            headers={"Content-Disposition": f'attachment; filename="rems-monitoring-form-session-{pk}.json"'},
        )


class RemsFormPrintApi(_SessionApi):
    """The REMS form as a printable HTML page."""

    roles: ClassVar[dict[str, Any]] = {"get": CLINICAL}

    @extend_schema(responses={(200, "text/html"): OpenApiTypes.STR})
    def get(self, request: Request, pk: int) -> HttpResponse:
        document = rems_export_get(user=actor(request), session_id=pk)
        html = render_to_string("monitoring/rems_form_print.html", {"doc": document})
        return HttpResponse(html, content_type="text/html; charset=utf-8")


class RemsFormSubmitApi(_SessionApi):
    """Record that the signed session's form was sent to the REMS program."""

    roles: ClassVar[dict[str, Any]] = {"post": CLINICAL}

    @extend_schema(request=None, responses={200: RemsStateSerializer})
    def post(self, request: Request, pk: int) -> Response:
        session = self._session(request, pk)
        bedside.rems_form_submitted(actor=actor(request), session=session)
        detail = session_detail_get(user=actor(request), session_id=pk)
        return Response(_rems_state(detail.rems_form, detail.rems_missing, detail.rems_suggestions))
