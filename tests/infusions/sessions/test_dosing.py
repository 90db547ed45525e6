"""The dose calculator against CLINICAL.md §1, row by row, each naming its source."""

from decimal import Decimal as D

import pytest

from infusions.dosing import DoseLimits, DoseRefused, dose_calculate, round_tenth

# CLINICAL.md §1 protocol rows, as limits (mode, unit, soft, hard, cap, step, duration, infused).
# The total caps (`max_total_mg`) have no primary source: they are working defaults [U] set by
# one rule (infusions/migrations/0002_protocol_library.py): the hard maximum at 150 kg for
# weight-based doses, times the duration for per-hour doses; the fixed-dose caps are the hard
# maximum itself. The tests derive them from that rule rather than copying the migration.
CAP_WEIGHT_KG = D("150")  # [U]


def cap(hard_max: str, *, per_kg: bool = True, hours: str = "1") -> D:
    return D(hard_max) * (CAP_WEIGHT_KG if per_kg else 1) * D(hours)


KET_IV_DEP = DoseLimits("mg_per_kg", "mg/kg", D("0.1"), D("0.75"), D("1.0"), cap("1.0"), None, 40, True, D("10"))
KET_IM_DEP = DoseLimits("mg_per_kg", "mg/kg", D("0.25"), D("0.5"), D("0.75"), cap("0.75"), None, 5, False, D("10"))
ESK_IN = DoseLimits("fixed_mg", "mg", D("56"), D("84"), D("84"), cap("84", per_kg=False), D("28"), 15, False, D("10"))
KET_IV_CRPS = DoseLimits(
    "mg_per_kg_per_h", "mg/kg/h", D("0.1"), D("1.0"), D("2.0"), cap("2.0", hours="4"), None, 240, True, D("10")
)
KET_IV_CRPS_FIXED = DoseLimits(
    "mg_per_h", "mg/h", D("10"), D("30"), D("40"), cap("40", per_kg=False, hours="96"), None, 96 * 60, True, D("10")
)
KET_IV_SCI = DoseLimits(
    "mg_per_kg_per_h", "mg/kg/h", D("0.1"), D("1.0"), D("2.0"), cap("2.0", hours="5"), None, 300, True, D("10")
)
KET_PO = DoseLimits("fixed_mg", "mg", D("25"), D("300"), D("300"), cap("300", per_kg=False), None, None, False, D("10"))


@pytest.mark.parametrize(
    ("limits", "dose", "weight", "conc", "expected"),
    [
        pytest.param(
            KET_IV_DEP,
            D("0.5"),
            D("82.4"),
            D("1"),
            (D("41.2"), D("61.8"), D("41.2"), D("61.8"), None),
            id="CLINICAL.md-1-worked-example-0.5mg/kg-82.4kg-40min-1mg/mL",
        ),
        pytest.param(
            KET_IV_CRPS,
            D("0.35"),
            D("70"),
            D("1"),
            (D("98.0"), D("24.5"), D("98.0"), D("24.5"), None),
            id="CLINICAL.md-1-worked-example-CRPS-0.35mg/kg/h-70kg-4h",
        ),
        pytest.param(
            KET_IV_SCI,
            D("0.42"),
            D("70"),
            D("1"),
            (D("147.0"), D("29.4"), D("147.0"), D("29.4"), None),
            id="ASRA-2018-SCI-0.42mg/kg/h-70kg-5h",
        ),
        pytest.param(
            KET_IV_CRPS_FIXED,
            D("22"),
            None,
            D("1"),
            (D("2112.0"), D("22.0"), D("2112.0"), D("22.0"), None),
            id="ASRA-2018-CRPS-22mg/h-96h",
        ),
        pytest.param(
            KET_IM_DEP,
            D("0.5"),
            D("82.4"),
            D("50"),
            (D("41.2"), None, D("0.8"), None, None),
            id="ket-im-dep-0.5mg/kg-bolus-50mg/mL",
        ),
        pytest.param(ESK_IN, D("56"), None, None, (D("56.0"), None, None, None, 2), id="Spravato-56mg-2-devices"),
        pytest.param(ESK_IN, D("84"), None, None, (D("84.0"), None, None, None, 3), id="Spravato-84mg-3-devices"),
        pytest.param(KET_PO, D("50"), None, None, (D("50.0"), None, None, None, None), id="Al-Shirawi-2017-oral-50mg"),
        pytest.param(
            KET_IV_DEP,
            D("0.5"),
            D("82.4"),
            D("2"),
            (D("41.2"), D("61.8"), D("20.6"), D("30.9"), None),
            id="ket-iv-dep-2mg/mL-bag",
        ),
    ],
)
def test_figures_per_dosing_mode(limits, dose, weight, conc, expected):
    r = dose_calculate(limits=limits, dose=dose, weight_kg=weight, concentration_mg_per_ml=conc)
    assert (r.total_dose_mg, r.rate_mg_per_h, r.volume_ml, r.rate_ml_per_h, r.devices) == expected


