"""Maintenance frequency, treat-and-extend (CLINICAL.md §6), pure functions.

No published ketamine schedule exists; the rules follow the treat-and-extend pattern of
anti-VEGF injections (ALTAIR 2020; Arendt 2019; Ross 2020) with ketamine's durability data
(median relapse 18 days after induction, Murrough 2013; "dose a little before the effect
wears off", Andrade 2017). The numbered rules of §6, as implemented here:

1. After induction: a responder moves to maintenance at the minimum interval; a
   non-responder after the induction series (or after N sessions, Oxford, when the site sets
   `nonresponse_review_after_sessions`) gets a clinician review, not a booking.
2. At each maintenance visit, stable = still a response, no rise of >= 5 points since the
   previous score [U], and PHQ-9 item 9 = 0.
3. Stable: next interval = min(current + step, max). Worse: back to the last stable interval
   (or current - step), never below the minimum, and the clinician is told.
4. Any safety flag (PHQ-9 item 9 > 0, a high or emergency alert in the last session) not yet
   seen by a clinician's decision: no automatic change; a clinician decides.
5. Stable at the maximum for `exit_after_stable_at_max` visits: suggest pausing with a PHQ-9
   every 4 weeks [U]; a relapse while paused reopens boosters.
6. Esketamine (Spravato label): weeks 5-8 weekly; from week 9 only weekly or every 2 weeks.
7. Every answer shows its reasoning: scores, intervals, the rule that fired and the
   estimated durability (days from each session until response was lost).

Per-protocol parameters come from `Protocol` (min_interval_days, extend_step_days,
max_interval_days, exit_after_stable_at_max); the rest from the site's ClinicalPolicy.
"""

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from typing import Any

from django.db.models import TextChoices

from monitoring.outcomes.measures import OutcomeRules, ScorePoint, change_percent, is_response, response_percent_for
from patients.scoring import DEPRESSION_INSTRUMENTS, INSTRUMENTS


class Action:
    CONTINUE_INDUCTION = "continue_induction"  # the induction series goes on; nothing to decide
    BOOK = "book"  # book the next booster `interval_days` after the last session
    REVIEW = "review"  # a clinician reviews; nothing is booked automatically
    PAUSE = "pause"  # stop boosters; a PHQ-9 every 4 weeks
    MONITOR = "monitor"  # paused and still well: the next PHQ-9 check


ACTIONS = (Action.CONTINUE_INDUCTION, Action.BOOK, Action.REVIEW, Action.PAUSE, Action.MONITOR)
DECIDABLE_ACTIONS = (Action.BOOK, Action.REVIEW, Action.PAUSE)


class Rule:
    """The rule that fired (the API's `rule`), each with its number in CLINICAL.md §6."""

    INDUCTION_IN_PROGRESS = "induction_in_progress"
    INDUCTION_RESPONDER = "induction_responder"
    INDUCTION_NONRESPONDER = "induction_nonresponder"
    BASELINE_MISSING = "baseline_missing"
    SCORE_MISSING = "score_missing"
    STABLE_EXTEND = "stable_extend"
    STABLE_AT_MAXIMUM = "stable_at_maximum"
    STABLE_KEEP = "stable_keep"
    WORSE_SHORTEN = "worse_shorten"
    SAFETY_HOLD = "safety_hold"
    PAUSE_SUGGESTED = "pause_suggested"
    PAUSED_MONITORING = "paused_monitoring"
    RELAPSE_REOPEN = "relapse_reopen"
    ESKETAMINE_LABEL = "esketamine_label"


RULE_NUMBERS = {
    Rule.INDUCTION_IN_PROGRESS: 1,
    Rule.INDUCTION_RESPONDER: 1,
    Rule.INDUCTION_NONRESPONDER: 1,
    Rule.BASELINE_MISSING: 1,
    Rule.SCORE_MISSING: 2,
    Rule.STABLE_KEEP: 2,
    Rule.STABLE_EXTEND: 3,
    Rule.STABLE_AT_MAXIMUM: 3,
    Rule.WORSE_SHORTEN: 3,
    Rule.SAFETY_HOLD: 4,
    Rule.PAUSE_SUGGESTED: 5,
    Rule.PAUSED_MONITORING: 5,
    Rule.RELAPSE_REOPEN: 5,
    Rule.ESKETAMINE_LABEL: 6,
}


def is_worsening(rec: Any) -> bool:
    """Whether an answer (a Recommendation, or its stored row: `rule` and `details`) is a
    worsening a clinician must hear of the same day (CLINICAL.md §6): in maintenance, not stable
    (a loss of response, or a rise of >= `worse_rise_points`, rule 3); while paused, a relapse
    that reopens boosters (rule 5)."""
    return rec.rule == Rule.RELAPSE_REOPEN or (rec.rule in WORSE_RULES and rec.details.get("stable") is False)


WORSE_RULES = (Rule.WORSE_SHORTEN, Rule.ESKETAMINE_LABEL)


