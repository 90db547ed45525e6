"""The pure availability engine: free chair intervals for a given duration (DESIGN.md, `clinic`).

No database here. Callers load a site's calendar (opening hours, closed days, nurses on
duty), its chairs and the busy intervals once, and this module answers:

- `SiteCalendar.window(day)`: when the site is open on a local date (or None);
- `chair_is_free`, `concurrent_max`: the checks the booking service also uses;
- `free_slots(...)`: every bookable `(chair, start, end)` earliest first, lazily, day by day.

Rules honoured: opening hours and closed days in the site's time zone (the whole hold must
fit inside one day's hours), chair overlap, the patient's own appointments (when given), and
nurse capacity: concurrent infusions <= infusions per nurse x nurses on duty that day.
"""

from bisect import bisect_left
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

Span = tuple[datetime, datetime]

# Candidate start times fall on this grid from opening time, plus right after each booking [U].
DEFAULT_STEP = timedelta(minutes=15)


@dataclass(frozen=True)
class Slot:
    chair: int
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class SiteCalendar:
    """A site's hours in its own time zone.

    `weekly`: weekday (0 = Monday) -> (opens, closes) or None when closed that weekday; a
    weekday missing from the map uses `default_hours`. `closed_dates`: local dates closed.
    `nurses`: local date -> nurses on duty; missing dates use `default_nurses`.
    """

    tz: ZoneInfo
    default_hours: tuple[time, time]
    infusions_per_nurse: int
    default_nurses: int
    weekly: Mapping[int, tuple[time, time] | None] = field(default_factory=dict)
    closed_dates: frozenset[date] = frozenset()
    nurses: Mapping[date, int] = field(default_factory=dict)

    def local_date(self, moment: datetime) -> date:
        return moment.astimezone(self.tz).date()

    def is_closed(self, day: date) -> bool:
        return day in self.closed_dates or self.weekly.get(day.weekday(), self.default_hours) is None

    def window(self, day: date) -> Span | None:
        """Opening and closing moments of a local date, or None when closed."""
        if day in self.closed_dates:
            return None
        hours = self.weekly.get(day.weekday(), self.default_hours)
        if hours is None:
            return None
        opens, closes = hours
        return (datetime.combine(day, opens, tzinfo=self.tz), datetime.combine(day, closes, tzinfo=self.tz))

    def capacity(self, day: date) -> int:
        """How many infusions may run at once that day."""
        return self.infusions_per_nurse * self.nurses.get(day, self.default_nurses)

    def days(self, start: datetime, end: datetime) -> Iterator[date]:
        day, last = self.local_date(start), self.local_date(end)
        while day <= last:
            yield day
            day += timedelta(days=1)


def overlaps(a: Span, b: Span) -> bool:
    """Half-open intervals `[start, end)`: touching ends do not overlap."""
    return a[0] < b[1] and b[0] < a[1]


class BusyIndex:
    """Non-overlapping busy intervals of one chair, sorted, for O(log n) checks."""

    def __init__(self, spans: Iterable[Span]) -> None:
        self.spans = sorted(spans)
        self.starts = [span[0] for span in self.spans]

    def is_free(self, start: datetime, end: datetime) -> bool:
        # Rows of one chair never overlap (exclusion constraint), so ends rise with starts and
        # only the last interval starting before `end` can reach into [start, end).
        index = bisect_left(self.starts, end)
        return index == 0 or self.spans[index - 1][1] <= start

    def ends_between(self, start: datetime, end: datetime) -> list[datetime]:
        return [span[1] for span in self.spans if start <= span[1] < end]


def chair_is_free(busy: Iterable[Span], start: datetime, end: datetime) -> bool:
    return not any(overlaps(span, (start, end)) for span in busy)


def concurrent_max(load: Iterable[Span], start: datetime, end: datetime) -> int:
    """The most intervals of `load` running at the same moment within `[start, end)`."""
    events: list[tuple[datetime, int]] = []
    for span_start, span_end in load:
        if span_start < end and start < span_end:
            events.append((max(span_start, start), 1))
            events.append((min(span_end, end), -1))
    events.sort(key=lambda event: (event[0], event[1]))  # an end (-1) before a start at the same moment
    running = peak = 0
    for _, delta in events:
        running += delta
        peak = max(peak, running)
    return peak


def free_slots(
    *,
    calendar: SiteCalendar,
    chairs: Sequence[int],
    busy: Mapping[int, Sequence[Span]],
    load: Sequence[Span],
    duration: timedelta,
    start: datetime,
    end: datetime,
    blocked: Sequence[Span] = (),
    counts_for_nurses: bool = True,
    step: timedelta = DEFAULT_STEP,
) -> Iterator[Slot]:
    """Every bookable slot whose start lies in `[start, end)`, earliest first (then by the
    order of `chairs`), lazily: a caller that needs ten slots stops after ten.

    `busy`: per chair, its live bookings. `load`: the site's live infusions (for nurse
    capacity). `blocked`: times the patient is booked elsewhere.
    """
    if duration <= timedelta(0):
        raise ValueError("duration must be positive")
    indexes = {chair: BusyIndex(busy.get(chair, ())) for chair in chairs}
    blocked_index = BusyIndex(blocked)
    load_sorted = sorted(load)
    for day in calendar.days(start, end):
        window = calendar.window(day)
        if window is None:
            continue
        opens, closes = window
        latest = min(closes - duration, end - timedelta(microseconds=1))
        if latest < opens or latest < start:
            continue
        candidates: set[datetime] = set()
        moment = opens
        while moment <= latest:
            candidates.add(moment)
            moment += step
        for index in indexes.values():
            candidates.update(e for e in index.ends_between(opens, closes) if e <= latest)
        times = sorted(t for t in candidates if t >= start)
        day_load = [span for span in load_sorted if span[0] < closes and opens < span[1]]
        capacity = calendar.capacity(day)
        for moment in times:
            finish = moment + duration
            if not blocked_index.is_free(moment, finish):
                continue
            if counts_for_nurses and concurrent_max(day_load, moment, finish) + 1 > capacity:
                continue
            for chair in chairs:
                if indexes[chair].is_free(moment, finish):
                    yield Slot(chair=chair, starts_at=moment, ends_at=finish)
