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
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

Span = tuple[datetime, datetime]
# Busy intervals may also be given as POSIX seconds (ints): the search loads them that way,
# which spares parsing thousands of timestamps; the engine compares plain integers inside.
Moment = datetime | int
AnySpan = tuple[Moment, Moment]

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


def _epoch(moment: Moment) -> int:
    return moment if isinstance(moment, int) else int(moment.timestamp())


def _epochs(spans: Iterable[AnySpan]) -> list[tuple[int, int]]:
    return sorted((_epoch(a), _epoch(b)) for a, b in spans)


class BusyIndex:
    """Non-overlapping busy intervals of one chair (or one patient), sorted, for O(log n) checks."""

    def __init__(self, spans: Iterable[AnySpan]) -> None:
        self.spans = _epochs(spans)
        self.starts = [span[0] for span in self.spans]

    def is_free(self, start: Moment, end: Moment) -> bool:
        start, end = _epoch(start), _epoch(end)
        # Rows of one chair never overlap (exclusion constraint), so ends rise with starts and
        # only the last interval starting before `end` can reach into [start, end).
        index = bisect_left(self.starts, end)
        return index == 0 or self.spans[index - 1][1] <= start

    def ends_between(self, start: int, end: int) -> list[int]:
        first = bisect_left(self.starts, start - 7 * 86400)
        return [span[1] for span in self.spans[first:] if start <= span[1] < end]


def chair_is_free(busy: Iterable[AnySpan], start: Moment, end: Moment) -> bool:
    s, e = _epoch(start), _epoch(end)
    return not any(a < e and s < b for a, b in _epochs(busy))


def concurrent_max(load: Iterable[AnySpan], start: Moment, end: Moment) -> int:
    """The most intervals of `load` running at the same moment within `[start, end)`."""
    s, e = _epoch(start), _epoch(end)
    events: list[tuple[int, int]] = []
    for a, b in _epochs(load):
        if a < e and s < b:
            events.append((max(a, s), 1))
            events.append((min(b, e), -1))
    events.sort()  # at the same moment an end (-1) sorts before a start (+1)
    running = peak = 0
    for _, delta in events:
        running += delta
        peak = max(peak, running)
    return peak


def free_slots(
    *,
    calendar: SiteCalendar,
    chairs: Sequence[int],
    busy: Mapping[int, Sequence[AnySpan]],
    load: Sequence[AnySpan],
    duration: timedelta,
    start: datetime,
    end: datetime,
    blocked: Sequence[AnySpan] = (),
    counts_for_nurses: bool = True,
    step: timedelta = DEFAULT_STEP,
) -> Iterator[Slot]:
    """Every bookable slot whose start lies in `[start, end)`, earliest first (then by the
    order of `chairs`), lazily: a caller that needs ten slots stops after ten.

    `busy`: per chair, its live bookings. `load`: the site's live infusions (for nurse
    capacity). `blocked`: times the patient is booked elsewhere. Spans are datetimes or POSIX
    seconds; slots come back as UTC datetimes.
    """
    if duration <= timedelta(0):
        raise ValueError("duration must be positive")
    length, grid = int(duration.total_seconds()), int(step.total_seconds())
    first, last = _epoch(start), _epoch(end)
    indexes = {chair: BusyIndex(busy.get(chair, ())) for chair in chairs}
    blocked_index = BusyIndex(blocked)
    load_sorted = _epochs(load)
    load_starts = [span[0] for span in load_sorted]
    for day in calendar.days(start, end):
        window = calendar.window(day)
        if window is None:
            continue
        opens, closes = _epoch(window[0]), _epoch(window[1])
        latest = min(closes - length, last - 1)
        if latest < opens or latest < first:
            continue
        candidates = set(range(opens, latest + 1, grid))
        for index in indexes.values():
            candidates.update(e for e in index.ends_between(opens, closes) if e <= latest)
        # the infusions that run during this day's hours (load never spans more than a week)
        low = bisect_left(load_starts, opens - 7 * 86400)
        high = bisect_left(load_starts, closes)
        day_load = [span for span in load_sorted[low:high] if span[1] > opens]
        capacity = calendar.capacity(day)
        for moment in sorted(t for t in candidates if t >= first):
            finish = moment + length
            if not blocked_index.is_free(moment, finish):
                continue
            if (
                counts_for_nurses
                and len(day_load) >= capacity
                and concurrent_max(day_load, moment, finish) + 1 > capacity
            ):
                continue
            for chair in chairs:
                if indexes[chair].is_free(moment, finish):
                    yield Slot(
                        chair=chair,
                        starts_at=datetime.fromtimestamp(moment, tz=UTC),
                        ends_at=datetime.fromtimestamp(finish, tz=UTC),
                    )
