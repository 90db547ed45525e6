"""FHIR R4 search requests (https://hl7.org/fhir/R4/search.html), read into typed values. Pure:
no queries; `monitoring.fhir.selectors` turns the values into database filters.

What each resource supports is declared once, in `RESOURCES`: the parser accepts exactly
those parameters and the CapabilityStatement (`monitoring.fhir.capability`) lists exactly those.

- Several values in one parameter (`a,b`) are OR; the same parameter twice is AND.
- Unknown or unsupported parameters (and modifiers, prefixes, `_sort` keys and `_summary`
  values we do not support) follow the client's `Prefer: handling=strict|lenient` header
  (R4 search §3.1.1.3): strict answers 400 with an OperationOutcome; lenient (the default,
  `FHIR_SEARCH_HANDLING`) leaves them out, says so in an OperationOutcome entry of the Bundle,
  and the `self` link shows only the parameters that were used.
- A value that cannot be read (`date=yesterday`, `_count=-1`) is always a 400.
"""

import calendar
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from enum import StrEnum

from django.utils.dateparse import parse_datetime


class ParamType(StrEnum):
    TOKEN = "token"  # noqa: S105 - a FHIR search parameter type, not a secret
    DATE = "date"
    REFERENCE = "reference"
    STRING = "string"


@dataclass(frozen=True)
class ParamDef:
    name: str
    type: ParamType
    documentation: str
    modifiers: tuple[str, ...] = ()


@dataclass(frozen=True)
class ResourceSearch:
    """What a resource's search supports. `sorts` are the `_sort` keys (each also as `-key`)."""

    type: str
    params: tuple[ParamDef, ...]
    sorts: tuple[str, ...]
    documentation: str

    def param(self, name: str) -> ParamDef | None:
        return next((p for p in self.params if p.name == name), None)


_ID = ParamDef("_id", ParamType.TOKEN, "The logical id of the resource (several, comma-separated: any of them).")
_PATIENT = ParamDef(
    "patient",
    ParamType.REFERENCE,
    "The patient: `17`, `Patient/17` or the full URL. Staff must name one patient; a patient account may "
    "leave it out (their own record).",
)

RESOURCES: dict[str, ResourceSearch] = {
    "Patient": ResourceSearch(
        "Patient",
        (
            _ID,
            ParamDef(
                "identifier",
                ParamType.TOKEN,
                "The medical record number: `system|value`, `value` or `system|` (the MRN system is the "
                "clinic's FHIR_MRN_SYSTEM).",
            ),
            ParamDef(
                "name",
                ParamType.STRING,
                "Family or given name, starts with (case-insensitive); `:exact` for an exact, case-sensitive "
                "match, `:contains` for a part anywhere.",
                modifiers=("exact", "contains"),
            ),
            ParamDef("birthdate", ParamType.DATE, "Date of birth, with the prefixes eq ne lt gt le ge sa eb."),
        ),
        sorts=("birthdate",),
        documentation="Read and search. Staff of the clinical roles see every patient; a patient sees their own.",
    ),
    "Observation": ResourceSearch(
        "Observation",
        (
            _ID,
            _PATIENT,
            ParamDef("subject", ParamType.REFERENCE, "As `patient` (a Patient only; `subject:Patient=17`)."),
            ParamDef(
                "category",
                ParamType.TOKEN,
                "`vital-signs` or `survey` (system http://terminology.hl7.org/CodeSystem/observation-category); "
                "comma-separated: any of them.",
            ),
            ParamDef(
                "code",
                ParamType.TOKEN,
                "`system|code`, `code` or `system|` (LOINC: http://loinc.org); comma-separated: any of them.",
            ),
            ParamDef(
                "date",
                ParamType.DATE,
                "When the observation was made (effectiveDateTime), with the prefixes eq ne lt gt le ge sa eb; "
                "repeat for a range (`date=ge2024-01-01&date=lt2024-02-01`).",
            ),
        ),
        sorts=("date",),
        documentation=(
            "Vital signs (each vitals set as BP panel, heart rate, SpO2, respiratory rate, temperature; weights "
            "and heights) and questionnaire scores. Searches return the current observations: a corrected set's "
            "observations are replaced by the correction's (which name them in `derivedFrom`); reading a "
            "replaced one by id shows it `amended`, or `entered-in-error` when the correction marked an artefact."
        ),
    ),
    "Appointment": ResourceSearch(
        "Appointment",
        (
            _ID,
            _PATIENT,
            ParamDef("date", ParamType.DATE, "The appointment's start, with the prefixes eq ne lt gt le ge sa eb."),
            ParamDef(
                "status",
                ParamType.TOKEN,
                "booked, checked-in, arrived, fulfilled, cancelled, noshow; comma-separated: any of them.",
            ),
        ),
        sorts=("date",),
        documentation="The patient's appointments (cancelled ones included, with their status).",
    ),
    "MedicationAdministration": ResourceSearch(
        "MedicationAdministration",
        (
            _ID,
            _PATIENT,
            ParamDef(
                "effective-time",
                ParamType.DATE,
                "When the drug was given (the effectivePeriod; an ongoing administration has no end), with the "
                "prefixes eq ne lt gt le ge sa eb.",
            ),
        ),
        sorts=("effective-time",),
        documentation="Every started infusion session: the drug (RxNorm), the route (SNOMED CT), the dose given.",
    ),
}

