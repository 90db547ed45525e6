from typing import Any

from django.contrib import admin

from clinic.core.admin import ConfigAdmin, ReadOnlyAdmin
from infusions.models import (
    Appointment,
    AppointmentEvent,
    AppointmentSeries,
    CalendarFeed,
    InfusionSession,
    Protocol,
    TreatmentCourse,
)


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


class AppointmentEventInline(admin.TabularInline):
    model = AppointmentEvent
    extra = 0
    can_delete = False
    readonly_fields = ("kind", "actor", "reason", "before", "after", "created_at")

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(Appointment)
class AppointmentAdmin(ReadOnlyAdmin):
    """Appointments change only through the booking services (every rule, and the history)."""

    list_display = ("id", "starts_at", "ends_at", "site", "chair", "patient", "kind", "protocol", "status")
    list_filter = ("site", "kind", "status")
    date_hierarchy = "starts_at"
    inlines = (AppointmentEventInline,)


@admin.register(AppointmentSeries)
class AppointmentSeriesAdmin(ReadOnlyAdmin):
    list_display = ("id", "patient", "protocol", "booked_by", "created_at")


@admin.register(AppointmentEvent)
class AppointmentEventAdmin(ReadOnlyAdmin):
    list_display = ("id", "appointment", "kind", "actor", "created_at")
    list_filter = ("kind",)


@admin.register(CalendarFeed)
class CalendarFeedAdmin(ReadOnlyAdmin):
    list_display = ("id", "patient", "created_at", "revoked_at")
    exclude = ("token_sha256",)


from infusions import ledger_admin  # noqa: E402, F401  (registers the ledger's models)
