"""The API paths of outcomes, maintenance recommendations and the outcomes report (`/api/v1/`)."""

from django.urls import path

from monitoring.outcomes.api import (
    CourseOutcomeApi,
    MaintenanceAcceptApi,
    MaintenanceModifyApi,
    MaintenanceRecommendationApi,
    MaintenanceRecommendationHistoryApi,
    MaintenanceRejectApi,
    OutcomesReportApi,
    OutcomesReportCsvApi,
)

MAINTENANCE = "courses/<int:pk>/maintenance-recommendation/"
urlpatterns = [
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
]