# Result parameters every search takes (R4 search §3.1.1.5); `_offset` is the paging position
# our `next`/`previous` links carry; `_format` and `_pretty` apply to every interaction.
RESULT_PARAMS = ("_count", "_offset", "_sort", "_summary", "_format", "_pretty")
DATE_PREFIXES = ("eq", "ne", "lt", "gt", "le", "ge", "sa", "eb")
UNSUPPORTED_DATE_PREFIXES = ("ap",)  # R4's "approximately": no agreed range, so not offered
SUMMARY_VALUES = ("count", "false")
MAX_OFFSET = 10**9  # far past any history; beyond PostgreSQL's OFFSET range is refused, not a 500


class SearchError(Exception):
    """A search the server answers with 400 and an OperationOutcome naming the parameter."""

    def __init__(self, parameter: str, message: str, *, code: str = "invalid") -> None:
        super().__init__(message)
        self.parameter = parameter
        self.message = message
        self.code = code  # an R4 issue-type code: invalid, not-supported, ...


@dataclass(frozen=True)
class Token:
    """`system|code`: `system` None means any system, "" means none; `code` None means any code."""

    system: str | None
    code: str | None

    def matches(self, system: str, code: str) -> bool:
        return (self.system is None or self.system == system) and (self.code is None or self.code == code)


@dataclass(frozen=True)
class DateValue:
    """A date search value: its prefix and the range its precision covers, `[low, high)`."""

    prefix: str
    low: datetime
    high: datetime


@dataclass(frozen=True)
class StringValue:
    modifier: str  # "" (starts with, case-insensitive), "exact" or "contains"
    text: str


@dataclass
class Search:
    """A parsed search. `filters[name]` is a list (AND) of lists (OR) of values."""

    resource: ResourceSearch
    filters: dict[str, list[list[object]]] = field(default_factory=dict)
    count: int = 50
    offset: int = 0
    sort: list[tuple[str, bool]] = field(default_factory=list)  # (key, descending)
    summary_count: bool = False
    used: list[tuple[str, str]] = field(default_factory=list)  # what the `self` link shows
    ignored: list[str] = field(default_factory=list)  # lenient handling: what was left out

    def values(self, name: str) -> list[list[object]]:
        return self.filters.get(name, [])


def prefer_strict(prefer_header: str, default: str) -> bool:
    """`Prefer: handling=strict` (or `lenient`) among the header's preferences."""
    for part in prefer_header.split(","):
        key, _, value = part.strip().partition("=")
        if key.strip().lower() == "handling" and value.strip().strip('"').lower() in ("strict", "lenient"):
            return value.strip().strip('"').lower() == "strict"
    return default == "strict"