class DecisionKind(TextChoices):
    """A clinician's decision on a recommendation (the choices of MaintenanceDecision too)."""

    ACCEPTED = "accepted"
    MODIFIED = "modified"
    REJECTED = "rejected"


@dataclass(frozen=True)
class MaintenanceParams:
    min_interval_days: int = 7  # Protocol.min_interval_days (CLINICAL.md §6)
    extend_step_days: int = 7  # Protocol.extend_step_days
    max_interval_days: int = 112  # Protocol.max_interval_days
    exit_after_stable_at_max: int = 3  # Protocol.exit_after_stable_at_max
    induction_sessions: int = 6  # Protocol.induction_sessions
    esketamine: bool = False
    worse_rise_points: int = 5  # rule 2: a rise of >= 5 points [U]
    nonresponse_review_after_sessions: int = 0  # rule 1: 0 = after the series; 3 = Oxford
    pause_check_days: int = 28  # rule 5: a PHQ-9 every 4 weeks [U]
    esketamine_flexible_from_day: int = 56  # rule 6: week 9 starts 56 days after the first dose
    esketamine_weekly_days: int = 7  # rule 6: weekly (label)
    esketamine_fortnightly_days: int = 14  # rule 6: every 2 weeks (label)


@dataclass(frozen=True)
class Visit:
    """A session given (its start), and whether it raised a high or emergency alert."""

    at: datetime
    high_alert: bool = False
    session_id: int | None = None


@dataclass(frozen=True)
class PastDecision:
    at: datetime
    kind: str  # DecisionKind
    action: str  # the action decided on (a modification that books is Action.BOOK)
    interval_days: int | None = None
    next_due: date | None = None


@dataclass(frozen=True)
class MaintenanceInput:
    phase: str  # the course's phase: induction, maintenance, paused, ended
    now: datetime
    tz: tzinfo
    visits: Sequence[Visit]
    scores: Sequence[ScorePoint]  # the primary instrument, any order
    phq9: Sequence[ScorePoint]  # every PHQ-9 (item 9), any order
    instrument: str | None
    baseline: ScorePoint | None
    decisions: Sequence[PastDecision]
    params: MaintenanceParams
    rules: OutcomeRules = field(default_factory=OutcomeRules)


@dataclass(frozen=True)
class Recommendation:
    rule: str
    rule_number: int
    action: str
    interval_days: int | None
    next_due: date | None
    needs_clinician: bool
    automatic_change: bool
    rationale: str
    details: dict[str, Any]


@dataclass(frozen=True)
class _Judgement:
    stable: bool | None
    score: ScorePoint | None
    previous: ScorePoint | None
    reasons: tuple[str, ...]
    text: str


@dataclass(frozen=True)
class _VisitRecord:
    visit: Visit
    interval_days: int
    judgement: _Judgement


