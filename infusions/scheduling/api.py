"""Appointments: slot search, booking (one or a series), move, cancel, no-show, check-in, the
history, the day board, and the patient's own appointments and calendar feed.

Roles (DESIGN.md): front desk and clinicians book, move and cancel; nurses see the board and
check patients in; nobody here sees doses or vitals; a patient sees only their own
appointments (another patient's object answers 404).
"""

import hashlib
from datetime import datetime
from typing import Any, ClassVar

from django.db.models import QuerySet
from django.http import Http404, HttpResponse
from django.utils import timezone
from django.utils.cache import get_conditional_response
from django.utils.http import http_date, quote_etag
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from clinic.core.api import actor, validated
from clinic.core.permissions import RolePermission
from clinic.core.roles import BOOKERS, FRONT_OF_HOUSE, PATIENT, STAFF, Role
from clinic.core.schema import JsonObjectField
from clinic.models import Chair, Site
from infusions.protocols.models import Protocol
from infusions.scheduling import services as booking
from infusions.scheduling.calendar import appointment_preparation, appointments_ics
from infusions.scheduling.models import (
    Appointment,
    AppointmentEvent,
    AppointmentEventKind,
    AppointmentKind,
    AppointmentStatus,
)
from infusions.scheduling.selectors import (
    appointment_events,
    appointment_get,
    appointment_list,
    calendar_feed_patient,
    day_board,
    my_appointments,
    patient_calendar,
)
from infusions.sessions.models import TreatmentCourse
from patients.models import Patient
from patients.selectors import patient_of_user

MAX_SERIES_SLOTS = 60


# ---- serializers ------------------------------------------------------------------------------


class AvailabilitySlotSerializer(serializers.Serializer):
    chair = serializers.IntegerField()
    chair_name = serializers.CharField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()


def _slot_data(slots: list[tuple[Chair, datetime, datetime]]) -> list[dict[str, Any]]:
    return [
        {"chair": chair.pk, "chair_name": chair.name, "starts_at": starts_at, "ends_at": ends_at}
        for chair, starts_at, ends_at in slots
    ]


class AvailabilityQuerySerializer(serializers.Serializer):
    site = serializers.PrimaryKeyRelatedField(queryset=Site.objects.all())
    protocol = serializers.PrimaryKeyRelatedField(queryset=Protocol.objects.filter(is_active=True))
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    patient = serializers.PrimaryKeyRelatedField(queryset=Patient.objects.all(), required=False)
    limit = serializers.IntegerField(min_value=1, max_value=200, default=20)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["end"] <= attrs["start"]:
            raise serializers.ValidationError({"end": "Must be after start."})
        if (attrs["end"] - attrs["start"]).days > 92:
            raise serializers.ValidationError({"end": "Search at most 92 days at a time."})
        return attrs


class AppointmentSerializer(serializers.ModelSerializer):
    patient_name = serializers.SerializerMethodField()
    override_reason = serializers.SerializerMethodField()
    chair_name = serializers.CharField(source="chair.name", read_only=True, allow_null=True, default=None)
    protocol_code = serializers.CharField(source="protocol.code", read_only=True, allow_null=True, default=None)

    class Meta:
        model = Appointment
        fields = (
            "id",
            "patient",
            "patient_name",
            "site",
            "chair",
            "chair_name",
            "kind",
            "protocol",
            "protocol_code",
            "course",
            "series",
            "starts_at",
            "ends_at",
            "status",
            "booked_by",
            "override_reason",
            "cancel_reason",
            "notes",
            "created_at",
        )

    def get_patient_name(self, obj: Appointment) -> str:
        return f"{obj.patient.given_name} {obj.patient.family_name}"

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_override_reason(self, obj: Appointment) -> str | None:
        """A clinician's reason is a clinical note: front desk does not read it (null)."""
        return None if _is_frontdesk(self.context) else obj.override_reason


def _is_frontdesk(context: dict[str, Any]) -> bool:
    request = context.get("request")
    return getattr(getattr(request, "user", None), "role", None) == Role.FRONTDESK


