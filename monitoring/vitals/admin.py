"""The admin of vitals and the vitals schedule, read-only."""

from django.contrib import admin

from clinic.core.admin import ReadOnlyAdmin
from monitoring.vitals.models import VitalSign, VitalsSchedule


@admin.register(VitalSign)
class VitalSignAdmin(ReadOnlyAdmin):
    list_display = ("session", "recorded_at", "phase", "systolic", "diastolic", "heart_rate", "spo2", "news2_score")
    list_filter = ("phase",)


@admin.register(VitalsSchedule)
class VitalsScheduleAdmin(ReadOnlyAdmin):
    list_display = ("session", "next_kind", "next_due_at", "overdue_alerted_for")