class _Ctx:
    """Everything derived once from the input."""

    def __init__(self, data: MaintenanceInput) -> None:
        self.data = data
        self.p = data.params
        self.visits = sorted(data.visits, key=lambda v: v.at)
        self.scores = sorted(data.scores, key=lambda s: (s.at, s.id or 0))
        self.phq9 = sorted(data.phq9, key=lambda s: (s.at, s.id or 0))
        self.decisions = sorted(data.decisions, key=lambda d: d.at)
        self.today = self.local(data.now)
        self.label = INSTRUMENTS[data.instrument].label if data.instrument in INSTRUMENTS else "score"
        self.first_visit = self.visits[0] if self.visits else None
        self.booking = [
            d
            for d in self.decisions
            if d.kind in (DecisionKind.ACCEPTED, DecisionKind.MODIFIED) and d.interval_days is not None
        ]

    def local(self, moment: datetime) -> date:
        return moment.astimezone(self.data.tz).date()

    # ---- scores ---------------------------------------------------------------------------

    def scores_between(self, start: datetime | None, end: datetime | None) -> list[ScorePoint]:
        return [s for s in self.scores if (start is None or s.at > start) and (end is None or s.at <= end)]

    def previous_score(self, point: ScorePoint) -> ScorePoint | None:
        earlier = [s for s in self.scores if (s.at, s.id or 0) < (point.at, point.id or 0)]
        return earlier[-1] if earlier else None

    def responding(self, point: ScorePoint) -> bool:
        baseline = self.data.baseline
        return bool(
            baseline is not None
            and self.data.instrument is not None
            and is_response(self.data.instrument, baseline.total, point.total, self.data.rules)
        )

    def describe(self, point: ScorePoint) -> str:
        text = f"{self.label} {point.total} on {self.local(point.at):%Y-%m-%d}"
        baseline = self.data.baseline
        if baseline is not None and (change := change_percent(baseline.total, point.total)) is not None:
            text += (
                f" ({change:g} % below baseline {baseline.total})"
                if change >= 0
                else (f" ({-change:g} % above baseline {baseline.total})")
            )
        return text

    def judge(self, point: ScorePoint | None, window_start: datetime | None) -> _Judgement:
        """Rule 2: stable = still a response, no rise of >= N points since the previous score,
        and PHQ-9 item 9 = 0 (on the PHQ-9s of the same window)."""
        if point is None:
            return _Judgement(None, None, None, ("no_score",), f"no {self.label} since the previous visit")
        reasons: list[str] = []
        parts: list[str] = [self.describe(point)]
        instrument = self.data.instrument or ""
        threshold = response_percent_for(instrument, self.data.rules) if instrument else 50
        if self.responding(point):
            parts.append(f"still a response (>= {threshold} % below baseline)")
        else:
            reasons.append("no_response")
            parts.append(f"no longer a response (needs >= {threshold} % below baseline)")
        previous = self.previous_score(point)
        if instrument in DEPRESSION_INSTRUMENTS and previous is not None:
            rise = point.total - previous.total
            if rise >= self.p.worse_rise_points:
                reasons.append("rise")
                parts.append(
                    f"a rise of {rise} points since {previous.total} on {self.local(previous.at):%Y-%m-%d} "
                    f"(>= {self.p.worse_rise_points})"
                )
            else:
                parts.append(f"no rise of >= {self.p.worse_rise_points} points since {previous.total}")
        item9 = [s for s in self.phq9 if (window_start is None or s.at > window_start) and s.at <= point.at]
        item9 += [point] if instrument == "PHQ9" and point not in item9 else []
        if any(s.item9 > 0 for s in item9):
            reasons.append("item9")
            parts.append("PHQ-9 item 9 above 0")
        elif instrument == "PHQ9" or item9:
            parts.append("PHQ-9 item 9 = 0")
        return _Judgement(not reasons, point, previous, tuple(reasons), "; ".join(parts))

    # ---- visits and intervals -------------------------------------------------------------

    def in_maintenance(self) -> bool:
        return bool(self.booking) or self.data.phase in ("maintenance", "paused")

    def maintenance_visits(self) -> list[Visit]:
        if self.booking:
            start = self.booking[0].at
            return [v for v in self.visits if v.at > start]
        if self.data.phase in ("maintenance", "paused"):
            return self.visits[self.p.induction_sessions :]
        return []

    def interval_in_effect(self, visit: Visit) -> int:
        """The interval decided before this visit, else the gap from the previous visit."""
        decided = [d for d in self.booking if d.at < visit.at]
        if decided and decided[-1].interval_days is not None:
            return decided[-1].interval_days
        previous = [v for v in self.visits if v.at < visit.at]
        if previous:
            return max(1, (self.local(visit.at) - self.local(previous[-1].at)).days)
        return self.p.min_interval_days

    def previous_visit(self, visit: Visit) -> Visit | None:
        earlier = [v for v in self.visits if v.at < visit.at]
        return earlier[-1] if earlier else None

    def visit_record(self, visit: Visit) -> _VisitRecord:
        previous = self.previous_visit(visit)
        window_start = previous.at if previous else None
        window = self.scores_between(window_start, visit.at)
        judgement = self.judge(window[-1] if window else None, window_start)
        return _VisitRecord(visit=visit, interval_days=self.interval_in_effect(visit), judgement=judgement)

    def history(self) -> list[_VisitRecord]:
        return [self.visit_record(v) for v in self.maintenance_visits()]

    def clamp(self, interval: int, from_day: date) -> tuple[int, str | None]:
        """Rule 6 for esketamine; returns the interval and a note when it changed it."""
        if not self.p.esketamine:
            return interval, None
        first = self.local(self.first_visit.at) if self.first_visit else from_day
        weekly, fortnightly = self.p.esketamine_weekly_days, self.p.esketamine_fortnightly_days
        week = (from_day - first).days // 7 + 1
        if (from_day - first).days < self.p.esketamine_flexible_from_day:
            allowed, why = weekly, f"weeks 5-8 are weekly (label; this is week {week})"
        else:
            allowed = fortnightly if interval >= fortnightly else weekly
            why = f"from week 9 only weekly or every 2 weeks (label; this is week {week})"
        if allowed == interval:
            return interval, None
        return allowed, f"Esketamine: {interval} days becomes {allowed} days: {why}."

    def due(self, from_day: date, interval: int) -> date:
        return max(self.today, from_day.fromordinal(from_day.toordinal() + interval))

    # ---- durability (rule 7) ----------------------------------------------------------------

    def durability(self) -> dict[str, Any]:
        """Rule 7: for each session from the one before the first response on, the days until
        the first score that is no longer a response (before the next session)."""
        start = self.first_visit.at if self.first_visit else None
        first_response = next(
            (s for s in self.scores if start is not None and s.at >= start and self.responding(s)), None
        )
        rows: list[dict[str, Any]] = []
        lost: list[int] = []
        held: list[int] = []
        if first_response is not None:
            begin = max(i for i, v in enumerate(self.visits) if v.at <= first_response.at)
            for index in range(begin, len(self.visits)):
                visit = self.visits[index]
                end = self.visits[index + 1].at if index + 1 < len(self.visits) else None
                window = self.scores_between(visit.at, end)
                loss = next((s for s in window if not self.responding(s)), None)
                row: dict[str, Any] = {"session_at": visit.at.isoformat(), "lost_after_days": None, "held_days": None}
                if loss is not None:
                    row["lost_after_days"] = (self.local(loss.at) - self.local(visit.at)).days
                    lost.append(row["lost_after_days"])
                elif window:
                    row["held_days"] = (self.local(window[-1].at) - self.local(visit.at)).days
                    held.append(row["held_days"])
                rows.append(row)
        estimate = round(statistics.median(lost)) if lost else None
        return {
            "per_session": rows,
            "estimated_days": estimate,
            "losses_observed": len(lost),
            "held_at_least_days": max(held) if held else None,
        }


