"""The URLs of `clinic`: sign-in pages (namespace `clinic`) and, beside them, its API paths
(`api_urlpatterns`, concatenated by `config/api_router.py`)."""

from django.urls import path

from clinic import views
from clinic.api import ChairViewSet, SiteViewSet, TokenApi
from clinic.core.api import PackageRouter

app_name = "clinic"
urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
]

router = PackageRouter()
router.register("sites", SiteViewSet, basename="site")
router.register("chairs", ChairViewSet, basename="chair")

api_urlpatterns = [
    path("auth/token/", TokenApi.as_view(), name="token"),
    *router.urls,
]
