"""Maintenance recommendations and the clinician's decisions on them (append-only)."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from clinic.core.models import AppendOnlyModel, BaseModel
from monitoring.followups.models import FollowUp
from monitoring.outcomes.recommender import DecisionKind

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
