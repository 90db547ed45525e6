"""The URLs of `infusions`: its pages (namespace `infusions`) and, beside them, the API
paths of its feature packages (`api_urlpatterns`, concatenated by `config/api_router.py`)."""

from django.urls import path

from infusions.ledger import urls as ledger_urls
from infusions.pages import views
from infusions.protocols import urls as protocols_urls
from infusions.scheduling import urls as scheduling_urls
from infusions.sessions import urls as sessions_urls

app_name = "infusions"
urlpatterns = [
    path("approvals/", views.approvals, name="approvals"),
    path("portal/", views.portal, name="portal"),
    path("appointments/", views.schedule, name="schedule"),
    path("appointments/<int:appointment_id>/", views.appointment_detail, name="appointment"),
    path("patients/<int:patient_id>/book/", views.book, name="book"),
]

api_urlpatterns = [
    *ledger_urls.urlpatterns,
    *scheduling_urls.urlpatterns,
    *protocols_urls.urlpatterns,
    *sessions_urls.urlpatterns,
]
