"""The API paths of vitals (under `/api/v1/`, namespace `api`)."""

from django.urls import path

from monitoring.vitals.api import SessionVitalsApi, VitalCorrectApi

urlpatterns = [
    path("sessions/<int:session_pk>/vitals/", SessionVitalsApi.as_view(), name="session-vitals"),
    path("vitals/<int:pk>/correct/", VitalCorrectApi.as_view(), name="vital-correct"),
]
