"""The admin of the bedside records: events, consent, escort, side effects, interventions,
amendments and REMS forms, read-only (they change only through the services)."""

from django.contrib import admin

from clinic.core.admin import ReadOnlyAdmin
from monitoring.bedside.models import (
    Intervention,
    RemsMonitoringForm,
    SessionAmendment,
    SessionConsent,
    SessionEscort,
    SessionEvent,
    SideEffect,
)

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


@admin.register(RemsMonitoringForm)
class RemsMonitoringFormAdmin(ReadOnlyAdmin):
    list_display = ("session", "lot_number", "updated_by", "updated_at", "submitted_at")
