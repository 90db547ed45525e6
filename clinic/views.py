"""Sign-in, sign-out and the role's home page."""

from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from clinic.core.roles import Role

# Where each role starts its day (the URL names of the pages in each app).
ROLE_HOME: dict[str, str] = {
    Role.NURSE: "monitoring:board",
    Role.CLINICIAN: "monitoring:worklist",
    Role.FRONTDESK: "patients:search",
    Role.PATIENT: "infusions:portal",
    Role.ADMIN: "admin:index",
}


def home(request: HttpRequest) -> HttpResponse:
    """`/`: the signed-in user's own home page, by role; everyone else signs in first."""
    user = request.user
    if not user.is_authenticated:
        return redirect("clinic:login")
    role = str(getattr(user, "role", ""))
    return redirect(ROLE_HOME.get(role, "clinic:login"))


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    """POST only (Django's rule): the sign-out button in the header is a form."""