class AppointmentCreateSerializer(serializers.Serializer):
    patient = serializers.PrimaryKeyRelatedField(queryset=Patient.objects.all())
    chair = serializers.PrimaryKeyRelatedField(queryset=Chair.objects.all(), required=False, allow_null=True)
    starts_at = serializers.DateTimeField()
    kind = serializers.ChoiceField(choices=AppointmentKind.choices, default=AppointmentKind.INFUSION)
    protocol = serializers.PrimaryKeyRelatedField(queryset=Protocol.objects.all(), required=False, allow_null=True)
    course = serializers.PrimaryKeyRelatedField(queryset=TreatmentCourse.objects.all(), required=False, allow_null=True)
    site = serializers.PrimaryKeyRelatedField(queryset=Site.objects.all(), required=False, allow_null=True)
    ends_at = serializers.DateTimeField(required=False, allow_null=True, help_text="Consults and calls only.")
    override_reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
    notes = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class AppointmentSeriesSlotSerializer(serializers.Serializer):
    chair = serializers.PrimaryKeyRelatedField(queryset=Chair.objects.all())
    starts_at = serializers.DateTimeField()


class AppointmentSeriesCreateSerializer(serializers.Serializer):
    patient = serializers.PrimaryKeyRelatedField(queryset=Patient.objects.all())
    protocol = serializers.PrimaryKeyRelatedField(queryset=Protocol.objects.all())
    slots = AppointmentSeriesSlotSerializer(many=True, allow_empty=False)
    course = serializers.PrimaryKeyRelatedField(queryset=TreatmentCourse.objects.all(), required=False, allow_null=True)
    override_reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)

    def validate_slots(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if len(value) > MAX_SERIES_SLOTS:
            raise serializers.ValidationError(f"At most {MAX_SERIES_SLOTS} slots in one series.")
        return value


class AppointmentSeriesSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    patient = serializers.IntegerField()
    protocol = serializers.IntegerField()
    appointments = AppointmentSerializer(many=True)


class AppointmentSeriesProposalQuerySerializer(serializers.Serializer):
    patient = serializers.PrimaryKeyRelatedField(queryset=Patient.objects.all())
    protocol = serializers.PrimaryKeyRelatedField(queryset=Protocol.objects.filter(is_active=True))
    site = serializers.PrimaryKeyRelatedField(queryset=Site.objects.all(), required=False)
    start = serializers.DateTimeField(required=False)
    sessions = serializers.IntegerField(min_value=1, max_value=30, required=False)
    per_week = serializers.IntegerField(min_value=1, max_value=7, required=False)


class AppointmentSeriesProposalSerializer(serializers.Serializer):
    sessions = serializers.IntegerField()
    per_week = serializers.IntegerField()
    complete = serializers.BooleanField()
    slots = AvailabilitySlotSerializer(many=True)


class AppointmentMoveSerializer(serializers.Serializer):
    starts_at = serializers.DateTimeField()
    chair = serializers.PrimaryKeyRelatedField(queryset=Chair.objects.all(), required=False, allow_null=True)
    reason = serializers.CharField(max_length=2000)


class AppointmentCancelSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class AppointmentNoShowSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class AppointmentSnapshotSerializer(serializers.Serializer):
    """Where the appointment was (before) or is (after) a change; empty before a booking."""

    chair = serializers.IntegerField(allow_null=True, required=False)
    starts_at = serializers.DateTimeField(required=False)
    ends_at = serializers.DateTimeField(required=False)
    status = serializers.ChoiceField(choices=AppointmentStatus.choices, required=False)


@extend_schema_field(AppointmentSnapshotSerializer)
class AppointmentSnapshotField(JsonObjectField):
    """The stored snapshot, as it is."""


class AppointmentEventSerializer(serializers.ModelSerializer):
    actor_name = serializers.CharField(source="actor.username", read_only=True)
    before = AppointmentSnapshotField(read_only=True)
    after = AppointmentSnapshotField(read_only=True)
    reason = serializers.SerializerMethodField()

    class Meta:
        model = AppointmentEvent
        fields = ("id", "kind", "actor", "actor_name", "reason", "before", "after", "created_at")

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_reason(self, obj: AppointmentEvent) -> str | None:
        """The booking event's reason is the clinician's override: hidden from front desk."""
        if obj.kind == AppointmentEventKind.BOOKED and _is_frontdesk(self.context):
            return None
        return obj.reason


class AppointmentListQuerySerializer(serializers.Serializer):
    site = serializers.IntegerField(required=False)
    patient = serializers.IntegerField(required=False)
    status = serializers.ChoiceField(choices=AppointmentStatus.choices, required=False)
    start = serializers.DateTimeField(required=False)
    end = serializers.DateTimeField(required=False)


class DayBoardQuerySerializer(serializers.Serializer):
    site = serializers.PrimaryKeyRelatedField(queryset=Site.objects.all())
    date = serializers.DateField(required=False)


class DayBoardAppointmentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    patient = serializers.IntegerField(source="patient_id")
    patient_name = serializers.SerializerMethodField()
    protocol_code = serializers.CharField(source="protocol.code", allow_null=True, default=None)
    kind = serializers.CharField()
    status = serializers.CharField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()

    def get_patient_name(self, obj: Appointment) -> str:
        return f"{obj.patient.given_name} {obj.patient.family_name}"


class DayBoardRowSerializer(serializers.Serializer):
    chair = serializers.IntegerField(source="chair.pk")
    chair_name = serializers.CharField(source="chair.name")
    is_active = serializers.BooleanField(source="chair.is_active")
    appointments = DayBoardAppointmentSerializer(many=True)


class DayBoardSerializer(serializers.Serializer):
    site = serializers.IntegerField(source="site.pk")
    date = serializers.DateField(source="day")
    opens_at = serializers.DateTimeField(allow_null=True)
    closes_at = serializers.DateTimeField(allow_null=True)
    rows = DayBoardRowSerializer(many=True)
    unassigned = DayBoardAppointmentSerializer(many=True)


class AppointmentPreparationSerializer(serializers.Serializer):
    arrive_by = serializers.DateTimeField()
    fasting_hours = serializers.IntegerField()
    no_food_after = serializers.DateTimeField(allow_null=True)
    escort_required = serializers.BooleanField()
    no_driving_until_next_day = serializers.BooleanField()
    instructions = serializers.CharField()
    summary = serializers.ListField(child=serializers.CharField(), source="lines")


class MyAppointmentSerializer(serializers.ModelSerializer):
    site_name = serializers.CharField(source="site.name", read_only=True)
    time_zone = serializers.CharField(source="site.time_zone", read_only=True)
    chair_name = serializers.CharField(source="chair.name", read_only=True, allow_null=True, default=None)
    protocol_name = serializers.CharField(source="protocol.name", read_only=True, allow_null=True, default=None)
    preparation = serializers.SerializerMethodField()

    class Meta:
        model = Appointment
        fields = (
            "id",
            "kind",
            "status",
            "starts_at",
            "ends_at",
            "site",
            "site_name",
            "time_zone",
            "chair_name",
            "protocol_name",
            "preparation",
        )

    @extend_schema_field(AppointmentPreparationSerializer(allow_null=True))
    def get_preparation(self, obj: Appointment) -> dict[str, Any] | None:
        preparation = appointment_preparation(obj)
        return None if preparation is None else AppointmentPreparationSerializer(preparation).data


# ---- views --------------------------------------------------------------------------------------


class AvailabilityApi(APIView):
    """`GET /api/v1/availability/?site=&protocol=&start=&end=`: the earliest free chair slots for
    a protocol at a site, earliest first, honouring opening hours, closed days, chair and
    patient bookings and nurse capacity. `ends_at` is the end of the chair hold."""

    permission_classes = (RolePermission,)
    roles: ClassVar[dict[str, Any]] = {"get": STAFF}

    @extend_schema(parameters=[AvailabilityQuerySerializer], responses={200: AvailabilitySlotSerializer(many=True)})
    def get(self, request: Request) -> Response:
        query = validated(AvailabilityQuerySerializer, request.query_params)
        values = query
        slots = booking.availability_search(
            site=values["site"],
            protocol=values["protocol"],
            start=values["start"],
            end=values["end"],
            limit=values["limit"],
            patient=values.get("patient"),
        )
        return Response(AvailabilitySlotSerializer(_slot_data(slots), many=True).data)


class AppointmentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    permission_classes = (RolePermission,)
    roles: ClassVar[dict[str, Any]] = {
        "list": STAFF,
        "retrieve": STAFF,
        "history": STAFF,
        "board": STAFF,
        "create": BOOKERS,
        "series": BOOKERS,
        "series_proposal": BOOKERS,
        "move": BOOKERS,
        "cancel": BOOKERS,
        "no_show": FRONT_OF_HOUSE,
        "check_in": FRONT_OF_HOUSE,
    }
    serializer_class = AppointmentSerializer

    def get_queryset(self) -> QuerySet[Appointment]:
        query = validated(AppointmentListQuerySerializer, self.request.query_params)
        values = query
        return appointment_list(
            user=actor(self.request),
            site_id=values.get("site"),
            patient_id=values.get("patient"),
            status=values.get("status"),
            start=values.get("start"),
            end=values.get("end"),
        )

    def get_object(self) -> Appointment:
        return appointment_get(user=actor(self.request), appointment_id=self.kwargs["pk"])

    @extend_schema(parameters=[AppointmentListQuerySerializer])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(request=AppointmentCreateSerializer, responses={201: AppointmentSerializer})
    def create(self, request: Request) -> Response:
        data = validated(AppointmentCreateSerializer, request.data)
        values = data
        appointment = booking.appointment_book(
            actor=actor(request),
            patient=values["patient"],
            chair=values.get("chair"),
            starts_at=values["starts_at"],
            kind=values["kind"],
            protocol=values.get("protocol"),
            course=values.get("course"),
            override_reason=values["override_reason"],
            site=values.get("site"),
            ends_at=values.get("ends_at"),
            notes=values["notes"],
        )
        return Response(
            AppointmentSerializer(appointment, context={"request": request}).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(
        request=AppointmentSeriesCreateSerializer,
        responses={201: AppointmentSeriesSerializer},
        description="Book every slot or none: one refused slot answers 409 with its index in `slot`.",
    )
    @action(detail=False, methods=["post"])
    def series(self, request: Request) -> Response:
        data = validated(AppointmentSeriesCreateSerializer, request.data)
        values = data
        series = booking.appointment_series_book(
            actor=actor(request),
            patient=values["patient"],
            protocol=values["protocol"],
            slots=[(slot["chair"], slot["starts_at"]) for slot in values["slots"]],
            course=values.get("course"),
            override_reason=values["override_reason"],
        )
        appointments = appointment_list(user=actor(request), series_id=series.pk)
        body = {
            "id": series.pk,
            "patient": series.patient_id,
            "protocol": series.protocol_id,
            "appointments": AppointmentSerializer(appointments, many=True, context={"request": request}).data,
        }
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[AppointmentSeriesProposalQuerySerializer],
        responses={200: AppointmentSeriesProposalSerializer},
        description="The protocol's induction schedule (sessions, sessions a week) laid on availability; "
        "nothing is booked. Send the slots to `POST /api/v1/appointments/series/`.",
    )
    @action(detail=False, methods=["get"], url_path="series/proposal")
    def series_proposal(self, request: Request) -> Response:
        query = validated(AppointmentSeriesProposalQuerySerializer, request.query_params)
        values = query
        patient: Patient = values["patient"]
        site = values.get("site") or patient.site
        if site is None:
            raise serializers.ValidationError({"site": ["Give a site: the patient has none."]})
        proposal = booking.series_propose(
            site=site,
            protocol=values["protocol"],
            patient=patient,
            start=values.get("start") or timezone.now(),
            sessions=values.get("sessions"),
            per_week=values.get("per_week"),
        )
        body = {
            "sessions": proposal.sessions,
            "per_week": proposal.per_week,
            "complete": proposal.complete,
            "slots": _slot_data(proposal.slots),
        }
        return Response(AppointmentSeriesProposalSerializer(body).data)

    @extend_schema(request=AppointmentMoveSerializer, responses={200: AppointmentSerializer})
    @action(detail=True, methods=["post"])
    def move(self, request: Request, pk: str) -> Response:
        appointment = self.get_object()
        data = validated(AppointmentMoveSerializer, request.data)
        values = data
        appointment = booking.appointment_move(
            actor=actor(request),
            appointment=appointment,
            starts_at=values["starts_at"],
            chair=values.get("chair"),
            reason=values["reason"],
        )
        return Response(AppointmentSerializer(appointment, context={"request": request}).data)

    @extend_schema(request=AppointmentCancelSerializer, responses={200: AppointmentSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str) -> Response:
        appointment = self.get_object()
        data = validated(AppointmentCancelSerializer, request.data)
        appointment = booking.appointment_cancel(actor=actor(request), appointment=appointment, reason=data["reason"])
        return Response(AppointmentSerializer(appointment, context={"request": request}).data)

    @extend_schema(request=AppointmentNoShowSerializer, responses={200: AppointmentSerializer})
    @action(detail=True, methods=["post"], url_path="no-show")
    def no_show(self, request: Request, pk: str) -> Response:
        appointment = self.get_object()
        data = validated(AppointmentNoShowSerializer, request.data)
        appointment = booking.appointment_no_show(actor=actor(request), appointment=appointment, reason=data["reason"])
        return Response(AppointmentSerializer(appointment, context={"request": request}).data)

    @extend_schema(request=None, responses={200: AppointmentSerializer})
    @action(detail=True, methods=["post"], url_path="check-in")
    def check_in(self, request: Request, pk: str) -> Response:
        appointment = booking.appointment_check_in(actor=actor(request), appointment=self.get_object())
        return Response(AppointmentSerializer(appointment, context={"request": request}).data)

    @extend_schema(responses={200: AppointmentEventSerializer(many=True)})
    @action(detail=True, methods=["get"])
    def history(self, request: Request, pk: str) -> Response:
        events = appointment_events(appointment=self.get_object())
        return Response(AppointmentEventSerializer(events, many=True, context={"request": request}).data)

    @extend_schema(
        parameters=[DayBoardQuerySerializer],
        responses={200: DayBoardSerializer},
        description="A site's day (default: today in the site's time zone): chairs x time with "
        "patient, protocol and status. Cancelled appointments are left off.",
    )
    @action(detail=False, methods=["get"])
    def board(self, request: Request) -> Response:
        query = validated(DayBoardQuerySerializer, request.query_params)
        site: Site = query["site"]
        day = query.get("date") or timezone.now().astimezone(site.tz).date()
        return Response(DayBoardSerializer(day_board(site=site, day=day)).data)


class MyAppointmentsApi(APIView):
    """`GET /api/v1/me/appointments/`: the signed-in patient's own appointments, past and
    upcoming, each with its preparation instructions."""

    permission_classes = (RolePermission,)
    roles: ClassVar[dict[str, Any]] = {"get": PATIENT}

    @extend_schema(responses={200: MyAppointmentSerializer(many=True)})
    def get(self, request: Request) -> Response:
        appointments = my_appointments(user=actor(request))
        return Response(MyAppointmentSerializer(appointments, many=True).data)


class IcsRenderer(BaseRenderer):
    """`text/calendar` (what calendar apps ask for); the views hand it the finished file."""

    media_type = "text/calendar"
    format = "ics"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        return data if isinstance(data, bytes) else str(data).encode(self.charset)


class IcsApi(APIView):
    """A calendar feed: `Accept: text/calendar` (or anything that allows it), a strong ETag of
    the body and Last-Modified of its latest change, 304 for `If-None-Match` /
    `If-Modified-Since` that still hold. Errors answer JSON."""

    renderer_classes = (IcsRenderer,)

    def handle_exception(self, exc: Exception) -> Response:
        response = super().handle_exception(exc)
        self.request.accepted_renderer = JSONRenderer()  # an error is no calendar
        self.request.accepted_media_type = JSONRenderer.media_type
        return response

    def feed(self, appointments: QuerySet[Appointment]) -> HttpResponse:
        rows = list(appointments)
        body = appointments_ics(rows, name="My clinic appointments")
        etag = quote_etag(hashlib.sha256(body).hexdigest()[:32])
        latest = max((a.updated_at for a in rows), default=None)
        last_modified = int(latest.timestamp()) if latest else None  # HTTP dates are whole seconds
        conditional = get_conditional_response(self.request._request, etag=etag, last_modified=last_modified)
        response = conditional if conditional is not None else HttpResponse(body, content_type=ICS_TYPE)
        response["ETag"] = etag
        if last_modified is not None:
            response["Last-Modified"] = http_date(last_modified)
        response["Content-Disposition"] = 'inline; filename="appointments.ics"'
        # Private (a patient's own appointments), and checked again on every fetch (the ETag).
        response["Cache-Control"] = "private, no-cache"
        return response


ICS_TYPE = "text/calendar; charset=utf-8"
ICS_RESPONSE = OpenApiResponse(
    response=OpenApiTypes.STR,
    description="An iCalendar (RFC 5545) file, text/calendar, with ETag and Last-Modified; 304 when unchanged.",
)
ICS_304 = OpenApiResponse(description="Not modified (If-None-Match or If-Modified-Since still holds).")
ICS_CONDITIONAL = [
    OpenApiParameter("If-None-Match", str, location=OpenApiParameter.HEADER, required=False),
    OpenApiParameter("If-Modified-Since", str, location=OpenApiParameter.HEADER, required=False),
    OpenApiParameter("ETag", str, location=OpenApiParameter.HEADER, response=[200, 304]),
    OpenApiParameter("Last-Modified", str, location=OpenApiParameter.HEADER, response=[200, 304]),
]


class MyAppointmentsIcsApi(IcsApi):
    """`GET /api/v1/me/appointments.ics`: the signed-in patient's appointments as iCalendar."""

    permission_classes = (RolePermission,)
    roles: ClassVar[dict[str, Any]] = {"get": PATIENT}

    @extend_schema(responses={(200, "text/calendar"): ICS_RESPONSE, 304: ICS_304}, parameters=ICS_CONDITIONAL)
    def get(self, request: Request) -> HttpResponse:
        return self.feed(my_appointments(user=actor(request)))


class CalendarLinkCreatedSerializer(serializers.Serializer):
    url = serializers.URLField()
    token = serializers.CharField()


class MyCalendarLinkApi(APIView):
    """`POST /api/v1/me/calendar-link/` makes a private subscription link (any older one stops
    working); `DELETE` revokes it. Anyone holding the link can read the calendar: share it with
    your calendar app only."""

    permission_classes = (RolePermission,)
    roles: ClassVar[dict[str, Any]] = {"post": PATIENT, "delete": PATIENT}

    def _patient(self, request: Request) -> Patient:
        patient = patient_of_user(user=actor(request))
        if patient is None:
            raise Http404
        return patient

    @extend_schema(request=None, responses={201: CalendarLinkCreatedSerializer})
    def post(self, request: Request) -> Response:
        token = booking.calendar_feed_create(patient=self._patient(request))
        url = request.build_absolute_uri(f"/api/v1/calendar/{token}.ics")
        return Response({"url": url, "token": token}, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request) -> Response:
        booking.calendar_feed_revoke(patient=self._patient(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class CalendarFeedApi(IcsApi):
    """`GET /api/v1/calendar/{token}.ics`: the calendar behind a private link, for calendar
    apps that cannot sign in. An unknown or revoked link answers 404."""

    permission_classes = (AllowAny,)
    authentication_classes = ()

    @extend_schema(responses={(200, "text/calendar"): ICS_RESPONSE, 304: ICS_304}, parameters=ICS_CONDITIONAL, auth=[])
    def get(self, request: Request, token: str) -> HttpResponse:
        patient = calendar_feed_patient(token=token)
        if patient is None:
            raise Http404
        return self.feed(patient_calendar(patient=patient))