def _durability_text(durability: dict[str, Any]) -> str:
    if durability["estimated_days"] is not None:
        return (
            f"Estimated durability {durability['estimated_days']} days (median of "
            f"{durability['losses_observed']} observed loss(es) of response after a session)."
        )
    if durability["held_at_least_days"] is not None:
        return (
            f"No loss of response observed yet; response held at least {durability['held_at_least_days']} "
            "days after a session."
        )
    return "Durability not yet known (no response after a session observed)."


def _result(
    ctx: _Ctx,
    *,
    rule: str,
    action: str,
    interval: int | None,
    next_due: date | None,
    needs_clinician: bool,
    automatic: bool,
    lines: list[str],
    extra: dict[str, Any] | None = None,
    history: list[_VisitRecord] | None = None,
) -> Recommendation:
    data = ctx.data
    durability = ctx.durability()
    history = history if history is not None else (ctx.history() if ctx.in_maintenance() else [])
    baseline = data.baseline
    details: dict[str, Any] = {
        "instrument": data.instrument,
        "baseline": {"at": baseline.at.isoformat(), "total": baseline.total} if baseline else None,
        "response_threshold_percent": (response_percent_for(data.instrument, data.rules) if data.instrument else None),
        "scores": [
            {
                "at": s.at.isoformat(),
                "total": s.total,
                "change_percent": change_percent(baseline.total, s.total) if baseline else None,
                "response": ctx.responding(s) if baseline else None,
            }
            for s in ctx.scores[-12:]
        ],
        "sessions_given": len(ctx.visits),
        "intervals": [
            {
                "visit_at": r.visit.at.isoformat(),
                "interval_days": r.interval_days,
                "stable": r.judgement.stable,
                "score": r.judgement.score.total if r.judgement.score else None,
                "reasons": list(r.judgement.reasons),
            }
            for r in history
        ],
        "durability": durability,
        "parameters": {
            "min_interval_days": ctx.p.min_interval_days,
            "extend_step_days": ctx.p.extend_step_days,
            "max_interval_days": ctx.p.max_interval_days,
            "exit_after_stable_at_max": ctx.p.exit_after_stable_at_max,
        },
        **(extra or {}),
    }
    scores_line = ", ".join(f"{s.total} ({ctx.local(s.at):%Y-%m-%d})" for s in ctx.scores[-6:])
    intervals_line = ", ".join(str(r.interval_days) for r in history)
    text = [f"Rule {RULE_NUMBERS[rule]} ({rule.replace('_', ' ')}): " + lines[0], *lines[1:]]
    if scores_line:
        baseline_text = f"baseline {baseline.total}; " if baseline else "no baseline; "
        text.append(f"{ctx.label} scores: {baseline_text}recent {scores_line}.")
    if intervals_line:
        text.append(f"Maintenance intervals so far (days): {intervals_line}.")
    text.append(_durability_text(durability))
    return Recommendation(
        rule=rule,
        rule_number=RULE_NUMBERS[rule],
        action=action,
        interval_days=interval,
        next_due=next_due,
        needs_clinician=needs_clinician,
        automatic_change=automatic,
        rationale=" ".join(text),
        details=details,
    )


def _safety_flags(ctx: _Ctx) -> list[str]:
    """Rule 4: flags raised since the clinician last decided (and within the current interval)."""
    last_decision = ctx.decisions[-1].at if ctx.decisions else None
    previous_visit = ctx.visits[-2].at if len(ctx.visits) >= 2 else None
    since = max((t for t in (last_decision, previous_visit) if t is not None), default=None)
    flags: list[str] = []
    for point in ctx.phq9:
        if point.item9 > 0 and (since is None or point.at > since):
            flags.append(f"PHQ-9 item 9 = {point.item9} on {ctx.local(point.at):%Y-%m-%d}")
    last = ctx.visits[-1] if ctx.visits else None
    if last is not None and last.high_alert and (last_decision is None or last.at > last_decision):
        flags.append(f"a high or emergency alert in the last session ({ctx.local(last.at):%Y-%m-%d})")
    return flags


