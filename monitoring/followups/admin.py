"""The admin of follow-ups and their deliveries, read-only (they change through the services)."""

from django.contrib import admin

from clinic.core.admin import ReadOnlyAdmin
from monitoring.followups.models import FollowUp, FollowUpDelivery, FollowUpEvent


class FollowUpEventInline(admin.TabularInline):
    model = FollowUpEvent
    extra = 0
    can_delete = False
    readonly_fields = ("created_at", "action", "actor", "reason", "data")

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(FollowUp)
class FollowUpAdmin(ReadOnlyAdmin):
    """Follow-ups change only through their services (complete, snooze, reassign)."""

    list_display = ("kind", "patient", "site", "due_at", "assignee_role", "assignee", "status", "round")
    list_filter = ("kind", "status", "assignee_role")
    search_fields = ("key",)
    inlines = [FollowUpEventInline]


@admin.register(FollowUpDelivery)
class FollowUpDeliveryAdmin(ReadOnlyAdmin):
    list_display = ("followup", "round", "channel", "recipient", "sent_at", "read_at")
    list_filter = ("channel",)
