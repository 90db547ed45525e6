from django.conf import settings
from django.db import models
from django.db.models import Q

from clinic.core.models import AppendOnlyModel, BaseModel


class Consciousness(models.TextChoices):
    ALERT = "A", "Alert"
    CONFUSION = "C", "New confusion"
    VOICE = "V", "Responds to voice"
    PAIN = "P", "Responds to pain"
    UNRESPONSIVE = "U", "Unresponsive"


class VitalsPhase(models.TextChoices):
    BASELINE = "baseline"
    RUNNING = "running"
    OBSERVATION = "observation"
    DISCHARGE = "discharge"


class VitalsSource(models.TextChoices):
    MANUAL = "manual"
    DEVICE = "device"


class VitalSign(AppendOnlyModel):
    """One set of vitals. Append-only (a database trigger refuses UPDATE and DELETE); a
    correction is a new row that `supersedes` the old one, with a reason."""

    # No index of its own: the (session, recorded_at) index below serves every lookup by session,
    # and each index is one more write per set (docs/PERFORMANCE.md).
    session = models.ForeignKey(
        "infusions.InfusionSession", on_delete=models.PROTECT, related_name="vitals", db_index=False
    )
    recorded_at = models.DateTimeField()
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    source = models.CharField(max_length=8, choices=VitalsSource.choices, default=VitalsSource.MANUAL)
    phase = models.CharField(max_length=12, choices=VitalsPhase.choices)
    systolic = models.PositiveSmallIntegerField()
    diastolic = models.PositiveSmallIntegerField()
    heart_rate = models.PositiveSmallIntegerField()
    spo2 = models.PositiveSmallIntegerField()
    respiratory_rate = models.PositiveSmallIntegerField()
    temperature_c = models.DecimalField(max_digits=3, decimal_places=1, null=True, blank=True)
    consciousness = models.CharField(max_length=1, choices=Consciousness.choices, default="A")
    on_oxygen = models.BooleanField(default=False)
    moaas = models.PositiveSmallIntegerField(null=True, blank=True, help_text="MOAA/S 0-5")
    news2_score = models.PositiveSmallIntegerField()
    news2_risk = models.CharField(max_length=12)
    supersedes = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="superseded_by"
    )
    correction_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["recorded_at", "id"]
        indexes = [models.Index(fields=["session", "recorded_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(diastolic__lt=models.F("systolic")), name="vitals_diastolic_below_systolic"
            ),
            models.CheckConstraint(condition=Q(spo2__lte=100), name="vitals_spo2_max"),
            models.CheckConstraint(condition=Q(moaas__isnull=True) | Q(moaas__lte=5), name="vitals_moaas_range"),
            models.CheckConstraint(
                condition=Q(supersedes__isnull=True) | ~Q(correction_reason=""),
                name="vitals_correction_has_reason",
            ),
        ]


class AlertRule(models.TextChoices):
    PREDOSE_BP = "predose_bp"
    BP_HIGH = "bp_high"
    BP_RISE = "bp_rise"
    SPO2_LOW = "spo2_low"
    NEWS2 = "news2"
    UNRESPONSIVE = "unresponsive"
    VITALS_OVERDUE = "vitals_overdue"


class AlertSeverity(models.TextChoices):
    EMERGENCY = "emergency"
    HIGH = "high"
    MEDIUM = "medium"


class AlertStatus(models.TextChoices):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class Alert(BaseModel):
    session = models.ForeignKey("infusions.InfusionSession", on_delete=models.PROTECT, related_name="alerts")
    vital = models.ForeignKey(VitalSign, on_delete=models.PROTECT, related_name="alerts", null=True, blank=True)
    rule = models.CharField(max_length=16, choices=AlertRule.choices)
    severity = models.CharField(max_length=10, choices=AlertSeverity.choices)
    status = models.CharField(max_length=12, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    message = models.TextField()
    raised_at = models.DateTimeField()
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution_note = models.TextField(blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-raised_at", "-id"]
        indexes = [models.Index(fields=["session", "status"]), models.Index(fields=["status", "severity"])]
        constraints = [
            models.CheckConstraint(condition=Q(rule__in=AlertRule.values), name="alert_rule_valid"),
            models.CheckConstraint(condition=Q(severity__in=AlertSeverity.values), name="alert_severity_valid"),
            models.CheckConstraint(condition=Q(status__in=AlertStatus.values), name="alert_status_valid"),
        ]


# --- Follow-ups (CLINICAL.md §7): reminders that staff are sent, planned from the data. ---


class FollowUpKind(models.TextChoices):
    """CLINICAL.md §7, one value per row of the table."""

    CHECK_IN_CALL = "check_in_call", "Check-in call"
    PRE_SESSION_QUESTIONNAIRE = "pre_session_questionnaire", "Pre-session questionnaire"
    END_OF_INDUCTION_REVIEW = "end_of_induction_review", "End-of-induction review"
    SUICIDE_RISK_REVIEW = "suicide_risk_review", "Suicide-risk review"
    MID_INTERVAL_PHQ9 = "mid_interval_phq9", "Mid-interval PHQ-9"
    BOOSTER_DUE = "booster_due", "Booster due"
    BOOSTER_OVERDUE = "booster_overdue", "Booster overdue"
    SAFETY_SCREEN = "safety_screen", "Safety screen"
    WEIGHT_RECHECK = "weight_recheck", "Weight re-check"
    REMS_FORM = "rems_form", "REMS monitoring form"
    BIENNIAL_INVENTORY = "biennial_inventory", "Controlled-substance biennial inventory"


class FollowUpStatus(models.TextChoices):
    PENDING = "pending"  # waiting for its due time (or for the next tick)
    QUEUED = "queued"  # claimed by a tick, delivery task enqueued (a lease: re-queued if it expires)
    NOTIFIED = "notified"  # the assignees were notified for the current round
    COMPLETED = "completed"
    CANCELLED = "cancelled"


OPEN_FOLLOWUP_STATUSES = (FollowUpStatus.PENDING, FollowUpStatus.QUEUED, FollowUpStatus.NOTIFIED)


class AssigneeRole(models.TextChoices):
    ADMIN = "admin"
    CLINICIAN = "clinician"
    NURSE = "nurse"
    FRONTDESK = "frontdesk"


class FollowUp(BaseModel):
    """A reminder owed to staff. `key` makes planning idempotent (one row per reason).

    `round` counts notification rounds (first notice, escalation, after a snooze or a
    reassignment); a delivery is unique per (follow-up, round, channel, recipient).
    """

    # Not indexed: every dispatch rewrites the row, and each index costs a write.
    created_at = models.DateTimeField(auto_now_add=True)
    kind = models.CharField(max_length=32, choices=FollowUpKind.choices)
    key = models.CharField(max_length=200, unique=True)
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="followups", null=True, blank=True
    )
    site = models.ForeignKey("clinic.Site", on_delete=models.PROTECT, related_name="followups", null=True, blank=True)
    subject_type = models.CharField(max_length=64, blank=True, help_text="app_label.model of the reason")
    subject_id = models.BigIntegerField(null=True, blank=True)
    due_at = models.DateTimeField()
    assignee_role = models.CharField(max_length=16, choices=AssigneeRole.choices)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="followups", null=True, blank=True
    )
    status = models.CharField(max_length=12, choices=FollowUpStatus.choices, default=FollowUpStatus.PENDING)
    note = models.TextField(blank=True)
    round = models.PositiveSmallIntegerField(default=0)
    queued_at = models.DateTimeField(null=True, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)
    escalate_at = models.DateTimeField(null=True, blank=True)
    escalate_role = models.CharField(max_length=16, choices=AssigneeRole.choices, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True, db_index=False
    )
    outcome = models.TextField(blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [
            models.Index(fields=["status", "due_at"], name="followup_status_due"),
            models.Index(fields=["assignee_role", "status"], name="followup_role_status"),
            models.Index(fields=["subject_type", "subject_id"], name="followup_subject"),
            models.Index(
                fields=["escalate_at"],
                name="followup_escalate_pending",
                condition=Q(escalated_at__isnull=True, escalate_at__isnull=False),
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=FollowUpKind.values), name="followup_kind_valid"),
            models.CheckConstraint(condition=Q(status__in=FollowUpStatus.values), name="followup_status_valid"),
            models.CheckConstraint(
                condition=Q(assignee_role__in=AssigneeRole.values), name="followup_assignee_role_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status=FollowUpStatus.COMPLETED) | Q(completed_at__isnull=False),
                name="followup_completed_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} due {self.due_at:%Y-%m-%d %H:%M} ({self.status})"


class FollowUpAction(models.TextChoices):
    CREATED = "created"
    NOTIFIED = "notified"
    ESCALATED = "escalated"
    SNOOZED = "snoozed"
    REASSIGNED = "reassigned"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    RESCHEDULED = "rescheduled"


class FollowUpEvent(AppendOnlyModel):
    """The history of a follow-up (append-only: who did what, with the values before)."""

    # Indexed by `followupevent_followup` (followup, created_at); no index of their own, so
    # the dispatch writes as few index entries as it can.
    followup = models.ForeignKey(FollowUp, on_delete=models.PROTECT, related_name="events", db_index=False)
    created_at = models.DateTimeField(auto_now_add=True)
    action = models.CharField(max_length=12, choices=FollowUpAction.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    reason = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["followup", "created_at"], name="followupevent_followup")]

    def __str__(self) -> str:
        return f"{self.action} follow-up {self.followup_id}"


class FollowUpDelivery(models.Model):
    """One notification sent: unique per (follow-up, round, channel, recipient), written in
    the same transaction as the send, so a retried or redelivered task never sends twice.

    The in-app inbox is the `inbox` channel's rows: each is one entry in the recipient's
    inbox (`read_at` when they opened it), so nothing is written twice for it."""

    # Indexed by the unique constraint (followup, round, channel, recipient).
    followup = models.ForeignKey(FollowUp, on_delete=models.PROTECT, related_name="deliveries", db_index=False)
    round = models.PositiveSmallIntegerField()
    channel = models.CharField(max_length=16)
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", db_index=False)
    sent_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["sent_at", "id"]
        indexes = [
            # The inbox (recipient's rows, newest first); also serves the recipient foreign key.
            models.Index(fields=["recipient", "-sent_at"], name="followupdelivery_recipient")
        ]
        constraints = [
            models.UniqueConstraint(fields=["followup", "round", "channel", "recipient"], name="followupdelivery_once")
        ]

    def __str__(self) -> str:
        return f"{self.channel} to {self.recipient_id} for follow-up {self.followup_id} round {self.round}"


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


class VitalsDueKind(models.TextChoices):
    BASELINE = "baseline"
    RUNNING = "running"
    ESKETAMINE_40_MIN = "esketamine_40_min"
    OBSERVATION = "observation"
    DISCHARGE = "discharge"


class VitalsSchedule(BaseModel):
    """When the session's next vitals set is due (CLINICAL.md §3 schedule), kept current by
    the services on every step and every set. `overdue_alerted_for` is the due time a
    `vitals_overdue` alert was raised for, so the minute scan raises it once."""

    session = models.OneToOneField(
        "infusions.InfusionSession", on_delete=models.CASCADE, related_name="vitals_schedule"
    )
    next_due_at = models.DateTimeField(null=True, blank=True)
    next_kind = models.CharField(max_length=20, choices=VitalsDueKind.choices, blank=True)
    overdue_alerted_for = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["next_due_at"], name="vitalsschedule_due", condition=Q(next_due_at__isnull=False))
        ]


