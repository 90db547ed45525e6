"""The whole API (`/api/v1/`, namespace `api`): each app's API paths, concatenated, and the
browsable root that lists every resource collection."""

from django.urls import URLPattern, path
from rest_framework.routers import APIRootView
from rest_framework.urlpatterns import format_suffix_patterns

from clinic import urls as clinic_urls
from infusions import urls as infusions_urls
from monitoring import urls as monitoring_urls
from patients import urls as patients_urls

APPS = (clinic_urls, patients_urls, infusions_urls, monitoring_urls)
API = [pattern for app in APPS for pattern in app.api_urlpatterns]


def _collections(patterns: list[URLPattern]) -> dict[str, str]:
    """prefix -> URL name of every router list route (what DefaultRouter's root shows)."""
    return {
        str(p.pattern).removeprefix("^").removesuffix("/$"): p.name
        for p in patterns
        if p.name and p.name.endswith("-list") and "format" not in str(p.pattern)
    }


app_name = "api"
urlpatterns = [
    *format_suffix_patterns([path("", APIRootView.as_view(api_root_dict=_collections(API)), name="api-root")]),
    *API,
]
