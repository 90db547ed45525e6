"""Admin helpers: clinical records are read-only there, and only admins change settings."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest


class AdminRoleOnlyMixin:
    """Only accounts with the admin role (or superusers) may change these objects."""

    def _is_admin(self, request: HttpRequest) -> bool:
        user: Any = request.user
        return bool(user.is_active and (user.is_superuser or getattr(user, "role", None) == "admin"))

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._is_admin(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._is_admin(request)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return self._is_admin(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._is_admin(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyAdmin(AdminRoleOnlyMixin, admin.ModelAdmin):
    """Clinical records: visible to admins, never added, changed or deleted here."""

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ConfigAdmin(AdminRoleOnlyMixin, admin.ModelAdmin):
    """Configuration the admin role manages."""
