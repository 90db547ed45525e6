"""FHIR R4 read and search endpoints under `/fhir/` (DESIGN.md interop).

Clinicians and nurses read any patient's resources; a patient reads only their own (another
patient's answers 404, as everywhere); admins and front desk get 403. Every answer is FHIR JSON
(`application/fhir+json`): errors are OperationOutcome resources (400 per parameter, 401, 403,
404 on any path under `/fhir/`, 405 for any method but GET, 406 for `_format=xml`), searches a
`searchset` Bundle paged by `next`/`previous` links. `/fhir/metadata` is the CapabilityStatement
(no sign-in needed, as SMART clients read it first).
"""

from collections.abc import Iterable
from typing import Any, ClassVar
from urllib.parse import urlencode

from django.conf import settings
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.authentication import BaseAuthentication
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from clinic.core.api import actor
from clinic.core.permissions import RolePermission
from clinic.core.roles import CLINICAL, PATIENT
from clinic.core.security import BearerTokenAuthentication, ExpiringTokenAuthentication
from clinic.localtime import site_zone
from monitoring.fhir import resources, selectors
from monitoring.fhir.search import RESOURCES, ParamType, Search, SearchError, prefer_strict, search_parse
from patients.selectors import patient_get

FHIR_READERS = (*CLINICAL, *PATIENT)
JSON_FORMATS = ("json", "application/json", "application/fhir+json", "application/json+fhir")
CAPABILITY_DATE = "2025-06-01"  # when what /fhir/metadata lists last changed


class FhirJsonRenderer(JSONRenderer):
    media_type = "application/fhir+json"
    format = "fhir"


class _NoFormatOverride:
    URL_FORMAT_OVERRIDE = None  # `format` is not a FHIR parameter; `_format` is


class FhirContentNegotiation(DefaultContentNegotiation):
    """FHIR JSON only: `_format` (json, application/fhir+json) or Accept; anything else
    (`_format=xml`, `Accept: application/fhir+xml`) is 406."""

    settings = _NoFormatOverride  # type: ignore[assignment]

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderers = list(renderers)
        wanted = request.query_params.get("_format")
        if wanted is not None:
            if wanted.split(";")[0].strip().lower() in JSON_FORMATS:
                return renderers[0], renderers[0].media_type
            raise exceptions.NotAcceptable(f"_format={wanted}: this server answers FHIR JSON only.")
        return super().select_renderer(request, renderers, format_suffix)  # type: ignore[return-value]


# --- the schema of the answers (OpenAPI components; the full definitions are FHIR R4's) -------------


class FhirIssueSerializer(serializers.Serializer):
    severity = serializers.ChoiceField(choices=["fatal", "error", "warning", "information"])
    code = serializers.CharField()
    diagnostics = serializers.CharField(required=False)
    expression = serializers.ListField(child=serializers.CharField(), required=False)


class FhirOperationOutcomeSerializer(serializers.Serializer):
    """An R4 OperationOutcome (https://hl7.org/fhir/R4/operationoutcome.html)."""

    resourceType = serializers.ChoiceField(choices=["OperationOutcome"])  # noqa: N815
    issue = FhirIssueSerializer(many=True)


class FhirResourceSerializer(serializers.Serializer):
    """Any R4 resource (https://hl7.org/fhir/R4/resourcelist.html): the full definition of each is
    the FHIR specification's; every other element is carried as is."""

    resourceType = serializers.CharField()  # noqa: N815
    id = serializers.CharField(required=False)
    meta = serializers.DictField(required=False)


def _resource_serializer(resource_type: str) -> type[serializers.Serializer]:
    """A component per resource type: its `resourceType` and id (the rest is FHIR R4's)."""
    attrs: dict[str, Any] = {
        "resourceType": serializers.ChoiceField(choices=[resource_type]),
        "id": serializers.CharField(),
        "meta": serializers.DictField(required=False),
        "__doc__": f"An R4 {resource_type} (https://hl7.org/fhir/R4/{resource_type.lower()}.html).",
    }
    return type(f"Fhir{resource_type}Serializer", (serializers.Serializer,), attrs)


FHIR_RESOURCE = {name: _resource_serializer(name) for name in (*RESOURCES, "CapabilityStatement")}


class FhirBundleLinkSerializer(serializers.Serializer):
    relation = serializers.ChoiceField(choices=["self", "next", "previous"])
    url = serializers.URLField()


class FhirBundleSearchSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(choices=["match", "outcome"])


class FhirBundleEntrySerializer(serializers.Serializer):
    fullUrl = serializers.URLField(required=False)  # noqa: N815
    resource = FhirResourceSerializer()
    search = FhirBundleSearchSerializer()


