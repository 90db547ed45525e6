"""FHIR R4 read and search endpoints under `/fhir/` (DESIGN.md interop).

Clinicians and nurses read any patient's resources; a patient reads only their own (another
patient's answers 404, as everywhere); admins and front desk get 403. Errors are FHIR
OperationOutcome resources. Searches answer a `searchset` Bundle.
"""

from typing import Any, ClassVar

from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from clinic.core.api import actor
from clinic.core.permissions import RolePermission
from clinic.core.roles import CLINICAL, PATIENT, Role
from infusions.scheduling.models import Appointment
from infusions.sessions.models import InfusionSession
from monitoring.fhir import resources
from monitoring.vitals.models import VitalSign
from patients.models import Assessment, BodyMeasurement, Patient
from patients.selectors import patient_get

FHIR_READERS = (*CLINICAL, *PATIENT)
STARTED = tuple(resources.ADMINISTRATION_STATUS)


class FhirJsonRenderer(JSONRenderer):
    media_type = "application/fhir+json"
    format = "fhir"


def _detail(data: Any) -> Any:
    if isinstance(data, dict) and set(data) == {"detail"}:
        return data["detail"]
    return data


class FhirApi(APIView):
    permission_classes = (RolePermission,)
    roles: ClassVar[dict[str, Any]] = {"get": FHIR_READERS}
    renderer_classes = (FhirJsonRenderer, JSONRenderer)

    def handle_exception(self, exc: Exception) -> Response:
        response = super().handle_exception(exc)
        response.data = resources.operation_outcome(response.status_code, _detail(response.data))
        return response

    def base_url(self) -> str:
        return self.request.build_absolute_uri("/fhir/")

    def searchset(self, found: list[dict[str, Any]]) -> Response:
        return Response(resources.bundle(found, base_url=self.base_url(), self_url=self.request.build_absolute_uri()))


def _number(raw: str, prefix: str = "") -> int:
    """The database id inside a FHIR id ("17", or "session-17" with the prefix)."""
    if not raw.startswith(prefix) or not raw[len(prefix) :].isdigit():
        raise Http404
    return int(raw[len(prefix) :])


def _readable_patient(request: Request, patient_id: int | str) -> Patient:
    return patient_get(user=actor(request), patient_id=patient_id)


def _search_patient(request: Request) -> Patient:
    """The `patient` search parameter (`17` or `Patient/17`). A patient account may leave it
    out (their own record); staff must name the patient."""
    user = actor(request)
    raw = request.query_params.get("patient") or request.query_params.get("subject")
    if not raw:
        if user.role == Role.PATIENT:
            own = Patient.objects.filter(user=user).first()
            if own is None:
                raise Http404
            return own
        raise exceptions.ValidationError({"patient": ["Name the patient: ?patient={id}."]})
    return _readable_patient(request, raw.removeprefix("Patient/"))


PATIENT_PARAM = OpenApiParameter("patient", str, description="Patient id (or Patient/{id}); a patient may omit it.")
CATEGORY_PARAM = OpenApiParameter(
    "category", str, enum=[resources.VITAL_SIGNS, resources.SURVEY], description="Observation category (token)."
)
FHIR_RESPONSE = {200: OpenApiTypes.OBJECT}


class FhirPatientApi(FhirApi):
    """`GET /fhir/Patient/{id}`."""

    @extend_schema(responses=FHIR_RESPONSE, operation_id="fhir_patient_read")
    def get(self, request: Request, pk: str) -> Response:
        return Response(resources.patient_resource(_readable_patient(request, _number(pk))))


def _vitals(patient: Patient) -> QuerySet[VitalSign]:
    """The patient's current vitals sets: corrections included, superseded rows left out."""
    return (
        VitalSign.objects.filter(session__course__patient=patient, superseded_by__isnull=True)
        .select_related("recorded_by")
        .order_by("recorded_at", "id")
    )


def _measurements(patient: Patient) -> QuerySet[BodyMeasurement]:
    return patient.measurements.select_related("recorded_by").order_by("measured_at", "id")


def _assessments(patient: Patient) -> QuerySet[Assessment]:
    return patient.assessments.select_related("recorded_by").order_by("administered_at", "id")


