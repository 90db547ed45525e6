"""The admin of alerts and escalations, read-only."""

from django.contrib import admin

from clinic.core.admin import ReadOnlyAdmin
from monitoring.alerts.models import Alert, AlertDelivery, AlertEscalation


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    list_display = ("session", "rule", "severity", "status", "raised_at")
    list_filter = ("rule", "severity", "status")


@admin.register(AlertEscalation)
class AlertEscalationAdmin(ReadOnlyAdmin):
    list_display = ("alert", "recipient", "escalated_at")


@admin.register(AlertDelivery)
class AlertDeliveryAdmin(ReadOnlyAdmin):
    list_display = ("alert", "step", "channel", "recipient", "created_at", "sent_at", "attempts")
    list_filter = ("channel", "step")
