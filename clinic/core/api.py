"""The one DRF exception handler: every error is JSON with a message per field or a rule."""

from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter
from rest_framework.views import exception_handler as drf_exception_handler

from clinic.core.exceptions import ApplicationError

if TYPE_CHECKING:
    from clinic.models import User


def _validation_detail(error: DjangoValidationError) -> dict[str, Any] | list[str]:
    if hasattr(error, "error_dict"):
        return {
            ("non_field_errors" if field == "__all__" else field): messages
            for field, messages in error.message_dict.items()
        }
    return {"non_field_errors": error.messages}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ApplicationError):
        body = {"detail": exc.message, "rule": exc.rule, **exc.extra}
        return Response(body, status=exc.status)
    if isinstance(exc, DjangoValidationError):
        return Response(_validation_detail(exc), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    return drf_exception_handler(exc, context)


def actor(request: Request) -> "User":
    """The signed-in user of an authenticated request (permissions ran before)."""
    from clinic.models import User

    user = request.user
    if not isinstance(user, User):
        raise exceptions.NotAuthenticated()
    return user


class PackageRouter(DefaultRouter):
    """A feature package's router: its routes with format suffixes, like the one DefaultRouter
    the API had; the browsable root listing them all is `config/api_router.py`'s."""

    include_root_view = False


def validated(serializer_class: type[Any], data: Any, **kwargs: Any) -> Any:
    """An input serializer's validated data (a dict; a list with many=True), or a 400 with a
    message per field."""
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
