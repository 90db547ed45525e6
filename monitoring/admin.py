from django.contrib import admin

from clinic.core.admin import ReadOnlyAdmin
from monitoring.models import (
    Alert,
    AlertEscalation,
    FollowUp,
    FollowUpDelivery,
    FollowUpEvent,
    Intervention,
    RemsMonitoringForm,
    SessionAmendment,
    SessionConsent,
    SessionEscort,
    SessionEvent,
    SideEffect,
    VitalSign,
    VitalsSchedule,
)


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
    list_display = ("followup", "round", "channel", "recipient", "sent_at", "read_at")
    list_filter = ("channel",)


# --- The bedside (issue 4): clinical records, read-only here. ---


@admin.register(SessionEvent)
class SessionEventAdmin(ReadOnlyAdmin):
    list_display = ("session", "action", "from_status", "to_status", "actor", "at")
    list_filter = ("action",)


@admin.register(SessionConsent)
class SessionConsentAdmin(ReadOnlyAdmin):
    list_display = ("session", "given", "method", "obtained_at", "recorded_by")


@admin.register(SessionEscort)
class SessionEscortAdmin(ReadOnlyAdmin):
    list_display = ("session", "name", "relationship", "recorded_by", "created_at")


@admin.register(SideEffect)
class SideEffectAdmin(ReadOnlyAdmin):
    list_display = ("session", "kind", "severity", "onset_at", "recorded_by")
    list_filter = ("kind", "severity")


@admin.register(Intervention)
class InterventionAdmin(ReadOnlyAdmin):
    list_display = ("session", "drug", "dose", "dose_unit", "route", "given_at", "recorded_by")


@admin.register(SessionAmendment)
class SessionAmendmentAdmin(ReadOnlyAdmin):
    list_display = ("session", "recorded_by", "created_at")


@admin.register(VitalsSchedule)
class VitalsScheduleAdmin(ReadOnlyAdmin):
    list_display = ("session", "next_kind", "next_due_at", "overdue_alerted_for")


@admin.register(AlertEscalation)
class AlertEscalationAdmin(ReadOnlyAdmin):
    list_display = ("alert", "recipient", "escalated_at")


@admin.register(RemsMonitoringForm)
class RemsMonitoringFormAdmin(ReadOnlyAdmin):
    list_display = ("session", "lot_number", "updated_by", "updated_at", "submitted_at")


# Maintenance recommendations and decisions (issue 5) register themselves there.
from monitoring import maintenance_admin  # noqa: E402, F401, I001

# The audit trail (change history, patient access log) registers itself there too.
from monitoring import audit_admin  # noqa: E402, F401, I001