def _review(ctx: _Ctx, rule: str, line: str, **kwargs: Any) -> Recommendation:
    """A clinician reviews; nothing is booked automatically."""
    return _result(
        ctx,
        rule=rule,
        action=Action.REVIEW,
        interval=None,
        next_due=None,
        needs_clinician=True,
        automatic=False,
        lines=[line],
        **kwargs,
    )


def _book_next(
    ctx: _Ctx,
    *,
    rule: str,
    interval: int,
    label_note: str | None,
    last_day: date,
    lines: list[str],
    extra: dict[str, Any],
    history: list[_VisitRecord] | None = None,
) -> Recommendation:
    """Book the next booster on its own: `interval` days after the last session. A note from
    the esketamine label's clamp (rule 6) is added and names the rule that decided."""
    if label_note:
        lines.append(label_note)
        rule = Rule.ESKETAMINE_LABEL
    next_due = ctx.due(last_day, interval)
    lines.append(f"Next booster due {next_due:%Y-%m-%d}.")
    return _result(
        ctx,
        rule=rule,
        action=Action.BOOK,
        interval=interval,
        next_due=next_due,
        needs_clinician=False,
        automatic=True,
        lines=lines,
        extra=extra,
        history=history,
    )


def _last_stable_interval(history: list[_VisitRecord]) -> int | None:
    stable = [r for r in history if r.judgement.stable]
    return stable[-1].interval_days if stable else None


def _stable_at_max(history: list[_VisitRecord], maximum: int) -> int:
    count = 0
    for record in reversed(history):
        if record.judgement.stable and record.interval_days >= maximum:
            count += 1
        else:
            break
    return count


# ---- the rules, one function each, tried in order -------------------------------------------------
# A rule answers a Recommendation when it applies, None when the next rule should be tried.

Answer = Recommendation | None


def recommend(data: MaintenanceInput) -> Recommendation:
    """The next step for a course (CLINICAL.md §6), with its reasoning: the first rule of the
    course's phase that applies."""
    ctx = _Ctx(data)
    flags = _safety_flags(ctx)
    if data.phase == "paused":
        state: Any = _Paused.of(ctx, flags)
        rules: tuple[Any, ...] = PAUSED_RULES
    elif not ctx.in_maintenance():
        state, rules = _Induction.of(ctx, flags), INDUCTION_RULES
    else:
        state, rules = _Maintenance.of(ctx, flags), MAINTENANCE_RULES
    for rule in rules:
        answer = rule(state)
        if answer is not None:
            return answer
    raise AssertionError("the last rule of every phase always answers")  # pragma: no cover


# -- rule 1 and rule 4 during induction --


@dataclass(frozen=True)
class _Induction:
    ctx: _Ctx
    flags: list[str]
    sessions: int
    latest: ScorePoint | None  # the latest score since the first session
    responding: bool

    @classmethod
    def of(cls, ctx: _Ctx, flags: list[str]) -> "_Induction":
        first_at = ctx.first_visit.at if ctx.first_visit else None
        after = ctx.scores_between(first_at, None) if first_at else []
        latest = after[-1] if after else None
        return cls(ctx, flags, len(ctx.visits), latest, latest is not None and ctx.responding(latest))

    @property
    def complete(self) -> bool:
        return self.sessions >= self.ctx.p.induction_sessions


def induction_safety_hold(s: _Induction) -> Answer:
    """Rule 4: a safety flag: no automatic change, a clinician decides."""
    if not s.flags:
        return None
    line = "safety flag: " + "; ".join(s.flags) + ". No automatic change; a clinician decides."
    return _review(s.ctx, Rule.SAFETY_HOLD, line, extra={"flags": s.flags})


def induction_early_nonresponse(s: _Induction) -> Answer:
    """Rule 1 (Oxford): no response after N sessions of the series: a clinician reviews."""
    early = s.ctx.p.nonresponse_review_after_sessions
    if s.complete or not early or s.sessions < early or s.responding:
        return None
    what = s.ctx.describe(s.latest) if s.latest else f"no {s.ctx.label} since the first session"
    line = (
        f"no response after {s.sessions} sessions (review after {early}, Oxford): {what}. "
        "A clinician reviews the course; nothing is booked."
    )
    return _review(s.ctx, Rule.INDUCTION_NONRESPONDER, line)


def induction_in_progress(s: _Induction) -> Answer:
    """Rule 1: the series goes on; nothing to decide."""
    if s.complete:
        return None
    return _result(
        s.ctx,
        rule=Rule.INDUCTION_IN_PROGRESS,
        action=Action.CONTINUE_INDUCTION,
        interval=None,
        next_due=None,
        needs_clinician=False,
        automatic=False,
        lines=[f"induction goes on: {s.sessions} of {s.ctx.p.induction_sessions} sessions given."],
    )


