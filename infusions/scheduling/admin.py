"""The admin of appointments, series, their events and calendar feeds, read-only."""

from typing import Any

from django.contrib import admin

from clinic.core.admin import ReadOnlyAdmin
from infusions.scheduling.models import Appointment, AppointmentEvent, AppointmentSeries, CalendarFeed


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
