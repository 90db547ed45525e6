"""The URLs of `patients`: its pages (namespace `patients`) and, beside them, its API paths
(`api_urlpatterns`, concatenated by `config/api_router.py`)."""

from django.urls import path

from clinic.core.api import PackageRouter
from patients import views
from patients.api import MyAssessmentsApi, PatientAssessmentsApi, PatientViewSet

app_name = "patients"
urlpatterns = [
    path("patients/", views.patient_search, name="search"),
    path("patients/new/", views.patient_register, name="register"),
    path("patients/<int:patient_id>/details/", views.patient_detail, name="detail"),
    path("portal/questionnaires/<str:instrument>/", views.questionnaire, name="questionnaire"),
]

router = PackageRouter()
router.register("patients", PatientViewSet, basename="patient")

api_urlpatterns = [
    path("patients/<int:patient_pk>/assessments/", PatientAssessmentsApi.as_view(), name="patient-assessments"),
    path("me/assessments/", MyAssessmentsApi.as_view(), name="me-assessments"),
    *router.urls,
]
