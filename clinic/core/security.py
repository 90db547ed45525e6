"""Sign-in security: expiring API tokens and throttles that read their rates at call time.

Rates and the token lifetime come from the environment (config/settings/base.py,
`.env.example`). Throttle counters live in the default cache (Redis), so every web process
on every host shares them.
"""

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from rest_framework import throttling
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.settings import api_settings


def token_is_expired(token: Token) -> bool:
    ttl = timedelta(hours=settings.API_TOKEN_TTL_HOURS)
    return token.created < timezone.now() - ttl


class ExpiringTokenAuthentication(TokenAuthentication):
    """DRF's token authentication, but a token older than `API_TOKEN_TTL_HOURS` is refused
    (and deleted): the client signs in again. `DELETE /api/v1/auth/token/` revokes it at once."""

    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        user, token = super().authenticate_credentials(key)
        if token_is_expired(token):
            Token.objects.filter(pk=token.pk).delete()
            raise AuthenticationFailed("The token has expired; sign in again.")
        return user, token


class BearerTokenAuthentication(ExpiringTokenAuthentication):
    """The same API token sent as `Authorization: Bearer <token>` (RFC 6750, what FHIR and
    OAuth clients send) instead of `Token <token>`. Only the header keyword differs; when the
    token library changes, this stays a one-line subclass (or the library's prefix setting)."""

    keyword = "Bearer"


def _live_rate(throttle: throttling.SimpleRateThrottle) -> str | None:
    """DRF copies the rates into a class attribute at import; read them on every request
    instead, so a settings change (or a test's override_settings) takes effect."""
    throttle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES  # type: ignore[assignment]
    return throttling.SimpleRateThrottle.get_rate(throttle)


class AnonRateThrottle(throttling.AnonRateThrottle):
    def get_rate(self) -> str | None:
        return _live_rate(self)


class UserRateThrottle(throttling.UserRateThrottle):
    def get_rate(self) -> str | None:
        return _live_rate(self)


class ScopedRateThrottle(throttling.ScopedRateThrottle):
    """Views with a `throttle_scope` (sign-in: "sign_in") get their own, stricter rate."""

    def get_rate(self) -> str | None:
        return _live_rate(self)
