from django.urls import path

from infusions import views

app_name = "infusions"
urlpatterns = [
    path("approvals/", views.approvals, name="approvals"),
    path("portal/", views.portal, name="portal"),
    path("appointments/", views.schedule, name="schedule"),
    path("appointments/<int:appointment_id>/", views.appointment_detail, name="appointment"),
    path("patients/<int:patient_id>/book/", views.book, name="book"),
]
