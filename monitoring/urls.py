"""The URLs of `monitoring`: its pages (namespace `monitoring`) and, beside them, the API
paths of its feature packages (`api_urlpatterns`, concatenated by `config/api_router.py`)."""

from django.urls import path

from monitoring.alerts import urls as alerts_urls
from monitoring.audit import urls as audit_urls
from monitoring.bedside import urls as bedside_urls
from monitoring.followups import urls as followups_urls
from monitoring.outcomes import urls as outcomes_urls
from monitoring.pages import views
from monitoring.vitals import urls as vitals_urls

app_name = "monitoring"
urlpatterns = [
    path("board/", views.board, name="board"),
    path("worklist/", views.worklist, name="worklist"),
    path("on-call/", views.on_call, name="on_call"),
    path("alerts/<int:alert_id>/", views.alert_page, name="alert"),
    path("sessions/<int:session_id>/", views.bedside_page, name="bedside"),
    path("patients/<int:patient_id>/", views.patient_chart, name="patient"),
    path("outcomes/", views.outcomes, name="outcomes"),
    path("followups/", views.followups, name="followups"),
]

api_urlpatterns = [
    *audit_urls.urlpatterns,
    *vitals_urls.urlpatterns,
    *bedside_urls.urlpatterns,
    *alerts_urls.urlpatterns,
    *outcomes_urls.urlpatterns,
    *followups_urls.urlpatterns,
]
