from django.urls import path

from infusions import views

app_name = "infusions"
urlpatterns = [
    path("approvals/", views.approvals, name="approvals"),
    path("portal/", views.portal, name="portal"),
]
