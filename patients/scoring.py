"""Outcome questionnaires scored from their items (CLINICAL.md §5), pure functions.

Sources: PHQ-9 bands Kroenke, Spitzer & Williams 2001; GAD-7 bands Spitzer et al. 2006;
MADRS bands Snaith et al. (as used in CLINICAL.md §5); pain NRS 0-10 has no bands.
A client never sends a total: the service computes it here from the items.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


class Instrument:
    PHQ9 = "PHQ9"
    GAD7 = "GAD7"
    MADRS = "MADRS"
    PAIN_NRS = "PAIN_NRS"


@dataclass(frozen=True)
class Band:
    low: int
    high: int
    name: str


@dataclass(frozen=True)
class InstrumentSpec:
    code: str
    label: str
    item_count: int
    item_max: int
    bands: tuple[Band, ...]
    source: str
    loinc_total: str = ""

    @property
    def total_max(self) -> int:
        return self.item_count * self.item_max


INSTRUMENTS: dict[str, InstrumentSpec] = {
    Instrument.PHQ9: InstrumentSpec(
        code=Instrument.PHQ9,
        label="PHQ-9",
        item_count=9,
        item_max=3,
        bands=(
            Band(0, 4, "minimal"),
            Band(5, 9, "mild"),
            Band(10, 14, "moderate"),
            Band(15, 19, "moderately_severe"),
            Band(20, 27, "severe"),
        ),
        source="Kroenke 2001",
        loinc_total="44261-6",
    ),
    Instrument.GAD7: InstrumentSpec(
        code=Instrument.GAD7,
        label="GAD-7",
        item_count=7,
        item_max=3,
        bands=(Band(0, 4, "minimal"), Band(5, 9, "mild"), Band(10, 14, "moderate"), Band(15, 21, "severe")),
        source="Spitzer 2006",
        loinc_total="70274-6",
    ),
    Instrument.MADRS: InstrumentSpec(
        code=Instrument.MADRS,
        label="MADRS",
        item_count=10,
        item_max=6,
        bands=(Band(0, 6, "absent"), Band(7, 19, "mild"), Band(20, 34, "moderate"), Band(35, 60, "severe")),
        source="Snaith",
    ),
    Instrument.PAIN_NRS: InstrumentSpec(
        code=Instrument.PAIN_NRS,
        label="Pain NRS",
        item_count=1,
        item_max=10,
        bands=(),
        source="pain NRS 0-10",
    ),
}
INSTRUMENT_CODES: tuple[str, ...] = tuple(INSTRUMENTS)
# The portal lets a patient fill in only these (DESIGN.md users and roles).
PORTAL_INSTRUMENTS: tuple[str, ...] = (Instrument.PHQ9, Instrument.GAD7)
# Depression instruments (a rise in points and PHQ-9 item 9 matter); pain is read by NRS.
DEPRESSION_INSTRUMENTS: tuple[str, ...] = (Instrument.PHQ9, Instrument.MADRS)

# PHQ-9 item 9 ("thoughts that you would be better off dead, or of hurting yourself"):
# any answer above 0 raises this flag (CLINICAL.md §5), whatever the total.
FLAG_SUICIDE_RISK = "suicide_risk"
PHQ9_SUICIDE_ITEM = 9


@dataclass(frozen=True)
class Score:
    instrument: str
    items: tuple[int, ...]
    total: int
    severity: str | None
    flags: tuple[str, ...]


class ItemsInvalid(Exception):
    """Bad items: `errors` maps a field name (`items.9`, `items`) to a message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def severity_band(instrument: str, total: int) -> str | None:
    """The band name of a total (None for an instrument without bands)."""
    for band in INSTRUMENTS[instrument].bands:
        if band.low <= total <= band.high:
            return band.name
    return None


def item9_positive(instrument: str, items: Sequence[int]) -> bool:
    return instrument == Instrument.PHQ9 and len(items) >= PHQ9_SUICIDE_ITEM and items[PHQ9_SUICIDE_ITEM - 1] > 0


def items_parse(instrument: str, items: Any) -> tuple[int, ...]:
    """The items in order, or ItemsInvalid naming every missing or out-of-range item.

    `items` is a list (item 1 first) or an object keyed by item number ("1".."n").
    """
    spec = INSTRUMENTS.get(instrument)
    if spec is None:
        raise ItemsInvalid({"instrument": f"Unknown instrument; one of {', '.join(INSTRUMENT_CODES)}."})
    n = spec.item_count
    values: dict[int, Any]
    if isinstance(items, Mapping):
        values = {}
        unknown: list[str] = []
        for key, value in items.items():
            label = str(key).removeprefix("item").removeprefix("_")
            if label.isdigit() and 1 <= int(label) <= n:
                values[int(label)] = value
            else:
                unknown.append(str(key))
        if unknown:
            raise ItemsInvalid({"items": f"{spec.label} has items 1 to {n}; unknown: {', '.join(sorted(unknown))}."})
    elif isinstance(items, list | tuple):
        if len(items) > n:
            raise ItemsInvalid({"items": f"{spec.label} has {n} items; got {len(items)}."})
        values = {index + 1: value for index, value in enumerate(items)}
    else:
        raise ItemsInvalid({"items": f"A list of the {n} item scores of the {spec.label}, item 1 first."})
    errors: dict[str, str] = {}
    parsed: list[int] = []
    for number in range(1, n + 1):
        value = values.get(number)
        if value is None:
            errors[f"items.{number}"] = f"{spec.label} item {number} is missing."
        elif isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= spec.item_max:
            errors[f"items.{number}"] = (
                f"{spec.label} item {number} must be a whole number from 0 to {spec.item_max}; got {value!r}."
            )
        else:
            parsed.append(value)
    if errors:
        raise ItemsInvalid(errors)
    return tuple(parsed)


def score(instrument: str, items: Any) -> Score:
    """Total, severity band and flags computed from the items (CLINICAL.md §5)."""
    parsed = items_parse(instrument, items)
    total = sum(parsed)
    flags = (FLAG_SUICIDE_RISK,) if item9_positive(instrument, parsed) else ()
    return Score(
        instrument=instrument,
        items=parsed,
        total=total,
        severity=severity_band(instrument, total),
        flags=flags,
    )
