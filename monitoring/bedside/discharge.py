"""Discharge readiness (CLINICAL.md §4). Pure: the caller passes the session's rows.

Ready when all hold: the protocol's observation time has passed since the end of dosing; the
last set (a discharge set, taken once that time has passed: CLINICAL.md §3 "one before
discharge") has systolic and heart rate within 20 % of baseline and SpO2 >= 92 (Modified
Aldrete circulation and SpO2 items; PADSS >= 9); no unresolved high or emergency alert; an
escort is recorded (no driving until the next day: Spravato label). For esketamine the REMS
monitoring form must be complete before the session is signed.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from clinic.policy import ClinicalPolicy
from monitoring.vitals.schedule import observation_ends_at

SEVERE = ("high", "emergency")
UNRESOLVED = ("open", "acknowledged")


@dataclass(frozen=True)
class Unmet:
    rule: str
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"rule": self.rule, "detail": self.detail}


def _rule_name(alert: Any) -> str:
    display = getattr(alert, "get_rule_display", None)
    return str(display() if display else alert.rule)


def within_percent(value: int, baseline: int, percent: int) -> bool:
    """|value - baseline| <= percent % of baseline, in integers (no rounding)."""
    return abs(value - baseline) * 100 <= baseline * percent


def discharge_unmet(
    *,
    now: datetime,
    dosing_ended_at: datetime | None,
    observation_minutes: int,
    baseline: Any | None,
    last: Any | None,
    alerts: Iterable[Any],
    escort_recorded: bool,
    policy: ClinicalPolicy,
    rems_missing: Sequence[str] | None = None,
    tz: tzinfo | None = None,
) -> list[Unmet]:
    """Everything that stands between the patient and discharge (empty: ready).

    `baseline` and `last` are vitals sets (objects with systolic, heart_rate, spo2, phase,
    recorded_at); `alerts` the session's alerts (rule, severity, status, and their display
    names). Times are written in `tz`, the site's (local, readable: "ends at 14:05").
    """
    unmet: list[Unmet] = []
    if dosing_ended_at is None:
        unmet.append(Unmet("dosing_not_ended", "Dosing has not ended."))
    else:
        ends = observation_ends_at(dosing_ended_at, observation_minutes)
        if now < ends:
            left = int((ends - now).total_seconds() // 60) + (1 if (ends - now).total_seconds() % 60 else 0)
            unmet.append(
                Unmet(
                    "observation_time",
                    f"Observation of {observation_minutes} min ends at {ends.astimezone(tz):%H:%M} ({left} min left).",
                )
            )
    if baseline is None:
        unmet.append(Unmet("baseline_missing", "No baseline vitals set is on record."))
    if last is None or last.phase != "discharge":
        unmet.append(
            Unmet("discharge_vitals_missing", "Record a discharge vitals set once the observation time has passed.")
        )
    if last is not None and baseline is not None:
        pct = policy.discharge_within_baseline_percent
        if not within_percent(last.systolic, baseline.systolic, pct):
            unmet.append(
                Unmet(
                    "systolic_not_near_baseline",
                    f"Systolic {last.systolic} is not within {pct} % of baseline {baseline.systolic}.",
                )
            )
        if not within_percent(last.heart_rate, baseline.heart_rate, pct):
            unmet.append(
                Unmet(
                    "heart_rate_not_near_baseline",
                    f"Heart rate {last.heart_rate} is not within {pct} % of baseline {baseline.heart_rate}.",
                )
            )
    if last is not None and last.spo2 < policy.discharge_spo2_min:
        unmet.append(Unmet("spo2_low", f"SpO2 {last.spo2} % is below {policy.discharge_spo2_min} %."))
    severe = [a for a in alerts if a.severity in SEVERE and a.status in UNRESOLVED]
    if severe:
        names = "; ".join(f"{_rule_name(a)} ({a.severity}, {a.status})" for a in severe)
        unmet.append(Unmet("alerts_unresolved", f"Resolve the high or emergency alerts first: {names}."))
    if not escort_recorded:
        unmet.append(Unmet("escort_missing", "No escort is recorded; the patient may not drive home."))
    if rems_missing:
        unmet.append(Unmet("rems_form_incomplete", "The REMS monitoring form lacks: " + ", ".join(rems_missing) + "."))
    return unmet
