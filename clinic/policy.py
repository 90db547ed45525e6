"""Clinical numbers that a medical director may change per site.

Each default carries its source (CLINICAL.md; `[U]` = a working default no primary source
fixed). A site overrides any of them through `Site.clinical_overrides` in the admin;
protocol-specific numbers (dose limits, durations, observation) live on `Protocol`.
"""

from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from clinic.models import Site


@dataclass(frozen=True)
class ClinicalPolicy:
    # CLINICAL.md §1 weight: latest measurement no older than 30 days [U].
    weight_valid_days: int = 30
    # CLINICAL.md §1 weight: a change > 10 % from the previous weight asks for confirmation [U].
    weight_change_confirm_percent: int = 10
    # CLINICAL.md §1: racemic ketamine never IV above 10 mg/mL (Ketalar label) [U].
    max_iv_concentration_mg_per_ml: str = "10"
    # CLINICAL.md §2: a screening is valid 12 months [U].
    screening_valid_months: int = 12
    # CLINICAL.md §2: age >= 65 is a relative contraindication.
    relative_age_years: int = 65

    # CLINICAL.md §3 impossible values (refused with 400): physiological plausibility bounds that
    # no primary source fixes; working defaults [U].
    systolic_min: int = 40
    systolic_max: int = 300
    diastolic_min: int = 20
    diastolic_max: int = 200
    heart_rate_min: int = 20
    heart_rate_max: int = 250
    spo2_min: int = 50
    spo2_max: int = 100
    respiratory_rate_min: int = 0
    respiratory_rate_max: int = 80
    temperature_min_c: str = "25"
    temperature_max_c: str = "45"
    vitals_future_minutes: int = 5  # a time more than 5 min ahead is refused [U]

    # CLINICAL.md §3 alerts.
    predose_systolic_above: int = 140  # Spravato label
    predose_diastolic_above: int = 90  # Spravato label
    bp_high_systolic: int = 180  # Del Sant 2020
    bp_high_diastolic: int = 110  # Del Sant 2020
    bp_rise_systolic: int = 40  # Spravato label
    bp_rise_diastolic: int = 25  # Spravato label
    spo2_low_below: int = 92  # Modified Aldrete; NEWS2 scale 1
    news2_emergency_at: int = 7  # RCP 2017
    news2_high_at: int = 5  # RCP 2017

    # CLINICAL.md §3 schedule.
    vitals_every_running_minutes: int = 10  # Yale 2024
    vitals_every_observation_minutes: int = 15  # [U]
    esketamine_check_after_dose_minutes: int = 40  # Spravato label
    vitals_overdue_grace_minutes: int = 5  # [U]
    escalate_high_after_minutes: int = 2  # [U] first step: the on-call clinician
    escalate_medium_after_minutes: int = 10  # [U] first step: the on-call clinician
    escalate_next_level_after_minutes: int = 5  # [U] then the next level, if still unacknowledged

    # CLINICAL.md §4 discharge.
    discharge_within_baseline_percent: int = 20  # Modified Aldrete (circulation item: within 20 %)
    discharge_spo2_min: int = 92  # Modified Aldrete

    # CLINICAL.md §7 follow-ups: the clinic's reminder table; its timings have no primary source
    # unless one is named, so they are working defaults [U]. Wall-clock arithmetic in the site's time zone: "the day
    # after" at a local hour stays that local hour across daylight-saving changes.
    followup_check_in_after_hours: int = 24  # check-in call 24 h after each session
    followup_questionnaire_before_hours: int = 72  # pre-session questionnaire 72 h before
    followup_questionnaire_staff_before_hours: int = 24  # staff reminded if missing 24 h before
    followup_review_local_hour: int = 9  # end-of-induction review "the day after", at 09:00 local [U]
    followup_mid_interval_min_days: int = 14  # mid-interval PHQ-9 for intervals >= 14 days
    followup_booster_overdue_days: int = 7  # booster overdue after 7 days goes to the clinician
    followup_safety_screen_months: int = 3  # safety screen every 3 months [U] (Ketalar, Spravato; ASRA 2018)
    followup_safety_screen_sessions: int = 10  # ... or every 10 sessions, whichever first [U]
    followup_weight_recheck_before_hours: int = 24  # weight re-check due 24 h before the session [U]
    followup_rems_within_days: int = 7  # REMS monitoring form within 7 days of each session (Spravato REMS)
    followup_inventory_every_years: int = 2  # biennial inventory (21 CFR 1304.11)

    # CLINICAL.md §8 controlled-substance ledger (Schedule III).
    ledger_loss_notice_business_days: int = 1  # DEA notice of theft or significant loss (21 CFR 1301.76(b))
    ledger_form_106_days: int = 45  # DEA Form 106 within 45 days of discovery (21 CFR 1301.76(b))
    ledger_retention_years: int = 2  # records kept at least 2 years (21 CFR 1304.04)

    # CLINICAL.md §5 outcome measures.
    response_percent: int = 50  # response: total >= 50 % below the course's baseline
    pain_response_percent: int = 30  # chronic pain response: >= 30 % lower pain NRS [U]
    phq9_remission_below: int = 5  # remission: PHQ-9 < 5 (CMS159)
    madrs_remission_max: int = 10  # remission: MADRS <= 10 (<= 12 selectable)

    # CLINICAL.md §6 maintenance (treat-and-extend); the intervals themselves are per Protocol.
    maintenance_worse_rise_points: int = 5  # rule 2: a rise of >= 5 points is not stable [U]
    maintenance_pause_check_days: int = 28  # rule 5: paused, a PHQ-9 every 4 weeks [U]
    nonresponse_review_after_sessions: int = 0  # rule 1: 0 = after the induction series; 3 = Oxford
    esketamine_flexible_from_week: int = 9  # rule 6: from week 9 weekly or every 2 weeks (Spravato label)


DEFAULT_POLICY = ClinicalPolicy()


def site_policy(site: "Site | None") -> ClinicalPolicy:
    """The site's values (its overrides over the defaults); the defaults when there is no site."""
    return site.policy if site is not None else DEFAULT_POLICY


POLICY_FIELDS = {f.name: f.type for f in fields(ClinicalPolicy)}


def policy_validate_overrides(overrides: Any) -> dict[str, str]:
    """Errors per key for a site's overrides (unknown key, wrong type)."""
    if not isinstance(overrides, dict):
        return {"clinical_overrides": "Must be an object of policy names to numbers."}
    errors: dict[str, str] = {}
    for key, value in overrides.items():
        if key not in POLICY_FIELDS:
            errors[key] = "Unknown clinical policy setting."
        elif isinstance(value, bool) or not isinstance(value, int | float | str):
            errors[key] = "Must be a number."
    return errors


def policy_build(overrides: dict[str, Any] | None) -> ClinicalPolicy:
    if not overrides:
        return DEFAULT_POLICY
    clean: dict[str, Any] = {}
    for key, value in overrides.items():
        if key in POLICY_FIELDS:
            clean[key] = str(value) if POLICY_FIELDS[key] in (str, "str") else int(value)
    return replace(DEFAULT_POLICY, **clean)