def induction_baseline_missing(s: _Induction) -> Answer:
    """Rule 1: response cannot be judged without a baseline."""
    if s.ctx.data.baseline is not None:
        return None
    line = (
        f"induction complete ({s.sessions} sessions) but no {s.ctx.label} before the first session, so "
        "response cannot be judged. A clinician reviews."
    )
    return _review(s.ctx, Rule.BASELINE_MISSING, line)


def induction_score_missing(s: _Induction) -> Answer:
    if s.latest is not None:
        return None
    line = (
        f"induction complete ({s.sessions} sessions) but no {s.ctx.label} since the first session. A clinician reviews."
    )
    return _review(s.ctx, Rule.SCORE_MISSING, line)


def induction_nonresponder(s: _Induction) -> Answer:
    """Rule 1: a non-responder after the series gets a clinician review, not a booking."""
    if s.responding or s.latest is None:
        return None
    line = (
        f"no response after the induction series ({s.sessions} sessions): {s.ctx.describe(s.latest)}. "
        "A clinician reviews the course; nothing is booked."
    )
    return _review(s.ctx, Rule.INDUCTION_NONRESPONDER, line)


def induction_responder(s: _Induction) -> Answer:
    """Rule 1: a responder moves to maintenance at the minimum interval."""
    ctx = s.ctx
    assert s.latest is not None  # noqa: S101 - the rules before answer otherwise
    last_day = ctx.local(ctx.visits[-1].at)
    interval, note = ctx.clamp(ctx.p.min_interval_days, last_day)
    lines = [
        f"response after the induction series ({s.sessions} sessions): {ctx.describe(s.latest)}. "
        f"Maintenance starts at the minimum interval of {ctx.p.min_interval_days} days."
    ]
    return _book_next(
        ctx,
        rule=Rule.INDUCTION_RESPONDER,
        interval=interval,
        label_note=note,
        last_day=last_day,
        lines=lines,
        extra={"current_interval_days": None},
    )


INDUCTION_RULES = (
    induction_safety_hold,
    induction_early_nonresponse,
    induction_in_progress,
    induction_baseline_missing,
    induction_score_missing,
    induction_nonresponder,
    induction_responder,
)


# -- rules 2 to 6 in maintenance --


@dataclass(frozen=True)
class _Maintenance:
    ctx: _Ctx
    flags: list[str]
    history: list[_VisitRecord]
    last: Visit | None
    last_day: date | None
    decided_since: list[PastDecision]  # decisions after the last session
    booked_since: list[PastDecision]  # of those, the ones that booked
    current: int  # the interval in effect
    common: dict[str, Any]

    @classmethod
    def of(cls, ctx: _Ctx, flags: list[str]) -> "_Maintenance":
        history = ctx.history()
        last = ctx.visits[-1] if ctx.visits else None
        decided = [d for d in ctx.decisions if last is not None and d.at > last.at]
        booked = [d for d in ctx.booking if last is not None and d.at > last.at]
        current = 0
        if last is not None:
            in_effect = ctx.interval_in_effect(last)
            current = booked[-1].interval_days if booked and booked[-1].interval_days else in_effect
        common = {"current_interval_days": current, "last_stable_interval_days": _last_stable_interval(history)}
        return cls(ctx, flags, history, last, ctx.local(last.at) if last else None, decided, booked, current, common)

    def decided_due(self) -> date:
        """The due date a clinician's decision after the last session set, else interval after it."""
        assert self.last_day is not None  # noqa: S101
        booked = self.booked_since[-1] if self.booked_since else None
        due = booked.next_due if booked and booked.next_due else self.ctx.due(self.last_day, self.current)
        return max(due, self.ctx.today)

    def judgement(self) -> _Judgement:
        """The last visit's own score, or a later one (a mid-interval PHQ-9) that shows the
        patient worse; a good one taken after the session does not replace the visit's."""
        assert self.last is not None  # noqa: S101
        history, last, ctx = self.history, self.last, self.ctx
        record = history[-1] if history and history[-1].visit == last else ctx.visit_record(last)
        judgement = record.judgement
        later = ctx.scores_between(last.at, None)
        if later:
            later_judgement = ctx.judge(later[-1], last.at)
            if later_judgement.stable is False or judgement.stable is None:
                judgement = later_judgement
        return judgement

    def keep(self, rule: str, line: str, next_due: date) -> Recommendation:
        return _result(
            self.ctx,
            rule=rule,
            action=Action.BOOK,
            interval=self.current,
            next_due=next_due,
            needs_clinician=False,
            automatic=False,
            lines=[line],
            extra=self.common,
            history=self.history,
        )

    def worse(self, judgement: _Judgement, judged: list[_VisitRecord]) -> Recommendation:
        """Rule 3, worse: back to the last stable interval of `judged` (or current - step),
        never below the minimum; booked, and the clinician is told."""
        ctx, p, current = self.ctx, self.ctx.p, self.current
        assert self.last_day is not None  # noqa: S101
        last_stable = _last_stable_interval(judged)
        if last_stable is not None and last_stable < current:
            target, how = last_stable, f"back to the last stable interval of {last_stable} days"
        else:
            target, how = current - p.extend_step_days, f"current {current} - step {p.extend_step_days} days"
        if target < p.min_interval_days:
            target, how = p.min_interval_days, how + f", held at the minimum of {p.min_interval_days} days"
        interval, note = ctx.clamp(target, self.last_day)
        lines = [f"worse: {judgement.text}. Interval {current} -> {target} days ({how}). The clinician is told."]
        if note:
            lines.append(note)
        next_due = ctx.due(self.last_day, interval)
        lines.append(f"Next booster due {next_due:%Y-%m-%d}.")
        return _result(
            ctx,
            rule=Rule.ESKETAMINE_LABEL if note else Rule.WORSE_SHORTEN,
            action=Action.BOOK,
            interval=interval,
            next_due=next_due,
            needs_clinician=True,
            automatic=True,
            lines=lines,
            extra={**self.common, "stable": False, "reasons": list(judgement.reasons)},
            history=self.history,
        )


