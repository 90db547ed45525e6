"""What every web page shares: role checks and turning a service's refusal into form errors.

Pages are thin, like the API views: they read through selectors and write through services.
A page declares the roles that may open it; a signed-out visitor is sent to the sign-in
page, a patient who opens a staff page gets 404 (as in the API, nothing tells them what
exists), and any other role that may not see it gets 403.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django import forms
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone

from clinic.core.exceptions import ApplicationError
from clinic.core.roles import Role
from clinic.models import User
from clinic.selectors import user_time_zone

View = TypeVar("View", bound=Callable[..., HttpResponse])
T = TypeVar("T")


def role_required(*roles: str) -> Callable[[View], View]:
    """Only the given roles may open the page (see the module docstring for the others)."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if getattr(user, "role", None) not in roles:
                if getattr(user, "role", None) == Role.PATIENT:
                    raise Http404
                raise PermissionDenied
            with timezone.override(user_time_zone(user)):
                return view(request, *args, **kwargs)

        wrapped.allowed_roles = tuple(roles)  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorator


def page_user(request: HttpRequest) -> User:
    """The signed-in user of a page that `role_required` let through."""
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied
    return user


def call_service(
    request: HttpRequest, service: Callable[..., T], form: forms.Form | None = None, **kwargs: Any
) -> T | None:
    """Call a service; a refusal becomes an error message (ApplicationError, with its rule)
    or field errors on `form` (ValidationError). Returns None when refused."""
    try:
        return service(**kwargs)
    except ApplicationError as error:
        message = error.message
        if isinstance(error.extra.get("slot"), int):  # a series names the refused session
            message = f"Session {error.extra['slot'] + 1}: {message}"
        if form is not None:
            form.add_error(None, message)
        else:
            messages.error(request, message)
        return None
    except ValidationError as error:
        _validation_to_form(request, error, form)
        return None


def _validation_to_form(request: HttpRequest, error: ValidationError, form: forms.Form | None) -> None:
    if hasattr(error, "error_dict"):
        for field, field_errors in error.message_dict.items():
            if form is not None and field == "__all__":
                form.add_error(None, field_errors)
            elif form is not None and field in form.fields:
                form.add_error(field, field_errors)
            elif form is not None:
                form.add_error(None, [f"{field.replace('_', ' ')}: {m}" for m in field_errors])
            else:
                for message in field_errors:
                    messages.error(request, f"{field.replace('_', ' ')}: {message}")
    elif form is not None:
        form.add_error(None, error.messages)
    else:
        for message in error.messages:
            messages.error(request, message)
