from django.contrib import admin

from clinic.core.admin import ConfigAdmin, ReadOnlyAdmin
from infusions.models import InfusionSession, Protocol, TreatmentCourse


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


@admin.register(TreatmentCourse)
class TreatmentCourseAdmin(ReadOnlyAdmin):
    list_display = ("id", "patient", "protocol", "indication", "phase", "created_at")
    list_filter = ("phase", "protocol")


@admin.register(InfusionSession)
class InfusionSessionAdmin(ReadOnlyAdmin):
    list_display = ("id", "course", "status", "dose", "dose_unit", "total_dose_mg", "requires_approval", "created_at")
    list_filter = ("status",)
