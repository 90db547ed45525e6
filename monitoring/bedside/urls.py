"""The API paths of running a session at the chair and the day board (under `/api/v1/`, namespace `api`)."""

from django.urls import path

from monitoring.bedside.api import (
    BoardApi,
    RemsFormApi,
    RemsFormExportApi,
    RemsFormPrintApi,
    RemsFormSubmitApi,
    SessionAmendmentsApi,
    SessionCompleteApi,
    SessionConsentApi,
    SessionDetailApi,
    SessionDischargeApi,
    SessionEscortApi,
    SessionEventsApi,
    SessionInterventionsApi,
    SessionPauseApi,
    SessionPrecheckApi,
    SessionResumeApi,
    SessionSideEffectsApi,
    SessionStartApi,
    SessionStopApi,
)

urlpatterns = [
    path("sessions/<int:pk>/precheck/", SessionPrecheckApi.as_view(), name="session-precheck"),
    path("sessions/<int:pk>/start/", SessionStartApi.as_view(), name="session-start"),
    path("sessions/<int:pk>/pause/", SessionPauseApi.as_view(), name="session-pause"),
    path("sessions/<int:pk>/resume/", SessionResumeApi.as_view(), name="session-resume"),
    path("sessions/<int:pk>/complete/", SessionCompleteApi.as_view(), name="session-complete"),
    path("sessions/<int:pk>/stop/", SessionStopApi.as_view(), name="session-stop"),
    path("sessions/<int:pk>/discharge/", SessionDischargeApi.as_view(), name="session-discharge"),
    path("sessions/<int:pk>/detail/", SessionDetailApi.as_view(), name="session-detail"),
    path("sessions/<int:pk>/events/", SessionEventsApi.as_view(), name="session-events"),
    path("sessions/<int:pk>/consent/", SessionConsentApi.as_view(), name="session-consent"),
    path("sessions/<int:pk>/escort/", SessionEscortApi.as_view(), name="session-escort"),
    path("sessions/<int:pk>/side-effects/", SessionSideEffectsApi.as_view(), name="session-side-effects"),
    path("sessions/<int:pk>/interventions/", SessionInterventionsApi.as_view(), name="session-interventions"),
    path("sessions/<int:pk>/amendments/", SessionAmendmentsApi.as_view(), name="session-amendments"),
    path("sessions/<int:pk>/rems-form/", RemsFormApi.as_view(), name="session-rems-form"),
    path("sessions/<int:pk>/rems-form/export/", RemsFormExportApi.as_view(), name="session-rems-form-export"),
    path("sessions/<int:pk>/rems-form/print/", RemsFormPrintApi.as_view(), name="session-rems-form-print"),
    path("sessions/<int:pk>/rems-form/submit/", RemsFormSubmitApi.as_view(), name="session-rems-form-submit"),
    path("board/", BoardApi.as_view(), name="board"),
]