class FhirBundleSerializer(serializers.Serializer):
    """An R4 searchset Bundle (https://hl7.org/fhir/R4/bundle.html): `total` matches, one page of
    them in `entry` (none when empty), `link` self/next/previous."""

    resourceType = serializers.ChoiceField(choices=["Bundle"])  # noqa: N815
    type = serializers.ChoiceField(choices=["searchset"])
    total = serializers.IntegerField()
    link = FhirBundleLinkSerializer(many=True)
    entry = FhirBundleEntrySerializer(many=True, required=False)


PREFER = OpenApiParameter(
    "Prefer",
    str,
    location=OpenApiParameter.HEADER,
    required=False,
    description="`handling=strict`: unknown or unsupported parameters answer 400; `handling=lenient` (the "
    "default): they are left out and named in an OperationOutcome entry.",
)
_PARAM_TYPES: dict[ParamType, Any] = {
    ParamType.TOKEN: str,
    ParamType.STRING: str,
    ParamType.REFERENCE: str,
    ParamType.DATE: str,
}


def _search_parameters(resource_type: str) -> list[OpenApiParameter]:
    """The search's OpenAPI parameters, from the same declarations the parser reads."""
    definition = RESOURCES[resource_type]
    params = [OpenApiParameter(p.name, _PARAM_TYPES[p.type], description=p.documentation) for p in definition.params]
    return [
        *params,
        OpenApiParameter("_count", int, description=f"Page size (at most {settings.FHIR_MAX_COUNT}; 0: total only)."),
        OpenApiParameter("_offset", int, description="Where the page starts (the next/previous links carry it)."),
        OpenApiParameter(
            "_sort", str, enum=[*definition.sorts, *(f"-{s}" for s in definition.sorts)], description="Sort order."
        ),
        OpenApiParameter("_summary", str, enum=["count", "false"], description="`count`: the total only."),
        PREFER,
    ]


def _read_schema(resource_type: str) -> Any:
    return extend_schema(
        responses={200: FHIR_RESOURCE[resource_type]}, operation_id=f"fhir_{_snake(resource_type)}_read"
    )


def _search_schema(resource_type: str) -> Any:
    return extend_schema(
        parameters=_search_parameters(resource_type),
        responses={200: FhirBundleSerializer},
        operation_id=f"fhir_{_snake(resource_type)}_search",
    )


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() and i else c.lower() for i, c in enumerate(name))


# --- views ------------------------------------------------------------------------------------------


class FhirApi(APIView):
    # Bearer first: a 401 tells a FHIR client `WWW-Authenticate: Bearer`; `Token` works as well.
    authentication_classes: tuple[type[BaseAuthentication], ...] = (
        BearerTokenAuthentication,
        ExpiringTokenAuthentication,
    )
    permission_classes: tuple[type[BasePermission], ...] = (RolePermission,)
    roles: ClassVar[dict[str, Any]] = {"get": FHIR_READERS}
    renderer_classes = (FhirJsonRenderer, JSONRenderer)
    content_negotiation_class = FhirContentNegotiation
    error_serializer = FhirOperationOutcomeSerializer  # documented for every error (clinic.core.schema)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # An unsupported method is 405 for everyone, before sign-in and roles (not 401 or 403).
        method = (request.method or "").lower()
        if method not in self.http_method_names or not hasattr(self, method):
            raise exceptions.MethodNotAllowed(request.method or "")
        super().initial(request, *args, **kwargs)

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, SearchError):
            return Response(resources.operation_outcome([("error", exc.code, exc.message, exc.parameter)]), status=400)
        response = super().handle_exception(exc)
        response.data = resources.error_outcome(response.status_code, response.data)
        return response

    def base_url(self) -> str:
        return self.request.build_absolute_uri("/fhir/")

    def parse(self, resource_type: str) -> Search:
        request = self.request
        return search_parse(
            RESOURCES[resource_type],
            [(key, value) for key, values in request.query_params.lists() for value in values],
            strict=prefer_strict(request.headers.get("Prefer", ""), settings.FHIR_SEARCH_HANDLING),
            default_count=settings.FHIR_DEFAULT_COUNT,
            max_count=settings.FHIR_MAX_COUNT,
            zone=site_zone(None),
        )

    def searchset(
        self, resource_type: str, search: Search, page: selectors.Page, found: list[dict[str, Any]]
    ) -> Response:
        url = f"{self.base_url()}{resource_type}"

        def link(offset: int) -> str:
            query = [*search.used, ("_count", str(search.count))]
            if offset:
                query.append(("_offset", str(offset)))
            return f"{url}?{urlencode(query)}"

        links = [("self", link(search.offset))]
        if not search.summary_count and search.count:
            if search.offset + search.count < page.total:
                links.append(("next", link(search.offset + search.count)))
            if search.offset > 0:
                links.append(("previous", link(max(0, search.offset - search.count))))
        body = resources.bundle(found, total=page.total, base_url=self.base_url(), links=links, warnings=search.ignored)
        return Response(body)


