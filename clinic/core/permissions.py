"""Role permissions (DESIGN.md users and roles).

A view declares `roles: dict[str, Collection[str]]` mapping each action (a ViewSet action
such as `list`, `create`, `start`, or a lower-case HTTP method on a plain APIView) to the
roles that may perform it; `"*"` is the fallback. Selectors narrow rows further (a patient
sees only their own record).

A patient who asks for any object on a staff route gets 404, never 403, so that nothing
tells them whether another patient's object exists.
"""

from collections.abc import Collection, Mapping
from typing import Any

from rest_framework.exceptions import NotFound
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from clinic.core.roles import Role


def view_action(request: Request, view: Any) -> str:
    return getattr(view, "action", None) or (request.method or "").lower()


class RolePermission(BasePermission):
    message = "Your role may not do this."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not user or not user.is_authenticated:
            return False
        roles: Mapping[str, Collection[str]] = getattr(view, "roles", {})
        action = view_action(request, view)
        allowed = roles.get(action, roles.get("*", ()))
        if user.role in allowed:
            return True
        if user.role == Role.PATIENT and view.kwargs:
            raise NotFound()
        return False
