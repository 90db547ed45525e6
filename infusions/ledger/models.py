"""The controlled-substance ledger (CLINICAL.md §8): ketamine and esketamine are Schedule III.

Every table here is append-only (a database trigger refuses UPDATE and DELETE); a mistake is
corrected by a reversing entry. Records are kept at least 2 years (21 CFR 1304.04): nothing
in the code deletes them. Imported by `infusions.models` so Django registers the models.

Amounts are milligrams of drug (Decimal, 3 places). Each entry stores its signed effect on
the container's stock (`stock_change_mg`) and on its session's drawn-but-unaccounted amount
(`session_change_mg`), so a balance is one SUM and a reversal is the same row negated.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q

from clinic.core.models import AppendOnlyModel

# NDC: 10 digits in a 4-4-2, 5-3-2 or 5-4-1 grouping, or the 11-digit 5-4-2 billing form.
NDC_VALIDATOR = RegexValidator(
    r"^(\d{4}-\d{4}-\d{2}|\d{5}-\d{3}-\d{2}|\d{5}-\d{4}-\d{1,2})$",
    "An NDC such as 0409-2051-05 (4-4-2, 5-3-2, 5-4-1 or 5-4-2 digits).",
)


class LedgerDrug(models.TextChoices):
    KETAMINE = "ketamine"
    ESKETAMINE = "esketamine"


class ContainerKind(models.TextChoices):
    VIAL = "vial"
    DEVICE = "device", "Nasal spray device"


class ControlledContainer(AppendOnlyModel):
    """One vial or device, from its receipt on. Its balance is the sum of its entries."""

    site = models.ForeignKey("clinic.Site", on_delete=models.PROTECT, related_name="controlled_containers")
    drug = models.CharField(max_length=16, choices=LedgerDrug.choices)
    kind = models.CharField(max_length=8, choices=ContainerKind.choices, default=ContainerKind.VIAL)
    ndc = models.CharField("NDC", max_length=13, validators=[NDC_VALIDATOR])
    lot = models.CharField(max_length=40)
    expires_on = models.DateField()
    strength_mg_per_ml = models.DecimalField(
        max_digits=8, decimal_places=3, validators=[MinValueValidator(Decimal("0.001"))]
    )
    volume_ml = models.DecimalField(max_digits=8, decimal_places=3, validators=[MinValueValidator(Decimal("0.001"))])
    received_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["expires_on", "id"]
        indexes = [models.Index(fields=["site", "drug"])]
        constraints = [
            models.CheckConstraint(condition=Q(strength_mg_per_ml__gt=0), name="ledger_container_strength_positive"),
            models.CheckConstraint(condition=Q(volume_ml__gt=0), name="ledger_container_volume_positive"),
            models.CheckConstraint(condition=Q(drug__in=LedgerDrug.values), name="ledger_container_drug_valid"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.drug} {self.strength_mg_per_ml} mg/mL x {self.volume_ml} mL lot {self.lot}"

    @property
    def content_mg(self) -> Decimal:
        return (self.strength_mg_per_ml * self.volume_ml).quantize(Decimal("0.001"))


class EntryKind(models.TextChoices):
    RECEIVE = "receive"
    OPEN = "open", "Opened for a session"
    ADMINISTER = "administer"
    WASTE = "waste"
    DESTROY = "destroy"
    TRANSFER_OUT = "transfer_out", "Transfer out"
    LOSS = "loss", "Loss or theft"
    COUNT = "count"
    ADJUSTMENT = "adjustment"


class LossKind(models.TextChoices):
    LOSS = "loss"
    THEFT = "theft"


class CountKind(models.TextChoices):
    INITIAL = "initial"
    BIENNIAL = "biennial"
    OTHER = "other", "Other (spot check)"


class CountMethod(models.TextChoices):
    EXACT = "exact"
    ESTIMATED = "estimated"


class LedgerEntry(AppendOnlyModel):
    """One movement of drug (or one count). Never changed: `reverses` names the entry a
    correction cancels, with a reason; the original stays as it was."""

    container = models.ForeignKey(ControlledContainer, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(max_length=14, choices=EntryKind.choices)
    amount_mg = models.DecimalField(max_digits=10, decimal_places=3, validators=[MinValueValidator(Decimal("0"))])
    stock_change_mg = models.DecimalField(max_digits=11, decimal_places=3)
    session_change_mg = models.DecimalField(max_digits=11, decimal_places=3, default=Decimal("0"))
    session = models.ForeignKey(
        "infusions.InfusionSession", on_delete=models.PROTECT, related_name="ledger_entries", null=True, blank=True
    )
    occurred_at = models.DateTimeField()
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    witness = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    second_witness = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    reverses = models.OneToOneField("self", on_delete=models.PROTECT, related_name="reversed_by", null=True, blank=True)
    reason = models.TextField(blank=True)
    # receive
    supplier = models.CharField(max_length=120, blank=True)
    supplier_dea_number = models.CharField("supplier DEA number", max_length=9, blank=True)
    invoice_number = models.CharField(max_length=60, blank=True)
    # transfer out
    recipient = models.CharField(max_length=120, blank=True)
    recipient_dea_number = models.CharField("recipient DEA number", max_length=9, blank=True)
    # loss or theft (DEA notice within 1 business day, Form 106 within 45 days)
    loss_kind = models.CharField(max_length=8, choices=LossKind.choices, blank=True)
    # count (initial, biennial; estimated or exact)
    count_kind = models.CharField(max_length=10, choices=CountKind.choices, blank=True)
    count_method = models.CharField(max_length=10, choices=CountMethod.choices, blank=True)
    expected_mg = models.DecimalField(max_digits=11, decimal_places=3, null=True, blank=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        verbose_name_plural = "ledger entries"
        indexes = [
            models.Index(fields=["container", "occurred_at"]),
            models.Index(fields=["session", "kind"]),
            models.Index(fields=["kind", "occurred_at"]),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=EntryKind.values), name="ledger_entry_kind_valid"),
            models.CheckConstraint(condition=Q(amount_mg__gte=0), name="ledger_entry_amount_nonnegative"),
            models.CheckConstraint(
                condition=Q(witness__isnull=True) | ~Q(witness=F("recorded_by")),
                name="ledger_witness_not_recorder",
            ),
            models.CheckConstraint(
                condition=Q(second_witness__isnull=True)
                | (~Q(second_witness=F("recorded_by")) & ~Q(second_witness=F("witness"))),
                name="ledger_second_witness_distinct",
            ),
            models.CheckConstraint(
                condition=~Q(kind="waste") | Q(reverses__isnull=False) | Q(witness__isnull=False),
                name="ledger_waste_witnessed",
            ),
            models.CheckConstraint(
                condition=~Q(kind="destroy")
                | Q(reverses__isnull=False)
                | (Q(witness__isnull=False) & Q(second_witness__isnull=False)),
                name="ledger_destroy_two_witnesses",
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=["open", "administer", "waste"]) | Q(session__isnull=False),
                name="ledger_session_entry_has_session",
            ),
            models.CheckConstraint(
                condition=Q(reverses__isnull=True) | ~Q(reason=""),
                name="ledger_reversal_has_reason",
            ),
        ]

    def __str__(self) -> str:
        prefix = "reversal of " if self.reverses_id else ""
        return f"{prefix}{self.kind} {self.amount_mg} mg, container #{self.container_id}"

    @property
    def amount_ml(self) -> Decimal:
        return (self.amount_mg / self.container.strength_mg_per_ml).quantize(Decimal("0.001"))


class ReconciliationStatus(models.TextChoices):
    BALANCED = "balanced"
    DISCREPANCY = "discrepancy"
    # A discrepancy that cannot be balanced by entries, accepted by a clinician before a
    # witness with an explanation; it stands while the session's numbers stay as they were.
    RESOLVED = "resolved"


class LedgerReconciliation(AppendOnlyModel):
    """A session's account: opened − administered − wasted (− lost) = 0, else a discrepancy.

    A session's ledger state is its latest reconciliation: a discrepancy stays open until a
    later reconciliation of the same session balances, with a note saying how it was resolved.
    """

    session = models.ForeignKey(
        "infusions.InfusionSession", on_delete=models.PROTECT, related_name="ledger_reconciliations"
    )
    opened_mg = models.DecimalField(max_digits=11, decimal_places=3)
    administered_mg = models.DecimalField(max_digits=11, decimal_places=3)
    wasted_mg = models.DecimalField(max_digits=11, decimal_places=3)
    lost_mg = models.DecimalField(max_digits=11, decimal_places=3, default=Decimal("0"))
    difference_mg = models.DecimalField(max_digits=11, decimal_places=3)
    charted_dose_mg = models.DecimalField(max_digits=9, decimal_places=1, null=True, blank=True)
    status = models.CharField(max_length=12, choices=ReconciliationStatus.choices)
    reasons = models.JSONField(default=list, blank=True)
    reconciled_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    witness = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    note = models.TextField(blank=True)
    resolves = models.ForeignKey("self", on_delete=models.PROTECT, related_name="resolutions", null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["session", "-created_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=ReconciliationStatus.values), name="ledger_reconciliation_status_valid"
            ),
            models.CheckConstraint(condition=Q(resolves__isnull=True) | ~Q(note=""), name="ledger_resolution_has_note"),
            models.CheckConstraint(
                condition=~Q(status="resolved") | (Q(witness__isnull=False) & ~Q(witness=F("reconciled_by"))),
                name="ledger_resolved_witnessed",
            ),
        ]

    def __str__(self) -> str:
        return f"Session {self.session_id}: {self.status} ({self.difference_mg} mg)"
