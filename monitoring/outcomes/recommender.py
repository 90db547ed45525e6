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


def recommend(data: MaintenanceInput) -> Recommendation:
    """The next step for a course (CLINICAL.md §6), with its reasoning."""
    ctx = _Ctx(data)
    flags = _safety_flags(ctx)
    if data.phase == "paused":
        return _paused(ctx, flags)
    if not ctx.in_maintenance():
        return _induction(ctx, flags)
    return _maintenance(ctx, flags)


def _induction(ctx: _Ctx, flags: list[str]) -> Recommendation:
    p, data = ctx.p, ctx.data
    n = len(ctx.visits)
    first_at = ctx.first_visit.at if ctx.first_visit else None
    after = ctx.scores_between(first_at, None) if first_at else []
    latest = after[-1] if after else None
    responding = latest is not None and ctx.responding(latest)
    if flags:
        return _result(
            ctx,
            rule=Rule.SAFETY_HOLD,
            action=Action.REVIEW,
            interval=None,
            next_due=None,
            needs_clinician=True,
            automatic=False,
            lines=["safety flag: " + "; ".join(flags) + ". No automatic change; a clinician decides."],
            extra={"flags": flags},
        )
    early = p.nonresponse_review_after_sessions
    if n < p.induction_sessions:
        if early and n >= early and not responding:
            what = ctx.describe(latest) if latest else f"no {ctx.label} since the first session"
            return _result(
                ctx,
                rule=Rule.INDUCTION_NONRESPONDER,
                action=Action.REVIEW,
                interval=None,
                next_due=None,
                needs_clinician=True,
                automatic=False,
                lines=[
                    f"no response after {n} sessions (review after {early}, Oxford): {what}. "
                    "A clinician reviews the course; nothing is booked."
                ],
            )
        return _result(
            ctx,
            rule=Rule.INDUCTION_IN_PROGRESS,
            action=Action.CONTINUE_INDUCTION,
            interval=None,
            next_due=None,
            needs_clinician=False,
            automatic=False,
            lines=[f"induction goes on: {n} of {p.induction_sessions} sessions given."],
        )
    if data.baseline is None:
        return _result(
            ctx,
            rule=Rule.BASELINE_MISSING,
            action=Action.REVIEW,
            interval=None,
            next_due=None,
            needs_clinician=True,
            automatic=False,
            lines=[
                f"induction complete ({n} sessions) but no {ctx.label} before the first session, so response "
                "cannot be judged. A clinician reviews."
            ],
        )
    if latest is None:
        return _result(
            ctx,
            rule=Rule.SCORE_MISSING,
            action=Action.REVIEW,
            interval=None,
            next_due=None,
            needs_clinician=True,
            automatic=False,
            lines=[
                f"induction complete ({n} sessions) but no {ctx.label} since the first session. A clinician reviews."
            ],
        )
    if not responding:
        return _result(
            ctx,
            rule=Rule.INDUCTION_NONRESPONDER,
            action=Action.REVIEW,
            interval=None,
            next_due=None,
            needs_clinician=True,
            automatic=False,
            lines=[
                f"no response after the induction series ({n} sessions): {ctx.describe(latest)}. "
                "A clinician reviews the course; nothing is booked."
            ],
        )
    last_day = ctx.local(ctx.visits[-1].at)
    interval, note = ctx.clamp(p.min_interval_days, last_day)
    lines = [
        f"response after the induction series ({n} sessions): {ctx.describe(latest)}. "
        f"Maintenance starts at the minimum interval of {p.min_interval_days} days."
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


def _worse(
    ctx: _Ctx,
    *,
    current: int,
    history: list[_VisitRecord],
    judged: list[_VisitRecord],
    judgement: _Judgement,
    last_day: date,
    common: dict[str, Any],
) -> Recommendation:
    """The patient is worse: shorten (rules 3 and 4, from the stable intervals in `judged`),
    book it and tell the clinician."""
    interval, lines = _shorten(ctx, current=current, history=judged, judgement=judgement, from_day=last_day)
    next_due = ctx.due(last_day, interval)
    lines.append(f"Next booster due {next_due:%Y-%m-%d}.")
    return _result(
        ctx,
        rule=_worse_rule(lines),
        action=Action.BOOK,
        interval=interval,
        next_due=next_due,
        needs_clinician=True,
        automatic=True,
        lines=lines,
        extra={**common, "stable": False, "reasons": list(judgement.reasons)},
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


def _shorten(
    ctx: _Ctx, *, current: int, history: list[_VisitRecord], judgement: _Judgement, from_day: date
) -> tuple[int, list[str]]:
    """Rule 3, worse: back to the last stable interval (or current - step), never below min."""
    p = ctx.p
    last_stable = _last_stable_interval(history)
    if last_stable is not None and last_stable < current:
        target, how = last_stable, f"back to the last stable interval of {last_stable} days"
    else:
        target, how = current - p.extend_step_days, f"current {current} - step {p.extend_step_days} days"
    if target < p.min_interval_days:
        target, how = p.min_interval_days, how + f", held at the minimum of {p.min_interval_days} days"
    interval, note = ctx.clamp(target, from_day)
    lines = [f"worse: {judgement.text}. Interval {current} -> {target} days ({how}). The clinician is told."]
    if note:
        lines.append(note)
    return interval, lines


def _worse_rule(lines: list[str]) -> str:
    return Rule.ESKETAMINE_LABEL if any(line.startswith("Esketamine") for line in lines) else Rule.WORSE_SHORTEN


def _maintenance(ctx: _Ctx, flags: list[str]) -> Recommendation:
    p = ctx.p
    history = ctx.history()
    if not ctx.visits:
        return _result(
            ctx,
            rule=Rule.SCORE_MISSING,
            action=Action.REVIEW,
            interval=None,
            next_due=None,
            needs_clinician=True,
            automatic=False,
            lines=["the course is in maintenance but no session is on record. A clinician reviews."],
            history=history,
        )
    last = ctx.visits[-1]
    last_day = ctx.local(last.at)
    decided_since = [d for d in ctx.decisions if d.at > last.at]
    booked_since = [d for d in ctx.booking if d.at > last.at]
    in_effect = ctx.interval_in_effect(last)
    current = booked_since[-1].interval_days if booked_since and booked_since[-1].interval_days else in_effect
    # Rule 5 counts visits at the protocol's maximum; rule 6 caps esketamine below it.
    maximum = p.max_interval_days
    common = {"current_interval_days": current, "last_stable_interval_days": _last_stable_interval(history)}

    if flags:
        next_due = (
            booked_since[-1].next_due if booked_since and booked_since[-1].next_due else ctx.due(last_day, current)
        )
        return _result(
            ctx,
            rule=Rule.SAFETY_HOLD,
            action=Action.BOOK,
            interval=current,
            next_due=max(next_due, ctx.today),
            needs_clinician=True,
            automatic=False,
            lines=[
                "safety flag: " + "; ".join(flags) + f". No automatic change: the interval stays {current} days "
                "until a clinician decides (accept to keep it, or change it with a reason)."
            ],
            extra={**common, "flags": flags},
            history=history,
        )

    if decided_since:
        # Between visits: a clinician already decided after the last session. A newer score
        # that shows the patient worse shortens; otherwise the decision stands.
        since = decided_since[-1].at
        fresh = ctx.scores_between(since, None)
        if fresh:
            judgement = ctx.judge(fresh[-1], since)
            if judgement.stable is False:
                return _worse(
                    ctx,
                    current=current,
                    history=history,
                    judged=history,
                    judgement=judgement,
                    last_day=last_day,
                    common=common,
                )
        decided = booked_since[-1] if booked_since else None
        next_due = decided.next_due if decided and decided.next_due else ctx.due(last_day, current)
        return _result(
            ctx,
            rule=Rule.STABLE_KEEP,
            action=Action.BOOK,
            interval=current,
            next_due=max(next_due, ctx.today),
            needs_clinician=False,
            automatic=False,
            lines=[
                f"decided after the last session; nothing since changes it. Interval stays {current} days, "
                f"next booster due {max(next_due, ctx.today):%Y-%m-%d}."
            ],
            extra=common,
            history=history,
        )

    record = history[-1] if history and history[-1].visit == last else ctx.visit_record(last)
    judgement = record.judgement
    later = ctx.scores_between(last.at, None)
    if later:
        # A score after the last session (a mid-interval PHQ-9) that shows the patient worse
        # counts; a good one taken after the session does not replace the visit's own score.
        later_judgement = ctx.judge(later[-1], last.at)
        if later_judgement.stable is False or judgement.stable is None:
            judgement = later_judgement
    if judgement.stable is None:
        next_due = ctx.due(last_day, current)
        return _result(
            ctx,
            rule=Rule.SCORE_MISSING,
            action=Action.BOOK,
            interval=current,
            next_due=next_due,
            needs_clinician=False,
            automatic=False,
            lines=[
                f"{judgement.text}: no extension without a score showing the patient stable. "
                f"Interval stays {current} days, next booster due {next_due:%Y-%m-%d}."
            ],
            extra=common,
            history=history,
        )
    if judgement.stable is False:
        # The last visit is the one judged worse: the stable intervals are those before it.
        return _worse(
            ctx,
            current=current,
            history=history,
            judged=history[:-1],
            judgement=judgement,
            last_day=last_day,
            common=common,
        )

    at_max = _stable_at_max(history, maximum)
    if current >= maximum and at_max >= p.exit_after_stable_at_max:
        next_check = ctx.due(last_day, p.pause_check_days)
        return _result(
            ctx,
            rule=Rule.PAUSE_SUGGESTED,
            action=Action.PAUSE,
            interval=None,
            next_due=next_check,
            needs_clinician=False,
            automatic=True,
            lines=[
                f"stable: {judgement.text}. Stable at the maximum interval of {maximum} days for {at_max} visits "
                f"(exit after {p.exit_after_stable_at_max}): suggest pausing boosters with a PHQ-9 every "
                f"{p.pause_check_days // 7} weeks; first check due {next_check:%Y-%m-%d}. A relapse reopens boosters."
            ],
            extra={**common, "stable": True, "stable_at_max_visits": at_max, "pause_check_days": p.pause_check_days},
            history=history,
        )
    target = min(current + p.extend_step_days, maximum)
    interval, note = ctx.clamp(target, last_day)
    if current >= maximum:
        rule = Rule.STABLE_AT_MAXIMUM
        lines = [
            f"stable: {judgement.text}. Already at the maximum of {maximum} days: stays {interval} days "
            f"({at_max} of {p.exit_after_stable_at_max} stable visits at the maximum before a pause is suggested)."
        ]
    else:
        rule = Rule.STABLE_EXTEND
        lines = [
            f"stable: {judgement.text}. Interval {current} -> {target} days "
            f"(min({current} + step {p.extend_step_days}, max {maximum}))."
        ]
    return _book_next(
        ctx,
        rule=rule,
        interval=interval,
        label_note=note,
        last_day=last_day,
        lines=lines,
        extra={**common, "stable": True, "stable_at_max_visits": at_max},
        history=history,
    )


def _paused(ctx: _Ctx, flags: list[str]) -> Recommendation:
    p = ctx.p
    history = ctx.history()
    pauses = [d for d in ctx.decisions if d.action == Action.PAUSE and d.kind == DecisionKind.ACCEPTED]
    paused_at = pauses[-1].at if pauses else (ctx.visits[-1].at if ctx.visits else None)
    fresh = ctx.scores_between(paused_at, None)
    common = {"paused_since": paused_at.isoformat() if paused_at else None}
    if flags:
        return _result(
            ctx,
            rule=Rule.SAFETY_HOLD,
            action=Action.REVIEW,
            interval=None,
            next_due=None,
            needs_clinician=True,
            automatic=False,
            lines=["safety flag while paused: " + "; ".join(flags) + ". A clinician decides."],
            extra={**common, "flags": flags},
            history=history,
        )
    if fresh:
        judgement = ctx.judge(fresh[-1], paused_at)
        if judgement.stable is False:
            last_stable = _last_stable_interval(history) or p.min_interval_days
            from_day = ctx.today
            interval, note = ctx.clamp(max(last_stable, p.min_interval_days), from_day)
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
                extra={**common, "stable": False, "reasons": list(judgement.reasons)},
                history=history,
            )
    anchor = fresh[-1].at if fresh else paused_at
    next_check = ctx.due(ctx.local(anchor), p.pause_check_days) if anchor else ctx.today
    what = ctx.judge(fresh[-1], paused_at).text if fresh else f"no {ctx.label} since the pause"
    return _result(
        ctx,
        rule=Rule.PAUSED_MONITORING,
        action=Action.MONITOR,
        interval=None,
        next_due=next_check,
        needs_clinician=False,
        automatic=False,
        lines=[f"paused: {what}. Next PHQ-9 check due {next_check:%Y-%m-%d} (every {p.pause_check_days // 7} weeks)."],
        extra=common,
        history=history,
    )