class FhirMetadataApi(FhirApi):
    """`GET /fhir/metadata`: the CapabilityStatement (no sign-in, as SMART clients start here)."""

    authentication_classes = ()
    permission_classes = (AllowAny,)

    @extend_schema(responses={200: FHIR_RESOURCE["CapabilityStatement"]}, operation_id="fhir_metadata", auth=[])
    def get(self, request: Request) -> Response:
        version = str(settings.SPECTACULAR_SETTINGS["VERSION"])
        return Response(
            resources.capability_statement(base_url=self.base_url(), date=CAPABILITY_DATE, software_version=version)
        )


class FhirNotFoundApi(FhirApi):
    """Any other path under `/fhir/`, for any method: 404 as an OperationOutcome."""

    authentication_classes = ()
    permission_classes = (AllowAny,)
    schema = None  # not an operation

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        raise Http404


class FhirPatientSearchApi(FhirApi):
    """`GET /fhir/Patient?identifier=&name=&birthdate=`."""

    @_search_schema("Patient")
    def get(self, request: Request) -> Response:
        search = self.parse("Patient")
        page = selectors.patient_search(user=actor(request), search=search)
        return self.searchset("Patient", search, page, [resources.patient_resource(p) for p in page.rows])


class FhirPatientApi(FhirApi):
    """`GET /fhir/Patient/{id}`."""

    @_read_schema("Patient")
    def get(self, request: Request, pk: str) -> Response:
        if not pk.isdigit():
            raise Http404
        return Response(resources.patient_resource(patient_get(user=actor(request), patient_id=pk)))


class FhirObservationSearchApi(FhirApi):
    """`GET /fhir/Observation?patient=&category=&code=&date=&_sort=&_count=`: vital signs and
    questionnaire scores, the current ones (a correction stands in for the set it corrects)."""

    @_search_schema("Observation")
    def get(self, request: Request) -> Response:
        search = self.parse("Observation")
        patient = selectors.search_patient(user=actor(request), search=search)
        page = selectors.observation_search(patient=patient, search=search)
        found = [resources.observation_resource(row.kind, row.part, row.obj) for row in page.rows]
        return self.searchset("Observation", search, page, found)


class FhirObservationApi(FhirApi):
    """`GET /fhir/Observation/{id}` (ids as the search returns them; a superseded one too)."""

    @_read_schema("Observation")
    def get(self, request: Request, pk: str) -> Response:
        row = selectors.observation_get(user=actor(request), observation_id=pk)
        return Response(resources.observation_resource(row.kind, row.part, row.obj))


class FhirAppointmentSearchApi(FhirApi):
    """`GET /fhir/Appointment?patient=&date=&status=`."""

    @_search_schema("Appointment")
    def get(self, request: Request) -> Response:
        search = self.parse("Appointment")
        user = actor(request)
        patient = selectors.search_patient(user=user, search=search)
        page = selectors.appointment_search(user=user, patient=patient, search=search)
        return self.searchset("Appointment", search, page, [resources.appointment_resource(a) for a in page.rows])


class FhirAppointmentApi(FhirApi):
    """`GET /fhir/Appointment/{id}`."""

    @_read_schema("Appointment")
    def get(self, request: Request, pk: str) -> Response:
        return Response(
            resources.appointment_resource(selectors.appointment_get(user=actor(request), appointment_id=pk))
        )


class FhirMedicationAdministrationSearchApi(FhirApi):
    """`GET /fhir/MedicationAdministration?patient=&effective-time=`: every started session."""

    @_search_schema("MedicationAdministration")
    def get(self, request: Request) -> Response:
        search = self.parse("MedicationAdministration")
        patient = selectors.search_patient(user=actor(request), search=search)
        page = selectors.administration_search(patient=patient, search=search)
        found = [resources.administration_resource(s) for s in page.rows]
        return self.searchset("MedicationAdministration", search, page, found)


class FhirMedicationAdministrationApi(FhirApi):
    """`GET /fhir/MedicationAdministration/session-{id}`."""

    @_read_schema("MedicationAdministration")
    def get(self, request: Request, pk: str) -> Response:
        session = selectors.administration_get(user=actor(request), administration_id=pk)
        return Response(resources.administration_resource(session))