def maintenance_no_session(s: _Maintenance) -> Answer:
    if s.last is not None:
        return None
    line = "the course is in maintenance but no session is on record. A clinician reviews."
    return _review(s.ctx, Rule.SCORE_MISSING, line, history=s.history)


def maintenance_safety_hold(s: _Maintenance) -> Answer:
    """Rule 4: a safety flag: the interval stays until a clinician decides."""
    if not s.flags:
        return None
    return _result(
        s.ctx,
        rule=Rule.SAFETY_HOLD,
        action=Action.BOOK,
        interval=s.current,
        next_due=s.decided_due(),
        needs_clinician=True,
        automatic=False,
        lines=[
            "safety flag: " + "; ".join(s.flags) + f". No automatic change: the interval stays {s.current} days "
            "until a clinician decides (accept to keep it, or change it with a reason)."
        ],
        extra={**s.common, "flags": s.flags},
        history=s.history,
    )


def maintenance_worse_since_decision(s: _Maintenance) -> Answer:
    """Rule 3 between visits: a clinician decided after the last session; a newer score that
    shows the patient worse shortens."""
    if not s.decided_since:
        return None
    since = s.decided_since[-1].at
    fresh = s.ctx.scores_between(since, None)
    judgement = s.ctx.judge(fresh[-1], since) if fresh else None
    if judgement is None or judgement.stable is not False:
        return None
    return s.worse(judgement, s.history)


def maintenance_decision_stands(s: _Maintenance) -> Answer:
    """Between visits, nothing since the clinician's decision changes it."""
    if not s.decided_since:
        return None
    due = s.decided_due()
    line = (
        f"decided after the last session; nothing since changes it. Interval stays {s.current} days, "
        f"next booster due {due:%Y-%m-%d}."
    )
    return s.keep(Rule.STABLE_KEEP, line, due)


def maintenance_score_missing(s: _Maintenance) -> Answer:
    """Rule 2: no extension without a score showing the patient stable."""
    judgement = s.judgement()
    if judgement.stable is not None:
        return None
    assert s.last_day is not None  # noqa: S101
    due = s.ctx.due(s.last_day, s.current)
    line = (
        f"{judgement.text}: no extension without a score showing the patient stable. "
        f"Interval stays {s.current} days, next booster due {due:%Y-%m-%d}."
    )
    return s.keep(Rule.SCORE_MISSING, line, due)


def maintenance_worse(s: _Maintenance) -> Answer:
    """Rule 3, worse at the last visit: the stable intervals are those before it."""
    judgement = s.judgement()
    if judgement.stable is not False:
        return None
    return s.worse(judgement, s.history[:-1])


def maintenance_pause_suggested(s: _Maintenance) -> Answer:
    """Rule 5: stable at the maximum for N visits: suggest pausing with a PHQ-9 every 4 weeks."""
    p, ctx = s.ctx.p, s.ctx
    at_max = _stable_at_max(s.history, p.max_interval_days)
    if s.current < p.max_interval_days or at_max < p.exit_after_stable_at_max:
        return None
    assert s.last_day is not None  # noqa: S101
    next_check = ctx.due(s.last_day, p.pause_check_days)
    return _result(
        ctx,
        rule=Rule.PAUSE_SUGGESTED,
        action=Action.PAUSE,
        interval=None,
        next_due=next_check,
        needs_clinician=False,
        automatic=True,
        lines=[
            f"stable: {s.judgement().text}. Stable at the maximum interval of {p.max_interval_days} days for "
            f"{at_max} visits (exit after {p.exit_after_stable_at_max}): suggest pausing boosters with a PHQ-9 "
            f"every {p.pause_check_days // 7} weeks; first check due {next_check:%Y-%m-%d}. A relapse reopens "
            "boosters."
        ],
        extra={**s.common, "stable": True, "stable_at_max_visits": at_max, "pause_check_days": p.pause_check_days},
        history=s.history,
    )


