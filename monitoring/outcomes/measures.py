"""Response tracking for a treatment course (CLINICAL.md §5), pure functions.

- Baseline: the course's last score before its first session.
- Response: a total at least 50 % below baseline; chronic pain: at least 30 % lower NRS [U].
- Remission: PHQ-9 < 5 (CMS159); MADRS <= 10 (<= 12 selectable per site).
- Sessions until first response: the sessions given up to the first responding score.

The thresholds come from the site's `ClinicalPolicy` (clinic/policy.py) through `OutcomeRules`.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from patients.scoring import PHQ9_SUICIDE_ITEM, Instrument

PAIN_INDICATIONS = ("crps", "sci_pain", "chronic_pain")


@dataclass(frozen=True)
class ScorePoint:
    """One assessment as the recommender sees it."""

    at: datetime
    instrument: str
    total: int
    items: tuple[int, ...] = ()
    id: int | None = None

    @property
    def item9(self) -> int:
        if self.instrument != Instrument.PHQ9 or len(self.items) < PHQ9_SUICIDE_ITEM:
            return 0
        return self.items[PHQ9_SUICIDE_ITEM - 1]


@dataclass(frozen=True)
class OutcomeRules:
    response_percent: int = 50  # CLINICAL.md §5: >= 50 % below baseline
    pain_response_percent: int = 30  # CLINICAL.md §5: >= 30 % lower pain NRS [U]
    phq9_remission_below: int = 5  # CLINICAL.md §5: PHQ-9 < 5 (CMS159)
    madrs_remission_max: int = 10  # CLINICAL.md §5: MADRS <= 10 (<= 12 selectable)


@dataclass(frozen=True)
class CourseOutcome:
    instrument: str | None
    sessions_given: int
    first_session_at: datetime | None
    baseline: ScorePoint | None
    current: ScorePoint | None
    change_percent: float | None
    response: bool | None
    remission: bool | None
    ever_responded: bool
    ever_remitted: bool
    first_response_at: datetime | None
    sessions_to_first_response: int | None
    response_threshold_percent: int | None


def primary_instrument(indication: str, available: Sequence[str]) -> str | None:
    """The score a course is judged by: pain NRS for pain indications, else PHQ-9, else MADRS
    (clinician-rated), among the instruments the patient has scores for."""
    order = (
        (Instrument.PAIN_NRS, Instrument.PHQ9, Instrument.MADRS)
        if indication in PAIN_INDICATIONS
        else (Instrument.PHQ9, Instrument.MADRS, Instrument.PAIN_NRS)
    )
    for instrument in order:
        if instrument in available:
            return instrument
    return None


def response_percent_for(instrument: str, rules: OutcomeRules) -> int:
    return rules.pain_response_percent if instrument == Instrument.PAIN_NRS else rules.response_percent


def is_response(instrument: str, baseline_total: int, total: int, rules: OutcomeRules) -> bool:
    """At least the response percentage below baseline (integer arithmetic, no rounding).
    A baseline of 0 cannot fall: never a response."""
    if baseline_total <= 0:
        return False
    return (baseline_total - total) * 100 >= response_percent_for(instrument, rules) * baseline_total


def is_remission(instrument: str, total: int, rules: OutcomeRules) -> bool | None:
    """None for an instrument without a remission threshold (GAD-7, pain NRS)."""
    if instrument == Instrument.PHQ9:
        return total < rules.phq9_remission_below
    if instrument == Instrument.MADRS:
        return total <= rules.madrs_remission_max
    return None


def change_percent(baseline_total: int, total: int) -> float | None:
    if baseline_total <= 0:
        return None
    return round((baseline_total - total) * 100 / baseline_total, 1)


def baseline_of(scores: Sequence[ScorePoint], first_session_at: datetime | None) -> ScorePoint | None:
    """The last score before the first session (with no session yet: the latest score)."""
    before = [s for s in scores if first_session_at is None or s.at < first_session_at]
    return max(before, key=lambda s: (s.at, s.id or 0)) if before else None


def course_outcome(
    *,
    indication: str,
    session_times: Sequence[datetime],
    scores: Sequence[ScorePoint],
    rules: OutcomeRules,
    instrument: str | None = None,
) -> CourseOutcome:
    """Baseline, current response and remission, and sessions until first response.

    `session_times`: when each session given in the course started. `scores`: the patient's
    assessments within the course's time (any instruments)."""
    times = sorted(session_times)
    first = times[0] if times else None
    if instrument is None:
        with_baseline = sorted({s.instrument for s in scores if first is None or s.at < first})
        instrument = primary_instrument(indication, with_baseline or sorted({s.instrument for s in scores}))
    series = sorted((s for s in scores if s.instrument == instrument), key=lambda s: (s.at, s.id or 0))
    baseline = baseline_of(series, first)
    after = [s for s in series if first is not None and s.at >= first]
    current = after[-1] if after else None
    ever_responded = ever_remitted = False
    first_response_at: datetime | None = None
    sessions_to_response: int | None = None
    if baseline is not None and instrument is not None:
        for point in after:
            if is_response(instrument, baseline.total, point.total, rules):
                if not ever_responded:
                    first_response_at = point.at
                    sessions_to_response = sum(1 for t in times if t <= point.at)
                ever_responded = True
            if is_remission(instrument, point.total, rules):
                ever_remitted = True
    response = remission = None
    change = None
    if instrument is not None and current is not None:
        remission = is_remission(instrument, current.total, rules)
        if baseline is not None:
            response = is_response(instrument, baseline.total, current.total, rules)
            change = change_percent(baseline.total, current.total)
    return CourseOutcome(
        instrument=instrument,
        sessions_given=len(times),
        first_session_at=first,
        baseline=baseline,
        current=current,
        change_percent=change,
        response=response,
        remission=remission,
        ever_responded=ever_responded,
        ever_remitted=ever_remitted and bool(instrument in (Instrument.PHQ9, Instrument.MADRS)),
        first_response_at=first_response_at,
        sessions_to_first_response=sessions_to_response,
        response_threshold_percent=response_percent_for(instrument, rules) if instrument else None,
    )
