"""Admin for maintenance recommendations and decisions (read-only: clinical records)."""

from django.contrib import admin

from clinic.core.admin import ReadOnlyAdmin
from monitoring.outcomes.models import MaintenanceDecision, MaintenanceRecommendation


@admin.register(MaintenanceRecommendation)
class MaintenanceRecommendationAdmin(ReadOnlyAdmin):
    list_display = ("course", "rule", "action", "interval_days", "next_due", "status", "computed_at")
    list_filter = ("rule", "action", "status")
    raw_id_fields = ("course",)


@admin.register(MaintenanceDecision)
class MaintenanceDecisionAdmin(ReadOnlyAdmin):
    list_display = ("course", "decision", "action", "interval_days", "next_due", "decided_by", "decided_at")
    list_filter = ("decision", "action")
    raw_id_fields = ("course", "recommendation", "appointment", "followup")
