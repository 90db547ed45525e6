from django.contrib import admin

from clinic.core.admin import ConfigAdmin, ReadOnlyAdmin
from patients.models import Assessment, BodyMeasurement, Patient, Screening


@admin.register(Patient)
class PatientAdmin(ConfigAdmin):
    list_display = ("mrn", "family_name", "given_name", "birth_date", "sex", "site")
    search_fields = ("mrn", "family_name", "given_name")
    list_filter = ("site", "sex")
    raw_id_fields = ("user",)


@admin.register(BodyMeasurement)
class BodyMeasurementAdmin(ReadOnlyAdmin):
    list_display = ("patient", "weight_kg", "height_cm", "measured_at", "recorded_by")
    raw_id_fields = ("patient",)


@admin.register(Screening)
class ScreeningAdmin(ReadOnlyAdmin):
    list_display = ("patient", "outcome", "screened_at", "valid_until", "screened_by")
    list_filter = ("outcome",)


@admin.register(Assessment)
class AssessmentAdmin(ReadOnlyAdmin):
    list_display = ("patient", "instrument", "total", "severity", "administered_at", "source", "recorded_by")
    list_filter = ("instrument", "severity", "source")
    raw_id_fields = ("patient",)
