from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from clinic.core.models import AppendOnlyModel, BaseModel


class Sex(models.TextChoices):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"


class Patient(BaseModel):
    mrn = models.CharField("MRN", max_length=32, unique=True)
    given_name = models.CharField(max_length=80)
    family_name = models.CharField(max_length=80)
    birth_date = models.DateField()
    sex = models.CharField(max_length=8, choices=Sex.choices)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=32, blank=True)
    site = models.ForeignKey("clinic.Site", on_delete=models.PROTECT, related_name="patients", null=True, blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="patient",
        null=True,
        blank=True,
        help_text="The portal login, when the patient has one.",
    )

    class Meta:
        ordering = ["family_name", "given_name", "id"]
        indexes = [models.Index(fields=["family_name", "given_name"])]
        constraints = [models.CheckConstraint(condition=models.Q(sex__in=Sex.values), name="patient_sex_valid")]

    def __str__(self) -> str:
        return f"{self.family_name}, {self.given_name} ({self.mrn})"


class BodyMeasurement(AppendOnlyModel):
    """Weight history; the dose uses the latest (CLINICAL.md §1). Never edited."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="measurements")
    weight_kg = models.DecimalField(
        max_digits=5,
        decimal_places=1,
        validators=[MinValueValidator(Decimal("2.0")), MaxValueValidator(Decimal("400.0"))],
    )
    height_cm = models.DecimalField(
        max_digits=4,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("40.0")), MaxValueValidator(Decimal("250.0"))],
    )
    measured_at = models.DateTimeField()
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    change_confirmed = models.BooleanField(
        default=False, help_text="A change beyond the site's threshold was confirmed."
    )

    class Meta:
        ordering = ["-measured_at", "-id"]
        indexes = [models.Index(fields=["patient", "-measured_at"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(weight_kg__gte=2) & models.Q(weight_kg__lte=400),
                name="measurement_weight_range",
            )
        ]


class ScreeningOutcome(models.TextChoices):
    CLEAR = "clear"
    RELATIVE = "relative"
    ABSOLUTE = "absolute"


class Screening(AppendOnlyModel):
    """Contraindication screening (CLINICAL.md §2). A new screening with different answers
    voids the previous one; validity is computed, never edited in place."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="screenings")
    answers = models.JSONField()
    outcome = models.CharField(max_length=10, choices=ScreeningOutcome.choices)
    reasons = models.JSONField(default=list, blank=True)
    medication_flags = models.JSONField(default=list, blank=True)
    screened_at = models.DateTimeField()
    valid_until = models.DateTimeField()
    screened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-screened_at", "-id"]
        indexes = [models.Index(fields=["patient", "-screened_at"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(outcome__in=ScreeningOutcome.values),
                name="screening_outcome_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(valid_until__gt=models.F("screened_at")),
                name="screening_validity_order",
            ),
        ]


class AssessmentInstrument(models.TextChoices):
    PHQ9 = "PHQ9", "PHQ-9"
    GAD7 = "GAD7", "GAD-7"
    MADRS = "MADRS", "MADRS"
    PAIN_NRS = "PAIN_NRS", "Pain NRS"


class AssessmentSource(models.TextChoices):
    STAFF = "staff"
    PATIENT = "patient"  # the patient through the portal


class Assessment(AppendOnlyModel):
    """An outcome questionnaire (CLINICAL.md §5). The items are stored; total, severity band
    and flags are computed by the service from them, never sent by a client. Append-only
    (a database trigger refuses UPDATE and DELETE)."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="assessments")
    instrument = models.CharField(max_length=10, choices=AssessmentInstrument.choices)
    items = models.JSONField(help_text="Item scores, item 1 first.")
    total = models.PositiveSmallIntegerField()
    severity = models.CharField(max_length=20, null=True, blank=True, help_text="Band; none for pain NRS.")
    flags = models.JSONField(default=list, blank=True)
    administered_at = models.DateTimeField()
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    source = models.CharField(max_length=8, choices=AssessmentSource.choices)

    class Meta:
        ordering = ["-administered_at", "-id"]
        indexes = [models.Index(fields=["patient", "instrument", "-administered_at"], name="assessment_patient_instr")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(instrument__in=AssessmentInstrument.values), name="assessment_instrument_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(source__in=AssessmentSource.values), name="assessment_source_valid"
            ),
            models.CheckConstraint(condition=models.Q(total__lte=60), name="assessment_total_range"),
        ]

    def __str__(self) -> str:
        return f"{self.instrument} {self.total} ({self.administered_at:%Y-%m-%d})"