class AlertEscalation(AppendOnlyModel):
    """An unacknowledged alert sent on to a clinician on duty (CLINICAL.md §3 escalation):
    the in-app notice. Written in the same transaction that claims the alert, at most one
    per (alert, recipient)."""

    alert = models.ForeignKey(Alert, on_delete=models.PROTECT, related_name="escalations")
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True)
    escalated_at = models.DateTimeField()
    message = models.TextField()

    class Meta:
        ordering = ["escalated_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["alert", "recipient"], name="alertescalation_once_per_recipient"),
            models.UniqueConstraint(
                fields=["alert"], condition=Q(recipient__isnull=True), name="alertescalation_once_unaddressed"
            ),
        ]


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


# --- Maintenance frequency (CLINICAL.md §6): what the recommender proposed and what a
# clinician decided. ---


class RecommendationStatus(models.TextChoices):
    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    MODIFIED = "modified"
    REJECTED = "rejected"
    SUPERSEDED = "superseded"  # newer scores or sessions made another recommendation


class MaintenanceRecommendation(BaseModel):
    """One answer of the maintenance recommender for a course, kept with its reasoning. A new
    one is stored when the answer changes; the older proposal is then superseded."""

    course = models.ForeignKey(
        "infusions.TreatmentCourse", on_delete=models.PROTECT, related_name="maintenance_recommendations"
    )
    rule = models.CharField(max_length=32)
    rule_number = models.PositiveSmallIntegerField()
    action = models.CharField(max_length=20)
    interval_days = models.PositiveSmallIntegerField(null=True, blank=True)
    next_due = models.DateField(null=True, blank=True)
    needs_clinician = models.BooleanField(default=False)
    automatic_change = models.BooleanField(default=False)
    rationale = models.TextField()
    details = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=12, choices=RecommendationStatus.choices, default=RecommendationStatus.PROPOSED
    )
    fingerprint = models.CharField(max_length=64)
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["-computed_at", "-id"]
        indexes = [models.Index(fields=["course", "-computed_at"], name="maintrec_course_computed")]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=RecommendationStatus.values), name="maintrec_status_valid"),
            models.UniqueConstraint(
                fields=["course"], condition=Q(status="proposed"), name="maintrec_one_proposed_per_course"
            ),
        ]

    def __str__(self) -> str:
        return f"Course {self.course_id}: {self.rule} ({self.status})"


