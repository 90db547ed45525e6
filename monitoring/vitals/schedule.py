"""The vitals schedule of a session (CLINICAL.md §3 schedule). Pure functions.

- a baseline set before start (no clock: start is refused without one);
- every `vitals_every_running_minutes` (10, Yale 2024) while the infusion runs or is paused;
- for esketamine, a set `esketamine_check_after_dose_minutes` (40, Spravato label) after dosing
  began;
- every `vitals_every_observation_minutes` (15 [U]) during observation;
- a discharge set once the protocol's observation time has passed since the end of dosing.

A set is overdue `vitals_overdue_grace_minutes` (5 [U]) after its due time.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from clinic.policy import ClinicalPolicy

RUNNING_STATUSES = ("running", "paused")
OBSERVATION_STATUSES = ("completed", "stopped")
BEFORE_START_STATUSES = ("planned", "prechecked")


@dataclass(frozen=True)
class VitalsDue:
    kind: str  # baseline, running, esketamine_40_min, observation, discharge
    at: datetime | None  # None: due before start, no clock


@dataclass(frozen=True)
class ScheduleFacts:
    """What the schedule depends on; everything comes from the session's own rows."""

    status: str
    is_esketamine: bool
    observation_minutes: int
    started_at: datetime | None
    dosing_ended_at: datetime | None
    last_set_at: datetime | None  # the latest set of any phase (superseded rows excluded)
    has_baseline: bool
    has_set_after_esketamine_check: bool  # a set at or after started_at + 40 min
    has_discharge_set: bool


def observation_ends_at(dosing_ended_at: datetime, observation_minutes: int) -> datetime:
    return dosing_ended_at + timedelta(minutes=observation_minutes)


def esketamine_check_at(started_at: datetime, policy: ClinicalPolicy) -> datetime:
    return started_at + timedelta(minutes=policy.esketamine_check_after_dose_minutes)


def vitals_next_due(facts: ScheduleFacts, policy: ClinicalPolicy) -> VitalsDue | None:
    """The next set the nurse owes, or None when nothing is owed (discharged)."""
    if facts.status in BEFORE_START_STATUSES:
        return None if facts.has_baseline else VitalsDue("baseline", None)
    candidates: list[VitalsDue] = []
    if facts.status in RUNNING_STATUSES and facts.started_at is not None:
        anchor = max(facts.last_set_at or facts.started_at, facts.started_at)
        candidates.append(VitalsDue("running", anchor + timedelta(minutes=policy.vitals_every_running_minutes)))
    elif facts.status in OBSERVATION_STATUSES and facts.dosing_ended_at is not None:
        anchor = max(facts.last_set_at or facts.dosing_ended_at, facts.dosing_ended_at)
        candidates.append(VitalsDue("observation", anchor + timedelta(minutes=policy.vitals_every_observation_minutes)))
        if not facts.has_discharge_set:
            candidates.append(
                VitalsDue("discharge", observation_ends_at(facts.dosing_ended_at, facts.observation_minutes))
            )
    else:
        return None
    if facts.is_esketamine and facts.started_at is not None and not facts.has_set_after_esketamine_check:
        candidates.append(VitalsDue("esketamine_40_min", esketamine_check_at(facts.started_at, policy)))
    # The earliest wins; on a tie the more specific kind (discharge, the 40-minute check).
    order = {"discharge": 0, "esketamine_40_min": 1, "running": 2, "observation": 3}
    return min(candidates, key=lambda due: (due.at, order[due.kind]))


def vitals_overdue_at(due: VitalsDue | None, policy: ClinicalPolicy) -> datetime | None:
    if due is None or due.at is None:
        return None
    return due.at + timedelta(minutes=policy.vitals_overdue_grace_minutes)
