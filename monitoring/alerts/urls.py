"""The API paths of alerts and their escalations (under `/api/v1/`, namespace `api`)."""

from django.urls import path

from clinic.core.api import PackageRouter
from monitoring.alerts.api import AlertEscalationListApi, AlertViewSet

router = PackageRouter()
router.register("alerts", AlertViewSet, basename="alert")

urlpatterns = [
    path("alert-escalations/", AlertEscalationListApi.as_view(), name="alert-escalations"),
    *router.urls,
]
