"""The protocol library loaded by migration equals CLINICAL.md §1, all seven rows."""

from decimal import Decimal as D

import pytest

from infusions.protocols.models import Protocol

pytestmark = pytest.mark.django_db

# code: (drug, route, mode, default, soft_min, soft_max, hard_max, duration min, observe min, evidence)
CLINICAL_MD_TABLE_1 = {
    "ket-iv-dep": ("ketamine", "iv", "mg_per_kg", "0.5", "0.1", "0.75", "1.0", 40, 60, "high"),
    "ket-im-dep": ("ketamine", "im", "mg_per_kg", "0.5", "0.25", "0.5", "0.75", 5, 60, "medium"),
    "esk-in-trd": ("esketamine", "intranasal", "fixed_mg", "56", "56", "84", "84", 15, 120, "medium"),
    "ket-iv-crps": ("ketamine", "iv", "mg_per_kg_per_h", "0.35", "0.1", "1.0", "2.0", 240, 60, "medium"),
    "ket-iv-crps-fixed": ("ketamine", "iv", "mg_per_h", "22", "10", "30", "40", 96 * 60, 0, "medium"),
    "ket-iv-sci": ("ketamine", "iv", "mg_per_kg_per_h", "0.42", "0.1", "1.0", "2.0", 300, 60, "low"),
    "ket-po": ("ketamine", "oral", "fixed_mg", "50", "25", "300", "300", None, 60, "low"),
}


def test_all_seven_rows_and_nothing_else():
    assert set(Protocol.objects.values_list("code", flat=True)) == set(CLINICAL_MD_TABLE_1)


@pytest.mark.parametrize("code", CLINICAL_MD_TABLE_1)
def test_row_matches_clinical_md(code):
    p = Protocol.objects.get(code=code)
    drug, route, mode, default, soft_min, soft_max, hard_max, duration, observe, grade = CLINICAL_MD_TABLE_1[code]
    assert (p.drug, p.route, p.dosing_mode) == (drug, route, mode)
    assert (p.default_dose, p.soft_min, p.soft_max, p.hard_max) == (D(default), D(soft_min), D(soft_max), D(hard_max))
    assert (p.duration_minutes, p.observation_minutes, p.evidence_grade) == (duration, observe, grade)
    assert p.max_total_mg is not None
    assert p.schedule
    assert p.preparation_instructions
    # CLINICAL.md §6 maintenance parameters per protocol.
    assert (p.min_interval_days, p.extend_step_days, p.max_interval_days, p.exit_after_stable_at_max) == (7, 7, 112, 3)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        # Working defaults [U] (no primary source): the hard maximum at 150 kg (weight-based),
        # over the whole duration (per hour), or the hard maximum itself (fixed doses).
        ("ket-iv-dep", D("1.0") * 150),
        ("ket-im-dep", D("0.75") * 150),
        ("esk-in-trd", D("84")),
        ("ket-iv-crps", D("2.0") * 150 * 4),
        ("ket-iv-crps-fixed", D("40") * 96),
        ("ket-iv-sci", D("2.0") * 150 * 5),
        ("ket-po", D("300")),
    ],
)
def test_total_caps_follow_the_documented_working_default(code, expected):
    assert Protocol.objects.get(code=code).max_total_mg == expected


def test_esketamine_moves_in_28mg_steps():
    """CLINICAL.md §1: esketamine doses move in 28 mg steps (one device)."""
    assert Protocol.objects.get(code="esk-in-trd").dose_step_mg == D("28")


def test_induction_schedules():
    """CLINICAL.md §1: ket-iv-dep 6 sessions 3 a week (Murrough 2013); esketamine twice weekly (label)."""
    iv = Protocol.objects.get(code="ket-iv-dep")
    esk = Protocol.objects.get(code="esk-in-trd")
    assert (iv.induction_sessions, iv.induction_sessions_per_week) == (6, 3)
    assert esk.induction_sessions_per_week == 2


def test_protocol_api_lists_every_contract_field(api, users):
    r = api(users["nurse"]).get("/api/v1/protocols/")
    assert r.status_code == 200
    row = next(p for p in r.json() if p["code"] == "ket-iv-dep")
    contract = {
        "id",
        "code",
        "drug",
        "route",
        "dosing_mode",
        "unit",
        "default_dose",
        "soft_min",
        "soft_max",
        "hard_max",
        "max_total_mg",
        "duration_minutes",
        "observation_minutes",
        "evidence_grade",
    }
    assert contract <= set(row)
    assert (row["unit"], row["default_dose"], row["hard_max"]) == ("mg/kg", 0.5, 1.0)


def test_only_admins_edit_protocols_in_the_admin(client, users):
    """Issue: the library is editable in the admin by admins only."""
    p = Protocol.objects.get(code="ket-iv-dep")
    url = f"/admin/infusions/protocol/{p.pk}/change/"
    for role in ("clinician", "nurse", "frontdesk", "patient"):
        user = users[role]
        user.is_staff = True  # even with admin-site access, only the admin role may edit
        user.save()
        client.force_login(user)
        assert client.get(url).status_code == 403, role
    admin = users["admin"]
    admin.is_staff = True
    admin.save()
    client.force_login(admin)
    assert client.get(url).status_code == 200
    r = client.post(url, {**_form(p), "observation_minutes": 75})
    assert r.status_code == 302, r.content[:2000]
    p.refresh_from_db()
    assert p.observation_minutes == 75


def _form(p: Protocol) -> dict:
    data = {}
    for field in p._meta.fields:
        if field.name in ("id", "created_at", "updated_at"):
            continue
        value = getattr(p, field.attname)
        if value is None:
            value = ""
        if isinstance(value, bool):
            if value:
                data[field.name] = "on"
            continue
        data[field.name] = value
    return data
