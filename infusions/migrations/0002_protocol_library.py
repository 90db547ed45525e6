"""The standard protocol library, CLINICAL.md §1. Values are defaults an admin may change.

`[U]` marks a working default that no primary source fixed; `max_total_mg` caps are all
[U]: the hard maximum at 150 kg (weight-based) or over the whole duration, rounded.
"""

from decimal import Decimal as D

from django.db import migrations

PREP_IV = (
    "Nothing to eat for 4 hours before your appointment and clear fluids only until 2 hours "
    "before [U]. Arrive 15 minutes early. Bring an adult escort who will take you home. Do not "
    "drive, cycle or operate machinery until the next day after a night's sleep."
)
PREP_ESK = (
    "Do not eat for at least 2 hours or drink for 30 minutes before your dose (Spravato label). "
    "Arrive 15 minutes early. You will stay at least 2 hours after the dose. Bring an adult "
    "escort: no driving until the next day after a restful sleep (Spravato label, REMS)."
)
PREP_PO = (
    "Take with a light meal unless told otherwise. Stay for 60 minutes of observation after the "
    "first doses. Do not drive until the next day."
)

LIBRARY = [
    dict(
        code="ket-iv-dep", name="Ketamine IV for depression", drug="ketamine", route="iv",
        dosing_mode="mg_per_kg", default_dose=D("0.5"), soft_min=D("0.1"), soft_max=D("0.75"),
        hard_max=D("1.0"), max_total_mg=D("150"), default_concentration_mg_per_ml=D("1"),
        duration_minutes=40, observation_minutes=60, induction_sessions=6, induction_sessions_per_week=3,
        schedule="Induction 6 sessions, 3 a week over about 2 weeks (Murrough 2013; Phillips 2019).",
        evidence_grade="high", evidence="Murrough 2013; Phillips 2019. Observation 60 min [U].",
        preparation_instructions=PREP_IV,
    ),
    dict(
        code="ket-im-dep", name="Ketamine IM for depression", drug="ketamine", route="im",
        dosing_mode="mg_per_kg", default_dose=D("0.5"), soft_min=D("0.25"), soft_max=D("0.5"),
        hard_max=D("0.75"), max_total_mg=D("112.5"), default_concentration_mg_per_ml=D("50"),
        duration_minutes=5, observation_minutes=60, induction_sessions=6, induction_sessions_per_week=3,
        schedule="As IV: 6 sessions, 3 a week.", evidence_grade="medium",
        evidence="Hard max 0.75 mg/kg [U]; observation 60 min [U].", preparation_instructions=PREP_IV,
    ),
    dict(
        code="esk-in-trd", name="Esketamine intranasal (Spravato) for TRD", drug="esketamine",
        route="intranasal", dosing_mode="fixed_mg", default_dose=D("56"), soft_min=D("56"),
        soft_max=D("84"), hard_max=D("84"), max_total_mg=D("84"), dose_step_mg=D("28"),
        duration_minutes=15, observation_minutes=120, induction_sessions=8, induction_sessions_per_week=2,
        schedule="Weeks 1-4 twice weekly; weeks 5-8 weekly; week 9 on weekly or every 2 weeks (label).",
        evidence_grade="medium", evidence="Spravato label and REMS; 28 mg per device.",
        preparation_instructions=PREP_ESK,
    ),
    dict(
        code="ket-iv-crps", name="Ketamine IV for CRPS (weight-based)", drug="ketamine", route="iv",
        dosing_mode="mg_per_kg_per_h", default_dose=D("0.35"), soft_min=D("0.1"), soft_max=D("1.0"),
        hard_max=D("2.0"), max_total_mg=D("1200"), default_concentration_mg_per_ml=D("1"),
        duration_minutes=240, observation_minutes=60, induction_sessions=10, induction_sessions_per_week=7,
        schedule="Daily x 10 days (ASRA 2018, grade B).", evidence_grade="medium",
        evidence="ASRA/AAPM/ASA 2018 consensus, grade B. Observation 60 min [U].",
        preparation_instructions=PREP_IV,
    ),
    dict(
        code="ket-iv-crps-fixed", name="Ketamine IV for CRPS, inpatient fixed rate", drug="ketamine",
        route="iv", dosing_mode="mg_per_h", default_dose=D("22"), soft_min=D("10"), soft_max=D("30"),
        hard_max=D("40"), max_total_mg=D("3840"), default_concentration_mg_per_ml=D("1"),
        duration_minutes=96 * 60, observation_minutes=0, induction_sessions=1, induction_sessions_per_week=1,
        schedule="Once, over 4 days (ASRA 2018, grade B).", evidence_grade="medium",
        evidence="ASRA 2018, grade B. Soft range 10-30 mg/h and hard max 40 mg/h [U].",
        preparation_instructions=PREP_IV,
    ),
    dict(
        code="ket-iv-sci", name="Ketamine IV for spinal cord injury pain", drug="ketamine", route="iv",
        dosing_mode="mg_per_kg_per_h", default_dose=D("0.42"), soft_min=D("0.1"), soft_max=D("1.0"),
        hard_max=D("2.0"), max_total_mg=D("1500"), default_concentration_mg_per_ml=D("1"),
        duration_minutes=300, observation_minutes=60, induction_sessions=7, induction_sessions_per_week=7,
        schedule="Daily x 7 days (ASRA 2018, grade C).", evidence_grade="low",
        evidence="ASRA 2018, grade C. Observation 60 min [U].", preparation_instructions=PREP_IV,
    ),
    dict(
        code="ket-po", name="Ketamine oral", drug="ketamine", route="oral", dosing_mode="fixed_mg",
        default_dose=D("50"), soft_min=D("25"), soft_max=D("300"), hard_max=D("300"),
        max_total_mg=D("300"), duration_minutes=None, observation_minutes=60, induction_sessions=1,
        induction_sessions_per_week=2,
        schedule="Every 3 days, titrated in +25 mg steps (Al Shirawi 2017).", evidence_grade="low",
        evidence="Al Shirawi 2017. Hard max 300 mg [U]; observation 60 min [U].",
        preparation_instructions=PREP_PO,
    ),
]


def load(apps, schema_editor):
    Protocol = apps.get_model("infusions", "Protocol")
    for row in LIBRARY:
        Protocol.objects.update_or_create(code=row["code"], defaults=row)


def unload(apps, schema_editor):
    apps.get_model("infusions", "Protocol").objects.filter(code__in=[r["code"] for r in LIBRARY]).delete()


class Migration(migrations.Migration):
    dependencies = [("infusions", "0001_initial")]
    operations = [migrations.RunPython(load, unload)]
