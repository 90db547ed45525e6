from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("config.api_router")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    # FHIR R4 interop (monitoring/fhir): Patient, Observation, Appointment, MedicationAdministration.
    path("fhir/", include("monitoring.fhir.urls")),
    # Web pages (server-rendered), one URL module per app.
    path("", include("clinic.urls")),
    path("", include("patients.urls")),
    path("", include("infusions.urls")),
    path("", include("monitoring.urls")),
]
