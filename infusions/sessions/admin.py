"""The admin of treatment courses and sessions, read-only."""

from django.contrib import admin

from clinic.core.admin import ReadOnlyAdmin
from infusions.sessions.models import InfusionSession, TreatmentCourse


@admin.register(TreatmentCourse)
class TreatmentCourseAdmin(ReadOnlyAdmin):
    list_display = ("id", "patient", "protocol", "indication", "phase", "created_at")
    list_filter = ("phase", "protocol")


@admin.register(InfusionSession)
class InfusionSessionAdmin(ReadOnlyAdmin):
    list_display = ("id", "course", "status", "dose", "dose_unit", "total_dose_mg", "requires_approval", "created_at")
    list_filter = ("status",)