class DecisionKind(models.TextChoices):
    ACCEPTED = "accepted"
    MODIFIED = "modified"
    REJECTED = "rejected"


class MaintenanceDecision(AppendOnlyModel):
    """A clinician's decision on a recommendation: who, when, what, why, and what it booked.
    Append-only (a database trigger refuses UPDATE and DELETE)."""

    recommendation = models.OneToOneField(MaintenanceRecommendation, on_delete=models.PROTECT, related_name="decision")
    course = models.ForeignKey("infusions.TreatmentCourse", on_delete=models.PROTECT, related_name="+")
    decision = models.CharField(max_length=10, choices=DecisionKind.choices)
    action = models.CharField(max_length=20)
    interval_days = models.PositiveSmallIntegerField(null=True, blank=True)
    next_due = models.DateField(null=True, blank=True)
    previous_interval_days = models.PositiveSmallIntegerField(null=True, blank=True)
    phase_before = models.CharField(max_length=16, blank=True)
    phase_after = models.CharField(max_length=16, blank=True)
    reason = models.TextField(blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField()
    appointment = models.ForeignKey(
        "infusions.Appointment", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    followup = models.ForeignKey(FollowUp, on_delete=models.PROTECT, related_name="+", null=True, blank=True)

    class Meta:
        ordering = ["decided_at", "id"]
        indexes = [models.Index(fields=["course", "decided_at"], name="maintdecision_course")]
        constraints = [
            models.CheckConstraint(condition=Q(decision__in=DecisionKind.values), name="maintdecision_kind_valid"),
            models.CheckConstraint(
                condition=Q(decision="accepted") | ~Q(reason=""), name="maintdecision_reason_required"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.decision} recommendation {self.recommendation_id}"


# The audit trail (history of changes, patient access log) lives in its own module.
from monitoring.audit_models import *  # noqa: E402, F403
