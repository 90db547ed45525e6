"""Running a session at the chair: its steps (append-only events), consent, escort, side
effects, interventions, amendments of a signed session and the esketamine REMS monitoring form."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from clinic.core.models import AppendOnlyModel, BaseModel
from monitoring.followups.models import FollowUpStatus

OPEN_FOLLOWUP_STATUSES = (FollowUpStatus.PENDING, FollowUpStatus.QUEUED, FollowUpStatus.NOTIFIED)


# --- Running a session at the chair (CLINICAL.md §3-4): its history, what is recorded
# during it, the vitals schedule, alert escalations and the esketamine REMS form. ---


class SessionAction(models.TextChoices):
    PRECHECK = "precheck"
    START = "start"
    PAUSE = "pause"
    RESUME = "resume"
    COMPLETE = "complete"
    STOP = "stop"
    DISCHARGE = "discharge"
    REMS_FORM_UPDATED = "rems_form_updated"


class SessionEvent(AppendOnlyModel):
    """Each step of a session (and each change of its REMS form): who, when, from what to
    what. Append-only (a database trigger refuses UPDATE and DELETE)."""

    session = models.ForeignKey("infusions.InfusionSession", on_delete=models.PROTECT, related_name="events")
    action = models.CharField(max_length=20, choices=SessionAction.choices)
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()
    reason = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["session", "at"], name="sessionevent_session_at")]
        constraints = [
            models.CheckConstraint(condition=Q(action__in=SessionAction.values), name="sessionevent_action_valid")
        ]

    def __str__(self) -> str:
        return f"{self.action} session {self.session_id}"


class ConsentMethod(models.TextChoices):
    WRITTEN = "written"
    ELECTRONIC = "electronic"
    VERBAL = "verbal"


class SessionConsent(AppendOnlyModel):
    """The patient's informed consent for this session. Append-only: the latest row counts
    (a row with `given=False` records a refusal or a withdrawal)."""

    session = models.ForeignKey("infusions.InfusionSession", on_delete=models.PROTECT, related_name="consents")
    given = models.BooleanField(default=True)
    method = models.CharField(max_length=12, choices=ConsentMethod.choices, default=ConsentMethod.WRITTEN)
    obtained_at = models.DateTimeField()
    document_reference = models.CharField(max_length=120, blank=True)
    note = models.TextField(blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["obtained_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(method__in=ConsentMethod.values), name="consent_method_valid")
        ]


class SessionEscort(AppendOnlyModel):
    """Who takes the patient home (no driving until the next day: Spravato label; a
    responsible adult: Ketalar label). Append-only: the latest row counts."""

    session = models.ForeignKey("infusions.InfusionSession", on_delete=models.PROTECT, related_name="escorts")
    name = models.CharField(max_length=120)
    relationship = models.CharField(max_length=60, blank=True)
    phone = models.CharField(max_length=32)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=~Q(name="") & ~Q(phone=""), name="escort_name_and_phone"),
        ]


class SideEffectKind(models.TextChoices):
    NAUSEA = "nausea"
    VOMITING = "vomiting"
    DISSOCIATION = "dissociation"
    ANXIETY = "anxiety"
    HEADACHE = "headache"
    DIZZINESS = "dizziness"
    SEDATION = "sedation"
    OTHER = "other"


class SideEffectSeverity(models.TextChoices):
    MILD = "mild"
    MODERATE = "moderate"
    SEVERE = "severe"


class SideEffect(AppendOnlyModel):
    """A side effect noticed during the session. Append-only."""

    session = models.ForeignKey("infusions.InfusionSession", on_delete=models.PROTECT, related_name="side_effects")
    kind = models.CharField(max_length=16, choices=SideEffectKind.choices)
    severity = models.CharField(max_length=10, choices=SideEffectSeverity.choices)
    onset_at = models.DateTimeField()
    note = models.TextField(blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["onset_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=SideEffectKind.values), name="sideeffect_kind_valid"),
            models.CheckConstraint(
                condition=Q(severity__in=SideEffectSeverity.values), name="sideeffect_severity_valid"
            ),
            models.CheckConstraint(condition=~Q(kind="other") | ~Q(note=""), name="sideeffect_other_described"),
        ]


class InterventionRoute(models.TextChoices):
    IV = "iv", "Intravenous"
    IM = "im", "Intramuscular"
    ORAL = "oral", "Oral"
    SUBLINGUAL = "sublingual", "Sublingual"
    INHALED = "inhaled", "Inhaled"
    INTRANASAL = "intranasal", "Intranasal"
    OTHER = "other", "Other"


class Intervention(AppendOnlyModel):
    """A drug given during the session (e.g. ondansetron for nausea): drug, dose, time."""

    session = models.ForeignKey("infusions.InfusionSession", on_delete=models.PROTECT, related_name="interventions")
    drug = models.CharField(max_length=120)
    dose = models.DecimalField(max_digits=9, decimal_places=3)
    dose_unit = models.CharField(max_length=16)
    route = models.CharField(max_length=12, choices=InterventionRoute.choices)
    given_at = models.DateTimeField()
    reason = models.TextField(blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["given_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(dose__gt=0), name="intervention_dose_positive"),
            models.CheckConstraint(condition=Q(route__in=InterventionRoute.values), name="intervention_route_valid"),
        ]


class SessionAmendment(AppendOnlyModel):
    """A note added to a signed session: the signed record never changes; amendments are new
    records beside it."""

    session = models.ForeignKey("infusions.InfusionSession", on_delete=models.PROTECT, related_name="amendments")
    text = models.TextField()
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [models.CheckConstraint(condition=~Q(text=""), name="amendment_has_text")]


class RemsMonitoringForm(BaseModel):
    """The Spravato REMS Patient Monitoring Form (clinical-research.md §3.1, © Janssen 11/2021):
    what the nurse answers. Patient identity, treatment date, dose, the three blood pressures
    and the monitoring time come from the session's own records when the form is exported.
    Changes are recorded as session events (`rems_form_updated`, with the values before);
    the form is frozen once the session is signed."""

    session = models.OneToOneField("infusions.InfusionSession", on_delete=models.PROTECT, related_name="rems_form")
    first_treatment = models.BooleanField(null=True, blank=True)
    patient_enrolled_in_rems = models.BooleanField(null=True, blank=True)
    # Concomitant medications, yes/no each (the form's list; opioids per newer REMS guidance).
    benzodiazepines = models.BooleanField(null=True, blank=True)
    non_benzodiazepine_sedative_hypnotics = models.BooleanField(null=True, blank=True)
    psychostimulants = models.BooleanField(null=True, blank=True)
    maois = models.BooleanField(null=True, blank=True)
    opioids = models.BooleanField(null=True, blank=True)
    monitoring_hcp_name = models.CharField(max_length=120, blank=True)
    monitoring_hcp_phone = models.CharField(max_length=32, blank=True)
    monitoring_hcp_email = models.EmailField(blank=True)
    setting_name = models.CharField(max_length=160, blank=True)
    setting_address = models.TextField(blank=True)
    lot_number = models.CharField(max_length=40, blank=True)
    ready_to_leave_minutes = models.PositiveIntegerField(
        null=True, blank=True, help_text="Without the 2-hour minimum, minutes from start of administration."
    )
    vitals_acceptable_before_administration = models.BooleanField(null=True, blank=True)
    vitals_acceptable_before_completion = models.BooleanField(null=True, blank=True)
    sedation = models.BooleanField(null=True, blank=True)
    sedation_details = models.TextField(blank=True)
    dissociation = models.BooleanField(null=True, blank=True)
    dissociation_details = models.TextField(blank=True)
    respiratory_depression = models.BooleanField(null=True, blank=True)
    respiratory_depression_details = models.TextField(blank=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    submitted_at = models.DateTimeField(null=True, blank=True, help_text="Sent to the REMS program.")
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
