from django.urls import path

from monitoring import views

app_name = "monitoring"
urlpatterns = [
    path("board/", views.board, name="board"),
    path("worklist/", views.worklist, name="worklist"),
    path("sessions/<int:session_id>/", views.bedside_page, name="bedside"),
    path("patients/<int:patient_id>/", views.patient_chart, name="patient"),
    path("outcomes/", views.outcomes, name="outcomes"),
    path("followups/", views.followups, name="followups"),
]
