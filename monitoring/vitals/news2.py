"""NEWS2, Royal College of Physicians 2017, SpO2 scale 1 (CLINICAL.md §3). Pure.

Not validated under 16 or in pregnancy. Ketamine dissociation is expected: the caller
decides whether consciousness counts (only before start and at discharge).
"""

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class News2:
    score: int
    risk: str  # low, low_medium, medium, high
    parameters: dict[str, int]


def _respiration(rate: int) -> int:
    if rate <= 8:
        return 3
    if rate <= 11:
        return 1
    if rate <= 20:
        return 0
    if rate <= 24:
        return 2
    return 3


def _spo2_scale1(spo2: int) -> int:
    if spo2 <= 91:
        return 3
    if spo2 <= 93:
        return 2
    if spo2 <= 95:
        return 1
    return 0


def _systolic(systolic: int) -> int:
    if systolic <= 90:
        return 3
    if systolic <= 100:
        return 2
    if systolic <= 110:
        return 1
    if systolic <= 219:
        return 0
    return 3


def _pulse(rate: int) -> int:
    if rate <= 40:
        return 3
    if rate <= 50:
        return 1
    if rate <= 90:
        return 0
    if rate <= 110:
        return 1
    if rate <= 130:
        return 2
    return 3


def _temperature(temp: Decimal) -> int:
    if temp <= Decimal("35.0"):
        return 3
    if temp <= Decimal("36.0"):
        return 1
    if temp <= Decimal("38.0"):
        return 0
    if temp <= Decimal("39.0"):
        return 1
    return 2


def news2_score(
    *,
    respiratory_rate: int,
    spo2: int,
    on_oxygen: bool,
    systolic: int,
    heart_rate: int,
    consciousness: str,
    temperature_c: Decimal | None,
    count_consciousness: bool,
    emergency_at: int,
    high_at: int,
) -> News2:
    parameters = {
        "respiratory_rate": _respiration(respiratory_rate),
        "spo2": _spo2_scale1(spo2),
        "air_or_oxygen": 2 if on_oxygen else 0,
        "systolic": _systolic(systolic),
        "heart_rate": _pulse(heart_rate),
        "consciousness": 3 if (count_consciousness and consciousness != "A") else 0,
        "temperature": _temperature(temperature_c) if temperature_c is not None else 0,
    }
    score = sum(parameters.values())
    if score >= emergency_at:
        risk = "high"
    elif score >= high_at:
        risk = "medium"
    elif any(points == 3 for points in parameters.values()):
        risk = "low_medium"
    else:
        risk = "low"
    return News2(score=score, risk=risk, parameters=parameters)