def maintenance_stable_extend(s: _Maintenance) -> Answer:
    """Rule 3, stable: next interval = min(current + step, max) (rule 6 caps esketamine)."""
    p, ctx, current = s.ctx.p, s.ctx, s.current
    assert s.last_day is not None  # noqa: S101
    maximum = p.max_interval_days
    at_max = _stable_at_max(s.history, maximum)
    text = s.judgement().text
    target = min(current + p.extend_step_days, maximum)
    interval, note = ctx.clamp(target, s.last_day)
    if current >= maximum:
        rule = Rule.STABLE_AT_MAXIMUM
        line = (
            f"stable: {text}. Already at the maximum of {maximum} days: stays {interval} days "
            f"({at_max} of {p.exit_after_stable_at_max} stable visits at the maximum before a pause is suggested)."
        )
    else:
        rule = Rule.STABLE_EXTEND
        line = (
            f"stable: {text}. Interval {current} -> {target} days "
            f"(min({current} + step {p.extend_step_days}, max {maximum}))."
        )
    return _book_next(
        ctx,
        rule=rule,
        interval=interval,
        label_note=note,
        last_day=s.last_day,
        lines=[line],
        extra={**s.common, "stable": True, "stable_at_max_visits": at_max},
        history=s.history,
    )


MAINTENANCE_RULES = (
    maintenance_no_session,
    maintenance_safety_hold,
    maintenance_worse_since_decision,
    maintenance_decision_stands,
    maintenance_score_missing,
    maintenance_worse,
    maintenance_pause_suggested,
    maintenance_stable_extend,
)


# -- rule 5 while paused --


@dataclass(frozen=True)
class _Paused:
    ctx: _Ctx
    flags: list[str]
    history: list[_VisitRecord]
    paused_at: datetime | None
    fresh: list[ScorePoint]  # scores since the pause
    common: dict[str, Any]

    @classmethod
    def of(cls, ctx: _Ctx, flags: list[str]) -> "_Paused":
        pauses = [d for d in ctx.decisions if d.action == Action.PAUSE and d.kind == DecisionKind.ACCEPTED]
        paused_at = pauses[-1].at if pauses else (ctx.visits[-1].at if ctx.visits else None)
        common = {"paused_since": paused_at.isoformat() if paused_at else None}
        return cls(ctx, flags, ctx.history(), paused_at, ctx.scores_between(paused_at, None), common)

    def judgement(self) -> _Judgement | None:
        return self.ctx.judge(self.fresh[-1], self.paused_at) if self.fresh else None


def paused_safety_hold(s: _Paused) -> Answer:
    if not s.flags:
        return None
    line = "safety flag while paused: " + "; ".join(s.flags) + ". A clinician decides."
    return _review(s.ctx, Rule.SAFETY_HOLD, line, extra={**s.common, "flags": s.flags}, history=s.history)


def paused_relapse_reopens(s: _Paused) -> Answer:
    """Rule 5: a relapse while paused reopens boosters at the last stable interval."""
    judgement = s.judgement()
    if judgement is None or judgement.stable is not False:
        return None
    ctx, p = s.ctx, s.ctx.p
    last_stable = _last_stable_interval(s.history) or p.min_interval_days
    interval, note = ctx.clamp(max(last_stable, p.min_interval_days), ctx.today)
    lines = [
        f"relapse while paused: {judgement.text}. Boosters reopen: one now (due {ctx.today:%Y-%m-%d}), "
        f"then every {interval} days (the last stable interval). The clinician is told."
    ]
    if note:
        lines.append(note)
    return _result(
        ctx,
        rule=Rule.RELAPSE_REOPEN,
        action=Action.BOOK,
        interval=interval,
        next_due=ctx.today,
        needs_clinician=True,
        automatic=True,
        lines=lines,
        extra={**s.common, "stable": False, "reasons": list(judgement.reasons)},
        history=s.history,
    )


def paused_monitoring(s: _Paused) -> Answer:
    """Rule 5: paused and still well: the next PHQ-9 check."""
    ctx, p = s.ctx, s.ctx.p
    anchor = s.fresh[-1].at if s.fresh else s.paused_at
    next_check = ctx.due(ctx.local(anchor), p.pause_check_days) if anchor else ctx.today
    judgement = s.judgement()
    what = judgement.text if judgement is not None else f"no {ctx.label} since the pause"
    return _result(
        ctx,
        rule=Rule.PAUSED_MONITORING,
        action=Action.MONITOR,
        interval=None,
        next_due=next_check,
        needs_clinician=False,
        automatic=False,
        lines=[f"paused: {what}. Next PHQ-9 check due {next_check:%Y-%m-%d} (every {p.pause_check_days // 7} weeks)."],
        extra=s.common,
        history=s.history,
    )


PAUSED_RULES = (paused_safety_hold, paused_relapse_reopens, paused_monitoring)
