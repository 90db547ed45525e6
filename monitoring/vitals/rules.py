"""Vitals validation, NEWS2 and the per-set alert rules (CLINICAL.md §3). Pure functions:
`vitals_record` and the demo's back-dated history both build a set with `vitals_draft`."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from clinic.policy import ClinicalPolicy
from monitoring.vitals.news2 import News2, news2_score

REQUIRED = ("systolic", "diastolic", "heart_rate", "spo2", "respiratory_rate")
VITAL_FIELDS = (*REQUIRED, "temperature_c", "consciousness", "on_oxygen", "moaas")
# NEWS2 consciousness counts only before start and at discharge (CLINICAL.md §3: ketamine
# dissociation is expected during the infusion and observation).
CONSCIOUSNESS_PHASES = ("baseline", "discharge")


def vitals_validate(values: dict[str, Any], *, policy: ClinicalPolicy, now: datetime) -> dict[str, str]:
    """Physiologically impossible values, one message per field (400, field named)."""
    errors: dict[str, str] = {}
    ranges = {
        "systolic": (policy.systolic_min, policy.systolic_max, "mmHg"),
        "diastolic": (policy.diastolic_min, policy.diastolic_max, "mmHg"),
        "heart_rate": (policy.heart_rate_min, policy.heart_rate_max, "/min"),
        "spo2": (policy.spo2_min, policy.spo2_max, "%"),
        "respiratory_rate": (policy.respiratory_rate_min, policy.respiratory_rate_max, "/min"),
    }
    for name, (low, high, unit) in ranges.items():
        value = values.get(name)
        if value is None:
            errors[name] = "This field is required."
        elif not low <= value <= high:
            errors[name] = f"{value} {unit} is impossible; expected {low}-{high} {unit}."
    temp = values.get("temperature_c")
    if temp is not None:
        t_low, t_high = Decimal(policy.temperature_min_c), Decimal(policy.temperature_max_c)
        if not t_low <= Decimal(temp) <= t_high:
            errors["temperature_c"] = f"{temp} °C is impossible; expected {t_low}-{t_high} °C."
    systolic, diastolic = values.get("systolic"), values.get("diastolic")
    if (
        "systolic" not in errors
        and "diastolic" not in errors
        and systolic is not None
        and diastolic is not None
        and diastolic >= systolic
    ):
        errors["diastolic"] = f"Diastolic {diastolic} must be below systolic {systolic}."
    moaas = values.get("moaas")
    if moaas is not None and not 0 <= moaas <= 5:
        errors["moaas"] = "MOAA/S is scored 0-5."
    recorded_at = values.get("recorded_at")
    if recorded_at is not None and recorded_at > now + timedelta(minutes=policy.vitals_future_minutes):
        errors["recorded_at"] = f"More than {policy.vitals_future_minutes} minutes in the future."
    return errors


@dataclass(frozen=True)
class AlertDraft:
    rule: str
    severity: str
    message: str


def vitals_alerts(
    *,
    values: dict[str, Any],
    phase: str,
    baseline: dict[str, Any] | None,
    news2: News2,
    policy: ClinicalPolicy,
) -> list[AlertDraft]:
    """The alerts one set raises (CLINICAL.md §3, each rule with its source)."""
    sys_, dia = values["systolic"], values["diastolic"]
    drafts: list[AlertDraft] = []
    # Spravato label: before start, BP > 140/90 needs a prescriber's acknowledgement.
    if phase == "baseline" and (sys_ > policy.predose_systolic_above or dia > policy.predose_diastolic_above):
        drafts.append(
            AlertDraft(
                "predose_bp",
                "high",
                f"Pre-dose BP {sys_}/{dia} is above {policy.predose_systolic_above}/"
                f"{policy.predose_diastolic_above}: a prescriber must acknowledge before start.",
            )
        )
    # Del Sant 2020: >= 180/110, pause and re-measure.
    if sys_ >= policy.bp_high_systolic or dia >= policy.bp_high_diastolic:
        drafts.append(
            AlertDraft(
                "bp_high",
                "high",
                f"BP {sys_}/{dia} is at or above {policy.bp_high_systolic}/"
                f"{policy.bp_high_diastolic}: pause the infusion and re-measure.",
            )
        )
    # Spravato label: a rise of >= 40 systolic or >= 25 diastolic from baseline.
    if baseline is not None and phase != "baseline":
        rise_s = sys_ - baseline["systolic"]
        rise_d = dia - baseline["diastolic"]
        if rise_s >= policy.bp_rise_systolic or rise_d >= policy.bp_rise_diastolic:
            drafts.append(
                AlertDraft(
                    "bp_rise",
                    "medium",
                    f"BP rose {rise_s:+d}/{rise_d:+d} mmHg from baseline "
                    f"{baseline['systolic']}/{baseline['diastolic']}.",
                )
            )
    # Modified Aldrete; NEWS2 scale 1 scores <= 91 as 3.
    if values["spo2"] < policy.spo2_low_below:
        drafts.append(AlertDraft("spo2_low", "high", f"SpO2 {values['spo2']} % is below {policy.spo2_low_below} %."))
    # NEWS2 (RCP 2017): >= 7 emergency; 5-6 high; any single parameter 3 medium.
    if news2.score >= policy.news2_emergency_at:
        drafts.append(AlertDraft("news2", "emergency", f"NEWS2 {news2.score}: emergency response."))
    elif news2.score >= policy.news2_high_at:
        drafts.append(AlertDraft("news2", "high", f"NEWS2 {news2.score}: urgent review."))
    elif any(points == 3 for points in news2.parameters.values()):
        worst = [name for name, points in news2.parameters.items() if points == 3]
        drafts.append(
            AlertDraft("news2", "medium", f"NEWS2 {news2.score} with a single red score ({', '.join(worst)}).")
        )
    # MOAA/S 0 or ACVPU "U": unresponsive.
    if values.get("moaas") == 0 or values.get("consciousness") == "U":
        drafts.append(AlertDraft("unresponsive", "emergency", "Patient unresponsive (MOAA/S 0 or ACVPU U)."))
    return drafts


@dataclass(frozen=True)
class VitalsDraft:
    """One set as it will be stored: its values, its NEWS2 and the alerts it raises."""

    values: dict[str, Any]
    news2: News2
    alerts: list[AlertDraft]


def vitals_draft(
    row: dict[str, Any], *, phase: str, baseline: dict[str, Any] | None, policy: ClinicalPolicy
) -> VitalsDraft:
    """A validated row (see `vitals_validate`) scored and judged: NEWS2 (consciousness counted
    only in CONSCIOUSNESS_PHASES) and the alerts of CLINICAL.md §3. `baseline`: the systolic,
    diastolic and heart rate of the session's baseline set, if any."""
    values: dict[str, Any] = {name: row.get(name) for name in VITAL_FIELDS}
    values["consciousness"] = values["consciousness"] or "A"
    values["on_oxygen"] = bool(values["on_oxygen"])
    score = news2_score(
        respiratory_rate=values["respiratory_rate"],
        spo2=values["spo2"],
        on_oxygen=values["on_oxygen"],
        systolic=values["systolic"],
        heart_rate=values["heart_rate"],
        consciousness=values["consciousness"],
        temperature_c=values["temperature_c"],
        count_consciousness=phase in CONSCIOUSNESS_PHASES,
        emergency_at=policy.news2_emergency_at,
        high_at=policy.news2_high_at,
    )
    alerts = vitals_alerts(values=values, phase=phase, baseline=baseline, news2=score, policy=policy)
    return VitalsDraft(values=values, news2=score, alerts=alerts)


def baseline_values(values: Any) -> dict[str, Any] | None:
    """What the rise-from-baseline rule compares with: a set's (an object or a dict) systolic,
    diastolic and heart rate."""
    if values is None:
        return None
    get = values.get if isinstance(values, dict) else lambda name: getattr(values, name)
    return {"systolic": get("systolic"), "diastolic": get("diastolic"), "heart_rate": get("heart_rate")}
