from django.urls import path

from patients import views

app_name = "patients"
urlpatterns = [
    path("patients/", views.patient_search, name="search"),
    path("patients/new/", views.patient_register, name="register"),
    path("patients/<int:patient_id>/details/", views.patient_detail, name="detail"),
    path("portal/questionnaires/<str:instrument>/", views.questionnaire, name="questionnaire"),
]
