"""Chart data of score histories for the pages (read by clinic/static/clinic/scores.js)."""

from collections.abc import Iterable, Sequence
from typing import Any

from patients.models import Assessment
from patients.scoring import INSTRUMENTS

COLORS = {"PHQ9": "#0b5cad", "GAD7": "#b45309", "MADRS": "#7c3aed", "PAIN_NRS": "#0f766e"}


def score_chart_data(
    assessments: Iterable[Assessment],
    *,
    instruments: Sequence[str],
    lines: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """One series per instrument (oldest first) and the given reference lines."""
    rows = sorted((a for a in assessments if a.instrument in instruments), key=lambda a: a.administered_at)
    series = [
        {
            "label": INSTRUMENTS[code].label,
            "color": COLORS.get(code, "#1b2430"),
            "points": [{"t": a.administered_at.isoformat(), "y": a.total} for a in rows if a.instrument == code],
        }
        for code in instruments
    ]
    y_max = max((INSTRUMENTS[code].total_max for code in instruments), default=27)
    return {"series": [s for s in series if s["points"]] or series[:1], "lines": list(lines), "y_max": y_max}
