from django.contrib import admin

from clinic.core.admin import ReadOnlyAdmin
from monitoring.models import Alert, VitalSign


@admin.register(VitalSign)
class VitalSignAdmin(ReadOnlyAdmin):
    list_display = ("session", "recorded_at", "phase", "systolic", "diastolic", "heart_rate", "spo2", "news2_score")
    list_filter = ("phase",)


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    list_display = ("session", "rule", "severity", "status", "raised_at")
    list_filter = ("rule", "severity", "status")
