"""The dose calculator (CLINICAL.md §1). Pure: no database, no clock.

Every figure (total mg, mg/h, mL, mL/h) is computed from the exact, unrounded inputs and
rounded once, half-up, to 0.1 at the end; a rounded figure is never fed into another.
Refusals raise `DoseRefused` with the rule's name; a dose outside the soft range is not a
refusal but is reported so that the service can ask for a clinician's approval.
"""

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

MG_PER_KG = "mg_per_kg"
MG_PER_KG_PER_H = "mg_per_kg_per_h"
MG_PER_H = "mg_per_h"
FIXED_MG = "fixed_mg"
WEIGHT_MODES = (MG_PER_KG, MG_PER_KG_PER_H)
TENTH = Decimal("0.1")
SIXTY = Decimal(60)


class DoseRefused(Exception):
    def __init__(self, message: str, *, rule: str) -> None:
        super().__init__(message)
        self.message = message
        self.rule = rule


@dataclass(frozen=True)
class DoseLimits:
    dosing_mode: str
    unit: str
    soft_min: Decimal
    soft_max: Decimal
    hard_max: Decimal
    max_total_mg: Decimal | None
    dose_step_mg: Decimal | None
    duration_minutes: int | None
    infused: bool
    max_iv_concentration_mg_per_ml: Decimal


@dataclass(frozen=True)
class DoseResult:
    dose: Decimal
    unit: str
    weight_kg: Decimal | None
    concentration_mg_per_ml: Decimal | None
    total_dose_mg: Decimal
    rate_mg_per_h: Decimal | None
    volume_ml: Decimal | None
    rate_ml_per_h: Decimal | None
    devices: int | None
    outside_soft_range: bool
    warnings: list[str] = field(default_factory=list)


def round_tenth(value: Decimal) -> Decimal:
    """Half-up to 0.1, once, at the end (CLINICAL.md §1)."""
    return value.quantize(TENTH, rounding=ROUND_HALF_UP)


def dose_calculate(
    *,
    limits: DoseLimits,
    dose: Decimal,
    weight_kg: Decimal | None,
    concentration_mg_per_ml: Decimal | None,
) -> DoseResult:
    if dose <= 0:
        raise DoseRefused("The dose must be above zero.", rule="dose_not_positive")
    if dose > limits.hard_max:
        raise DoseRefused(
            f"{dose} {limits.unit} is above the protocol's hard maximum of "
            f"{limits.hard_max} {limits.unit}; nobody can approve it.",
            rule="dose_above_hard_max",
        )
    needs_weight = limits.dosing_mode in WEIGHT_MODES
    if needs_weight and weight_kg is None:
        raise DoseRefused("A weight is needed for a weight-based dose.", rule="weight_missing")
    if limits.dose_step_mg is not None and limits.dosing_mode == FIXED_MG and dose % limits.dose_step_mg != 0:
        raise DoseRefused(f"This drug is given in steps of {limits.dose_step_mg} mg.", rule="dose_step")
    hours = Decimal(limits.duration_minutes) / SIXTY if limits.duration_minutes else None
    if limits.dosing_mode in (MG_PER_KG_PER_H, MG_PER_H) and hours is None:
        raise DoseRefused("An hourly rate needs a protocol duration.", rule="protocol_duration_missing")

    # Exact (unrounded) mg figures.
    mass = weight_kg if needs_weight else Decimal(1)
    assert mass is not None  # noqa: S101 (narrowed above)
    if limits.dosing_mode == MG_PER_KG:
        total = dose * mass
        rate = total / hours if hours else None
    elif limits.dosing_mode == MG_PER_KG_PER_H:
        rate = dose * mass
        total = rate * hours  # type: ignore[operator]
    elif limits.dosing_mode == MG_PER_H:
        rate = dose
        total = rate * hours  # type: ignore[operator]
    else:
        total = dose
        rate = total / hours if hours else None

    if limits.max_total_mg is not None and total > limits.max_total_mg:
        raise DoseRefused(
            f"The total of {round_tenth(total)} mg is above the protocol's cap of {limits.max_total_mg} mg.",
            rule="total_above_cap",
        )

    if not limits.infused:
        rate = None
    if concentration_mg_per_ml is not None:
        if concentration_mg_per_ml <= 0:
            raise DoseRefused("The concentration must be above zero.", rule="concentration_invalid")
        if limits.infused and concentration_mg_per_ml > limits.max_iv_concentration_mg_per_ml:
            raise DoseRefused(
                f"Ketamine is never given IV above {limits.max_iv_concentration_mg_per_ml} mg/mL; dilute the bag.",
                rule="iv_concentration_above_max",
            )
    volume = total / concentration_mg_per_ml if concentration_mg_per_ml else None
    rate_ml = rate / concentration_mg_per_ml if (rate is not None and concentration_mg_per_ml) else None
    devices = None
    if limits.dose_step_mg is not None and limits.dosing_mode == FIXED_MG:
        devices = int(total / limits.dose_step_mg)

    return DoseResult(
        dose=dose,
        unit=limits.unit,
        weight_kg=weight_kg if needs_weight else None,
        concentration_mg_per_ml=concentration_mg_per_ml,
        total_dose_mg=round_tenth(total),
        rate_mg_per_h=round_tenth(rate) if rate is not None else None,
        volume_ml=round_tenth(volume) if volume is not None else None,
        rate_ml_per_h=round_tenth(rate_ml) if rate_ml is not None else None,
        devices=devices,
        outside_soft_range=not (limits.soft_min <= dose <= limits.soft_max),
    )