class FhirObservationSearchApi(FhirApi):
    """`GET /fhir/Observation?patient={id}&category=vital-signs|survey`: vital signs (each vitals
    set as BP panel, heart rate, SpO2, respiratory rate, temperature; weights and heights) and
    questionnaire scores."""

    @extend_schema(
        parameters=[PATIENT_PARAM, CATEGORY_PARAM], responses=FHIR_RESPONSE, operation_id="fhir_observation_search"
    )
    def get(self, request: Request) -> Response:
        patient = _search_patient(request)
        category = (request.query_params.get("category") or "").rsplit("|", 1)[-1]
        found: list[dict[str, Any]] = []
        if category in ("", resources.VITAL_SIGNS):
            for vital in _vitals(patient):
                found.extend(resources.vital_observations(vital, patient.pk))
            for measurement in _measurements(patient):
                found.extend(resources.measurement_observations(measurement))
        if category in ("", resources.SURVEY):
            found.extend(resources.assessment_observation(a) for a in _assessments(patient))
        return self.searchset(found)


class FhirObservationApi(FhirApi):
    """`GET /fhir/Observation/{id}` (ids as the search returns them)."""

    @extend_schema(responses=FHIR_RESPONSE, operation_id="fhir_observation_read")
    def get(self, request: Request, pk: str) -> Response:
        kind, _, rest = pk.partition("-")
        number_text, _, part = rest.partition("-")
        number = _number(number_text)
        found: list[dict[str, Any]] = []
        if kind == "vs" and part in resources.VITAL_PARTS:
            vital = VitalSign.objects.select_related("recorded_by", "session__course").filter(pk=number).first()
            if vital is not None:
                patient = _readable_patient(request, vital.session.course.patient_id)
                found = list(resources.vital_observations(vital, patient.pk))
        elif kind == "bm" and part in ("weight", "height"):
            measurement = BodyMeasurement.objects.select_related("recorded_by").filter(pk=number).first()
            if measurement is not None:
                _readable_patient(request, measurement.patient_id)
                found = list(resources.measurement_observations(measurement))
        elif kind == "as" and not part:
            assessment = Assessment.objects.select_related("recorded_by").filter(pk=number).first()
            if assessment is not None:
                _readable_patient(request, assessment.patient_id)
                found = [resources.assessment_observation(assessment)]
        for resource in found:
            if resource["id"] == pk:
                return Response(resource)
        raise Http404


def _appointments() -> QuerySet[Appointment]:
    return Appointment.objects.select_related("chair", "site", "protocol").order_by("starts_at", "id")


class FhirAppointmentSearchApi(FhirApi):
    """`GET /fhir/Appointment?patient={id}`."""

    @extend_schema(parameters=[PATIENT_PARAM], responses=FHIR_RESPONSE, operation_id="fhir_appointment_search")
    def get(self, request: Request) -> Response:
        patient = _search_patient(request)
        return self.searchset([resources.appointment_resource(a) for a in _appointments().filter(patient=patient)])


class FhirAppointmentApi(FhirApi):
    """`GET /fhir/Appointment/{id}`."""

    @extend_schema(responses=FHIR_RESPONSE, operation_id="fhir_appointment_read")
    def get(self, request: Request, pk: str) -> Response:
        appointment = _appointments().filter(pk=_number(pk)).first()
        if appointment is None:
            raise Http404
        _readable_patient(request, appointment.patient_id)
        return Response(resources.appointment_resource(appointment))


def _administrations() -> QuerySet[InfusionSession]:
    return (
        InfusionSession.objects.filter(status__in=STARTED)
        .select_related("course__protocol", "created_by")
        .order_by("started_at", "id")
    )


class FhirMedicationAdministrationSearchApi(FhirApi):
    """`GET /fhir/MedicationAdministration?patient={id}`: every started session."""

    @extend_schema(
        parameters=[PATIENT_PARAM], responses=FHIR_RESPONSE, operation_id="fhir_medication_administration_search"
    )
    def get(self, request: Request) -> Response:
        patient = _search_patient(request)
        rows = _administrations().filter(course__patient=patient)
        return self.searchset([resources.administration_resource(s) for s in rows])


class FhirMedicationAdministrationApi(FhirApi):
    """`GET /fhir/MedicationAdministration/session-{id}`."""

    @extend_schema(responses=FHIR_RESPONSE, operation_id="fhir_medication_administration_read")
    def get(self, request: Request, pk: str) -> Response:
        session = _administrations().filter(pk=_number(pk, "session-")).first()
        if session is None:
            raise Http404
        _readable_patient(request, session.course.patient_id)
        return Response(resources.administration_resource(session))
