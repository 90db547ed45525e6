"""`/fhir/...`: FHIR R4 read and search (ids are strings, as FHIR's are), the CapabilityStatement,
and an OperationOutcome 404 for every other path."""

from django.urls import path, re_path

from monitoring.fhir import api

app_name = "fhir"
urlpatterns = [
    path("metadata", api.FhirMetadataApi.as_view(), name="metadata"),
    path("Patient", api.FhirPatientSearchApi.as_view(), name="patient-search"),
    path("Patient/<str:pk>", api.FhirPatientApi.as_view(), name="patient"),
    path("Observation", api.FhirObservationSearchApi.as_view(), name="observation-search"),
    path("Observation/<str:pk>", api.FhirObservationApi.as_view(), name="observation"),
    path("Appointment", api.FhirAppointmentSearchApi.as_view(), name="appointment-search"),
    path("Appointment/<str:pk>", api.FhirAppointmentApi.as_view(), name="appointment"),
    path("MedicationAdministration", api.FhirMedicationAdministrationSearchApi.as_view(), name="administration-search"),
    path("MedicationAdministration/<str:pk>", api.FhirMedicationAdministrationApi.as_view(), name="administration"),
    re_path(r"^.*$", api.FhirNotFoundApi.as_view(), name="not-found"),
]
