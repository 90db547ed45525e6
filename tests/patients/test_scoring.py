"""Questionnaire scoring, CLINICAL.md §5: every band edge of every instrument, from the items.

Sources: PHQ-9 bands Kroenke 2001; GAD-7 bands Spitzer 2006; MADRS bands Snaith.
"""

import pytest

from patients.scoring import FLAG_SUICIDE_RISK, INSTRUMENTS, ItemsInvalid, items_parse, score, severity_band


def items_for(instrument: str, total: int, *, item9: int = 0) -> list[int]:
    """Items that add up to `total`, filled from item 1 (item 9 of the PHQ-9 set apart)."""
    spec = INSTRUMENTS[instrument]
    items = [0] * spec.item_count
    remaining = total
    if instrument == "PHQ9":
        items[8] = item9
        remaining -= item9
    order = [i for i in range(spec.item_count) if not (instrument == "PHQ9" and i == 8)]
    if instrument == "PHQ9" and not item9:
        order.append(8)  # item 9 only when items 1-8 cannot hold the total (27)
    for index in order:
        take = min(spec.item_max, remaining)
        items[index] = take
        remaining -= take
    assert remaining == 0
    return items


PHQ9_KROENKE_2001 = [
    (0, "minimal"),
    (4, "minimal"),
    (5, "mild"),
    (9, "mild"),
    (10, "moderate"),
    (14, "moderate"),
    (15, "moderately_severe"),
    (19, "moderately_severe"),
    (20, "severe"),
    (27, "severe"),
]
GAD7_SPITZER_2006 = [
    (0, "minimal"),
    (4, "minimal"),
    (5, "mild"),
    (9, "mild"),
    (10, "moderate"),
    (14, "moderate"),
    (15, "severe"),
    (21, "severe"),
]
MADRS_SNAITH = [
    (0, "absent"),
    (6, "absent"),
    (7, "mild"),
    (19, "mild"),
    (20, "moderate"),
    (34, "moderate"),
    (35, "severe"),
    (60, "severe"),
]


@pytest.mark.parametrize(
    ("total", "band"), PHQ9_KROENKE_2001, ids=[f"Kroenke2001-PHQ9-{t}-{b}" for t, b in PHQ9_KROENKE_2001]
)
def test_phq9_bands_kroenke_2001(total, band):
    items = items_for("PHQ9", total)
    result = score("PHQ9", items)
    assert (result.total, result.severity) == (total, band)
    assert result.flags == (("suicide_risk",) if items[8] else ())


@pytest.mark.parametrize(
    ("total", "band"), GAD7_SPITZER_2006, ids=[f"Spitzer2006-GAD7-{t}-{b}" for t, b in GAD7_SPITZER_2006]
)
def test_gad7_bands_spitzer_2006(total, band):
    result = score("GAD7", items_for("GAD7", total))
    assert (result.total, result.severity) == (total, band)


@pytest.mark.parametrize(("total", "band"), MADRS_SNAITH, ids=[f"Snaith-MADRS-{t}-{b}" for t, b in MADRS_SNAITH])
def test_madrs_bands_snaith(total, band):
    result = score("MADRS", items_for("MADRS", total))
    assert (result.total, result.severity) == (total, band)


@pytest.mark.parametrize("value", [0, 5, 10])
def test_pain_nrs_has_no_band(value):
    result = score("PAIN_NRS", [value])
    assert (result.total, result.severity, result.flags) == (value, None, ())


@pytest.mark.parametrize(
    ("instrument", "total"), [("PHQ9", 28), ("GAD7", 22), ("MADRS", 61), ("PAIN_NRS", 11), ("PHQ9", -1)]
)
def test_totals_outside_the_scale_have_no_band(instrument, total):
    assert severity_band(instrument, total) is None


@pytest.mark.parametrize("item9", [1, 2, 3])
def test_phq9_item9_above_zero_flags_suicide_risk_whatever_the_total(item9):
    """CLINICAL.md §5: PHQ-9 item 9 > 0 raises an urgent review, even at a minimal total."""
    result = score("PHQ9", items_for("PHQ9", item9, item9=item9))
    assert result.severity == "minimal"
    assert result.flags == (FLAG_SUICIDE_RISK,)


def test_item9_flag_is_phq9_only():
    assert score("MADRS", [0, 0, 0, 0, 0, 0, 0, 0, 6, 0]).flags == ()


def test_items_as_an_object_keyed_by_number():
    result = score("GAD7", {str(n): 1 for n in range(1, 8)})
    assert result.items == (1,) * 7
    assert result.total == 7


@pytest.mark.parametrize(
    ("instrument", "items", "field", "words"),
    [
        ("PHQ9", [0, 0, 0, 0, 0, 0, 0, 0, 4], "items.9", "item 9 must be a whole number from 0 to 3"),
        ("PHQ9", [0] * 8, "items.9", "item 9 is missing"),
        ("PHQ9", [0, -1, 0, 0, 0, 0, 0, 0, 0], "items.2", "item 2"),
        ("PHQ9", [0, 1.5, 0, 0, 0, 0, 0, 0, 0], "items.2", "whole number"),
        ("PHQ9", [0, "2", 0, 0, 0, 0, 0, 0, 0], "items.2", "whole number"),
        ("PHQ9", [True, 0, 0, 0, 0, 0, 0, 0, 0], "items.1", "whole number"),
        ("GAD7", [0, 0, 0, 0, 0, 0, None], "items.7", "item 7 is missing"),
        ("MADRS", [0, 0, 0, 0, 0, 0, 0, 0, 0, 7], "items.10", "from 0 to 6"),
        ("PAIN_NRS", [11], "items.1", "from 0 to 10"),
        ("PAIN_NRS", [], "items.1", "missing"),
        ("PHQ9", [0] * 10, "items", "has 9 items"),
        ("PHQ9", {"10": 1}, "items", "unknown: 10"),
        ("PHQ9", "0,0,0", "items", "A list"),
        ("BDI", [0], "instrument", "Unknown instrument"),
    ],
)
def test_bad_items_are_refused_naming_the_item(instrument, items, field, words):
    with pytest.raises(ItemsInvalid) as caught:
        items_parse(instrument, items)
    assert field in caught.value.errors
    assert words in caught.value.errors[field]
