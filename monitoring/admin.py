from django.contrib import admin

from clinic.core.admin import ReadOnlyAdmin
from monitoring.models import Alert, FollowUp, FollowUpDelivery, FollowUpEvent, InboxMessage, VitalSign


@admin.register(VitalSign)
class VitalSignAdmin(ReadOnlyAdmin):
    list_display = ("session", "recorded_at", "phase", "systolic", "diastolic", "heart_rate", "spo2", "news2_score")
    list_filter = ("phase",)


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    list_display = ("session", "rule", "severity", "status", "raised_at")
    list_filter = ("rule", "severity", "status")


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
    list_display = ("followup", "round", "channel", "recipient", "sent_at")
    list_filter = ("channel",)


@admin.register(InboxMessage)
class InboxMessageAdmin(ReadOnlyAdmin):
    list_display = ("user", "followup", "round", "title", "created_at", "read_at")


# Maintenance recommendations and decisions (issue 5) register themselves there.
from monitoring import maintenance_admin  # noqa: E402, F401
