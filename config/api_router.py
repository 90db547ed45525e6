"""One router for the whole API (`/api/v1/`)."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from clinic.api import ChairViewSet, SiteViewSet, TokenApi
from infusions.api import CourseViewSet, ProtocolViewSet, SessionViewSet
from infusions.appointments_api import (
    AppointmentViewSet,
    AvailabilityApi,
    CalendarFeedApi,
    MyAppointmentsApi,
    MyAppointmentsIcsApi,
    MyCalendarLinkApi,
)
from infusions.ledger_api import (
    BalanceApi,
    ContainerViewSet,
    DiscrepancyListApi,
    EntryViewSet,
    ExportApi,
    SessionLedgerApi,
    SessionReconcileApi,
)
from monitoring.api import AlertViewSet, SessionVitalsApi, VitalCorrectApi
from monitoring.audit_api import AuditAccessApi, AuditHistoryApi
from monitoring.bedside_api import (
    AlertEscalationListApi,
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
from monitoring.followups.api import FollowUpViewSet, InboxViewSet
from monitoring.maintenance_api import (
    CourseOutcomeApi,
    MaintenanceAcceptApi,
    MaintenanceModifyApi,
    MaintenanceRecommendationApi,
    MaintenanceRecommendationHistoryApi,
    MaintenanceRejectApi,
    OutcomesReportApi,
    OutcomesReportCsvApi,
)
from patients.api import MyAssessmentsApi, PatientAssessmentsApi, PatientViewSet

router = DefaultRouter()
router.register("sites", SiteViewSet, basename="site")
router.register("chairs", ChairViewSet, basename="chair")
router.register("patients", PatientViewSet, basename="patient")
router.register("protocols", ProtocolViewSet, basename="protocol")
router.register("courses", CourseViewSet, basename="course")
router.register("sessions", SessionViewSet, basename="session")
router.register("ledger/containers", ContainerViewSet, basename="ledger-container")
router.register("ledger/entries", EntryViewSet, basename="ledger-entry")
router.register("appointments", AppointmentViewSet, basename="appointment")
router.register("alerts", AlertViewSet, basename="alert")
router.register("followups", FollowUpViewSet, basename="followup")
router.register("inbox", InboxViewSet, basename="inbox")

app_name = "api"
MAINTENANCE = "courses/<int:pk>/maintenance-recommendation/"
urlpatterns = [
    path("auth/token/", TokenApi.as_view(), name="token"),
    path("audit/history/", AuditHistoryApi.as_view(), name="audit-history"),
    path("audit/access/", AuditAccessApi.as_view(), name="audit-access"),
    path("ledger/sessions/<int:session_pk>/", SessionLedgerApi.as_view(), name="ledger-session"),
    path("ledger/sessions/<int:session_pk>/reconcile/", SessionReconcileApi.as_view(), name="ledger-reconcile"),
    path("ledger/discrepancies/", DiscrepancyListApi.as_view(), name="ledger-discrepancies"),
    path("ledger/balances/", BalanceApi.as_view(), name="ledger-balances"),
    path("ledger/export/", ExportApi.as_view(), name="ledger-export"),
    path("sessions/<int:session_pk>/vitals/", SessionVitalsApi.as_view(), name="session-vitals"),
    path("vitals/<int:pk>/correct/", VitalCorrectApi.as_view(), name="vital-correct"),
    # Running a session at the chair (issue 4): before router.urls so these paths win.
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
    path("alert-escalations/", AlertEscalationListApi.as_view(), name="alert-escalations"),
    path("availability/", AvailabilityApi.as_view(), name="availability"),
    path("me/appointments/", MyAppointmentsApi.as_view(), name="me-appointments"),
    path("me/appointments.ics", MyAppointmentsIcsApi.as_view(), name="me-appointments-ics"),
    path("me/calendar-link/", MyCalendarLinkApi.as_view(), name="me-calendar-link"),
    path("calendar/<str:token>.ics", CalendarFeedApi.as_view(), name="calendar-feed"),
    path("patients/<int:patient_pk>/assessments/", PatientAssessmentsApi.as_view(), name="patient-assessments"),
    path("me/assessments/", MyAssessmentsApi.as_view(), name="me-assessments"),
    path("courses/<int:pk>/outcomes/", CourseOutcomeApi.as_view(), name="course-outcomes"),
    path(MAINTENANCE, MaintenanceRecommendationApi.as_view(), name="course-maintenance-recommendation"),
    path(f"{MAINTENANCE}accept/", MaintenanceAcceptApi.as_view(), name="course-maintenance-accept"),
    path(f"{MAINTENANCE}modify/", MaintenanceModifyApi.as_view(), name="course-maintenance-modify"),
    path(f"{MAINTENANCE}reject/", MaintenanceRejectApi.as_view(), name="course-maintenance-reject"),
    path(
        "courses/<int:pk>/maintenance-recommendations/",
        MaintenanceRecommendationHistoryApi.as_view(),
        name="course-maintenance-recommendations",
    ),
    path("reports/outcomes/", OutcomesReportApi.as_view(), name="outcomes-report"),
    path("reports/outcomes.csv", OutcomesReportCsvApi.as_view(), name="outcomes-report-csv"),
    *router.urls,
]
