"""Admin for the audit trail: the change history of every audited record and the patient
access log, visible to admins only and never changed there."""

from typing import Any

from django.contrib import admin

from clinic.core.admin import ReadOnlyAdmin
from monitoring.audit.models import AUDITED_MODELS, PatientAccessLog
from monitoring.audit.services import history_model


class HistoryAdmin(ReadOnlyAdmin):
    list_display = ("history_date", "history_type", "history_user", "id", "history_change_reason")
    list_filter = ("history_type",)
    date_hierarchy = "history_date"
    list_select_related = ("history_user",)

    def get_search_fields(self, request: Any) -> tuple[str, ...]:
        return ("id",)


for _model in AUDITED_MODELS:
    admin.site.register(history_model(_model), HistoryAdmin)


@admin.register(PatientAccessLog)
class PatientAccessLogAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "user", "role", "method", "view", "patient", "status_code")
    list_filter = ("role", "method")
    date_hierarchy = "created_at"
    raw_id_fields = ("patient", "user")
    list_select_related = ("user",)
    search_fields = ("path", "view")