_DATE_RE = re.compile(r"^(?P<y>\d{4})(-(?P<m>\d{2})(-(?P<d>\d{2})(T(?P<time>.+))?)?)?$")


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def date_range(text: str, zone: tzinfo) -> tuple[datetime, datetime]:
    """The range `[low, high)` a FHIR date(Time) search value covers at its precision (a year,
    a month, a day, a minute, a second); a value without a zone is in `zone` (the server's)."""
    match = _DATE_RE.match(text)
    if not match:
        raise ValueError(text)
    year, month, day = int(match["y"]), int(match["m"] or 1), int(match["d"] or 1)
    start = date(year, month, day)  # raises ValueError for 2024-02-30
    if match["time"] is None:
        low = datetime.combine(start, time.min, tzinfo=zone)
        if match["d"]:
            return low, low + timedelta(days=1)
        end = _add_months(start, 1) if match["m"] else date(year + 1, 1, 1)
        return low, datetime.combine(end, time.min, tzinfo=zone)
    clock = match["time"]
    parsed = parse_datetime(f"{start.isoformat()}T{clock}")
    if parsed is None:
        raise ValueError(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    bare = re.sub(r"(Z|[+-]\d{2}:?\d{2})$", "", clock)
    if "." in bare:
        step = timedelta(microseconds=1)
    elif bare.count(":") >= 2:
        step = timedelta(seconds=1)
    else:
        step = timedelta(minutes=1)
    return parsed, parsed + step


def _token(raw: str) -> Token:
    if "|" not in raw:
        return Token(None, raw or None)
    system, _, code = raw.partition("|")
    return Token(system, code or None)


def _reference(raw: str, resource: str = "Patient") -> str:
    """The id in `17`, `Patient/17` or `https://host/fhir/Patient/17`."""
    text = raw.rstrip("/")
    marker = f"{resource}/"
    if marker in text:
        text = text.rsplit(marker, 1)[1]
    if not text or "/" in text:
        raise ValueError(raw)
    return text


class _Reader:
    def __init__(self, resource: ResourceSearch, *, strict: bool) -> None:
        self.search = Search(resource=resource)
        self.strict = strict

    def unsupported(self, parameter: str, message: str) -> None:
        if self.strict:
            raise SearchError(parameter, message, code="not-supported")
        self.search.ignored.append(message)

    def read(self, key: str, raw: str, *, default_count: int, max_count: int, zone: tzinfo) -> None:
        name, _, modifier = key.partition(":")
        if name in ("_format", "_pretty"):
            return  # content negotiation; not part of the search
        if name == "_count":
            if not raw.isdigit():
                raise SearchError(key, "_count must be a whole number (0 for the total only).")
            self.search.count = min(int(raw), max_count)
            self.search.summary_count = self.search.summary_count or int(raw) == 0
            return
        if name == "_offset":
            if not raw.isdigit() or int(raw) > MAX_OFFSET:
                raise SearchError(key, f"_offset must be a whole number up to {MAX_OFFSET}.")
            self.search.offset = int(raw)
            return
        if name == "_summary":
            if raw not in SUMMARY_VALUES:
                self.unsupported(key, f"_summary={raw} is not supported (only count and false); it was ignored.")
                return
            self.search.summary_count = self.search.summary_count or raw == "count"
            self.search.used.append((key, raw))
            return
        if name == "_sort":
            self._sort(key, raw)
            return
        definition = self.search.resource.param(name)
        if definition is None:
            self.unsupported(key, f"{self.search.resource.type} has no search parameter {name!r}; it was ignored.")
            return
        if modifier and not (
            modifier in definition.modifiers or (definition.type == ParamType.REFERENCE and modifier == "Patient")
        ):
            self.unsupported(key, f"The modifier :{modifier} of {name!r} is not supported; the parameter was ignored.")
            return
        values = raw.split(",")
        if not raw or any(v == "" for v in values):
            raise SearchError(key, f"{name}: give a value (several, comma-separated: any of them).")
        parsed: list[object] = []
        for value in values:
            item = self._value(definition, key, modifier, value, zone)
            if item is None:
                return  # an unsupported prefix, reported; the parameter is left out
            parsed.append(item)
        self.search.filters.setdefault(name, []).append(parsed)
        self.search.used.append((key, raw))

    def _value(self, definition: ParamDef, key: str, modifier: str, value: str, zone: tzinfo) -> object | None:
        if definition.type == ParamType.TOKEN:
            return _token(value)
        if definition.type == ParamType.STRING:
            return StringValue(modifier, value)
        if definition.type == ParamType.REFERENCE:
            try:
                return _reference(value)
            except ValueError as error:
                raise SearchError(key, f"{definition.name}: a Patient reference (17 or Patient/17).") from error
        prefix, text = value[:2], value[2:]
        if not prefix.isalpha():
            prefix, text = "eq", value
        if prefix in UNSUPPORTED_DATE_PREFIXES:
            self.unsupported(key, f"The date prefix {prefix!r} of {definition.name!r} is not supported; ignored.")
            return None
        try:
            if prefix not in DATE_PREFIXES:
                raise ValueError(value)
            low, high = date_range(text, zone)
        except ValueError as error:
            raise SearchError(
                key, f"{definition.name}: a FHIR date, such as 2024-05-17 or ge2024-05-17T10:00:00+01:00."
            ) from error
        return DateValue(prefix, low, high)

    def _sort(self, key: str, raw: str) -> None:
        keys: list[tuple[str, bool]] = []
        for part in raw.split(","):
            name = part.removeprefix("-")
            if name not in self.search.resource.sorts:
                self.unsupported(key, f"_sort={part} is not supported (only {', '.join(self.search.resource.sorts)}).")
                return
            keys.append((name, part.startswith("-")))
        self.search.sort = keys
        self.search.used.append((key, raw))


def search_parse(
    resource: ResourceSearch,
    query: list[tuple[str, str]],
    *,
    strict: bool,
    default_count: int,
    max_count: int,
    zone: tzinfo,
) -> Search:
    """Read a search's query string (as (key, value) pairs, in order). Raises SearchError."""
    reader = _Reader(resource, strict=strict)
    reader.search.count = default_count
    for key, raw in query:
        reader.read(key, raw, default_count=default_count, max_count=max_count, zone=zone)
    return reader.search