def test_rounding_happens_once_at_the_end_half_up():
    """CLINICAL.md §1: every figure from the exact inputs, rounded once, half-up, to 0.1.

    0.25 mg/kg x 60.3 kg = 15.075 mg -> 15.1 and the rate from the exact total, 15.075 x 60/40 = 22.6125 -> 22.6,
    whereas feeding the rounded total back in would give 15.1 x 1.5 = 22.65 -> 22.7."""
    r = dose_calculate(limits=KET_IV_DEP, dose=D("0.25"), weight_kg=D("60.3"), concentration_mg_per_ml=D("1"))
    assert r.total_dose_mg == D("15.1")
    # exact rate 15.075 * 1.5 = 22.6125 -> 22.6; from the rounded total 15.1 * 1.5 = 22.65 -> 22.7 (wrong)
    assert r.rate_mg_per_h == D("22.6")
    assert round_tenth(D("15.25")) == D("15.3")  # half-up, where banker's rounding gives 15.2


@pytest.mark.parametrize(
    ("limits", "dose", "weight", "conc", "rule"),
    [
        pytest.param(KET_IV_DEP, D("1.01"), D("70"), D("1"), "dose_above_hard_max", id="ket-iv-dep-hard-max-1.0mg/kg"),
        pytest.param(KET_IM_DEP, D("0.76"), D("70"), D("50"), "dose_above_hard_max", id="ket-im-dep-hard-max-0.75[U]"),
        pytest.param(ESK_IN, D("112"), None, None, "dose_above_hard_max", id="Spravato-hard-max-84mg"),
        pytest.param(KET_IV_CRPS, D("2.1"), D("70"), D("1"), "dose_above_hard_max", id="ASRA-CRPS-hard-max-2.0mg/kg/h"),
        pytest.param(
            KET_IV_CRPS_FIXED, D("41"), None, D("1"), "dose_above_hard_max", id="CRPS-fixed-hard-max-40mg/h[U]"
        ),
        pytest.param(KET_PO, D("325"), None, None, "dose_above_hard_max", id="oral-hard-max-300mg[U]"),
        pytest.param(KET_IV_DEP, D("1.0"), D("160"), D("1"), "total_above_cap", id="ket-iv-dep-total-cap-150mg[U]"),
        pytest.param(ESK_IN, D("70"), None, None, "dose_step", id="Spravato-28mg-steps"),
        pytest.param(
            KET_IV_DEP, D("0.5"), D("70"), D("10.1"), "iv_concentration_above_max", id="Ketalar-IV-max-10mg/mL[U]"
        ),
        pytest.param(
            KET_IV_DEP, D("0.5"), D("70"), D("100"), "iv_concentration_above_max", id="Ketalar-undiluted-100mg/mL"
        ),
        pytest.param(KET_IV_DEP, D("0.5"), None, D("1"), "weight_missing", id="weight-based-needs-weight"),
        pytest.param(KET_IV_DEP, D("0"), D("70"), D("1"), "dose_not_positive", id="zero-dose"),
    ],
)
def test_refusals_name_the_rule(limits, dose, weight, conc, rule):
    with pytest.raises(DoseRefused) as refused:
        dose_calculate(limits=limits, dose=dose, weight_kg=weight, concentration_mg_per_ml=conc)
    assert refused.value.rule == rule


def test_im_concentration_may_exceed_the_iv_limit():
    """The 10 mg/mL limit is for IV (Ketalar label); IM uses 50-100 mg/mL vials."""
    r = dose_calculate(limits=KET_IM_DEP, dose=D("0.5"), weight_kg=D("80"), concentration_mg_per_ml=D("100"))
    assert r.volume_ml == D("0.4")


@pytest.mark.parametrize(
    ("limits", "dose", "outside"),
    [
        pytest.param(KET_IV_DEP, D("0.1"), False, id="ket-iv-dep-soft-min-0.1-inside"),
        pytest.param(KET_IV_DEP, D("0.75"), False, id="ket-iv-dep-soft-max-0.75-inside"),
        pytest.param(KET_IV_DEP, D("0.8"), True, id="ket-iv-dep-0.8-above-soft"),
        pytest.param(KET_IV_DEP, D("0.05"), True, id="ket-iv-dep-0.05-below-soft"),
        pytest.param(ESK_IN, D("28"), True, id="Spravato-28mg-below-56"),
        pytest.param(KET_IM_DEP, D("0.6"), True, id="ket-im-dep-0.6-above-0.5"),
        pytest.param(KET_IV_CRPS, D("1.5"), True, id="ASRA-CRPS-1.5-above-1.0"),
    ],
)
def test_soft_range(limits, dose, outside):
    weight = D("70") if limits.dosing_mode.startswith("mg_per_kg") else None
    conc = D("1") if limits.infused else None
    r = dose_calculate(limits=limits, dose=dose, weight_kg=weight, concentration_mg_per_ml=conc)
    assert r.outside_soft_range is outside
