"""The protocol library in the admin: editable by admins only."""

from django.contrib import admin

from clinic.core.admin import ConfigAdmin
from infusions.protocols.models import Protocol


@admin.register(Protocol)
class ProtocolAdmin(ConfigAdmin):
    """The protocol library: editable by admins only (issue: protocol library)."""

    list_display = (
        "code",
        "drug",
        "route",
        "dosing_mode",
        "default_dose",
        "soft_min",
        "soft_max",
        "hard_max",
        "is_active",
    )
    list_filter = ("drug", "route", "dosing_mode", "is_active")
