"""The protocol library (CLINICAL.md §1): drug, route, dosing mode, limits, durations."""

from decimal import Decimal
from typing import Any

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q

from clinic.core.models import BaseModel


class Drug(models.TextChoices):
    KETAMINE = "ketamine"
    ESKETAMINE = "esketamine"


class Route(models.TextChoices):
    IV = "iv", "Intravenous"
    IM = "im", "Intramuscular"
    INTRANASAL = "intranasal", "Intranasal"
    ORAL = "oral", "Oral"


class DosingMode(models.TextChoices):
    MG_PER_KG = "mg_per_kg", "mg/kg over the duration"
    MG_PER_KG_PER_H = "mg_per_kg_per_h", "mg/kg/h"
    MG_PER_H = "mg_per_h", "mg/h"
    FIXED_MG = "fixed_mg", "fixed mg"


DOSE_UNITS = {
    DosingMode.MG_PER_KG: "mg/kg",
    DosingMode.MG_PER_KG_PER_H: "mg/kg/h",
    DosingMode.MG_PER_H: "mg/h",
    DosingMode.FIXED_MG: "mg",
}


class EvidenceGrade(models.TextChoices):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


def _dose_field(**kwargs: Any) -> models.DecimalField:
    return models.DecimalField(max_digits=8, decimal_places=3, validators=[MinValueValidator(Decimal("0"))], **kwargs)


class Protocol(BaseModel):
    """The drug library (CLINICAL.md §1). Dose figures are in the unit of `dosing_mode`."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=120)
    drug = models.CharField(max_length=16, choices=Drug.choices)
    route = models.CharField(max_length=16, choices=Route.choices)
    dosing_mode = models.CharField(max_length=16, choices=DosingMode.choices)
    default_dose = _dose_field()
    soft_min = _dose_field()
    soft_max = _dose_field()
    hard_max = _dose_field()
    max_total_mg = _dose_field(null=True, blank=True, help_text="Total cap per session, mg.")
    dose_step_mg = _dose_field(null=True, blank=True, help_text="Doses move in steps of this many mg (esketamine: 28).")
    default_concentration_mg_per_ml = _dose_field(null=True, blank=True)
    duration_minutes = models.PositiveIntegerField(
        null=True, blank=True, help_text="Dosing time; empty for oral doses."
    )
    observation_minutes = models.PositiveIntegerField(default=0)
    induction_sessions = models.PositiveSmallIntegerField(default=1)
    induction_sessions_per_week = models.PositiveSmallIntegerField(default=1)
    schedule = models.TextField(blank=True)
    evidence_grade = models.CharField(max_length=8, choices=EvidenceGrade.choices)
    evidence = models.TextField(blank=True)
    preparation_instructions = models.TextField(blank=True)
    # Structured preparation shown to the patient with each appointment (CLINICAL.md §2/§4;
    # fasting per protocol: IV/IM 4 h [U], esketamine 2 h (Spravato label)).
    fasting_hours = models.PositiveSmallIntegerField(default=0)
    arrive_minutes_early = models.PositiveSmallIntegerField(default=15)  # [U]
    escort_required = models.BooleanField(default=True)  # CLINICAL.md §4: an escort is recorded
    no_driving_until_next_day = models.BooleanField(default=True)  # Spravato label
    # Maintenance frequency, treat-and-extend (CLINICAL.md §6).
    min_interval_days = models.PositiveSmallIntegerField(default=7)
    extend_step_days = models.PositiveSmallIntegerField(default=7)
    max_interval_days = models.PositiveSmallIntegerField(default=112)
    exit_after_stable_at_max = models.PositiveSmallIntegerField(default=3)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(soft_min__lte=F("default_dose"))
                & Q(default_dose__lte=F("soft_max"))
                & Q(soft_max__lte=F("hard_max")),
                name="protocol_dose_order",
            ),
            models.CheckConstraint(condition=Q(soft_min__gt=0), name="protocol_dose_positive"),
            models.CheckConstraint(condition=Q(dosing_mode__in=DosingMode.values), name="protocol_mode_valid"),
            models.CheckConstraint(
                condition=Q(min_interval_days__lte=F("max_interval_days")),
                name="protocol_interval_order",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code}: {self.name}"

    @property
    def unit(self) -> str:
        return DOSE_UNITS[DosingMode(self.dosing_mode)]

    @property
    def is_infused(self) -> bool:
        return self.route == Route.IV
