"""The audit trail (DESIGN.md non-negotiables: every change to clinical data attributable,
every read of a patient's record by staff logged).

- Changes: django-simple-history keeps a historical row (who, when, the values) for every
  save of the mutable clinical records and the configuration that drives clinical decisions.
  The historical tables live in `monitoring` (the app that sees every other), registered
  here so no other app's models change. The previous historical row holds the values before.
  Append-only records (weights, screenings, assessments, vitals, the ledger) cannot change:
  a database trigger refuses UPDATE and DELETE, and each row carries who and when.
- Reads: `PatientAccessLog`, one append-only row per patient per staff request, written by
  `monitoring.audit.services.PatientAccessMiddleware` in a single INSERT.

Imported by `monitoring.models` so Django registers the models.
"""

from django.conf import settings
from django.db import models
from simple_history import register

from clinic.core.models import AppendOnlyModel
from clinic.models import Site
from infusions.protocols.models import Protocol
from infusions.scheduling.models import Appointment
from infusions.sessions.models import InfusionSession, TreatmentCourse
from monitoring.alerts.models import Alert
from monitoring.bedside.models import RemsMonitoringForm
from monitoring.followups.models import FollowUp
from monitoring.outcomes.models import MaintenanceRecommendation
from patients.models import Patient

# Mutable records whose every change is kept (the append-only ones cannot change).
AUDITED_MODELS = (
    Site,  # clinical_overrides: the per-site clinical numbers
    Patient,
    Protocol,  # dose limits
    TreatmentCourse,
    InfusionSession,  # doses, approvals, status, signature
    Appointment,
    Alert,
    FollowUp,
    RemsMonitoringForm,
    MaintenanceRecommendation,
)

for _model in AUDITED_MODELS:
    if not hasattr(_model, "history"):
        register(_model, app="monitoring", user_related_name="+")


class PatientAccessLog(AppendOnlyModel):
    """A staff member's request that read (or acted on) a patient's record."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    role = models.CharField(max_length=16)
    method = models.CharField(max_length=8)
    view = models.CharField(max_length=120, help_text="The URL name (namespace:name) that answered.")
    path = models.CharField(max_length=300, help_text="The path, without the query string.")
    status_code = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["patient", "-created_at"], name="access_patient_time"),
            models.Index(fields=["user", "-created_at"], name="access_user_time"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.method} {self.view} patient {self.patient_id}"
