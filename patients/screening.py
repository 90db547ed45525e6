"""Contraindication screening rules (CLINICAL.md §2), pure functions.

Sources: Spravato label; ASRA/AAPM/ASA 2018 consensus; program exclusions.
"""

from dataclasses import dataclass
from datetime import date

# Each absolute answer blocks booking an infusion and starting a session.
ABSOLUTE_KEYS: tuple[str, ...] = (
    "pregnant_or_breastfeeding",
    "aneurysm_or_avm",
    "intracerebral_haemorrhage",
    "ketamine_hypersensitivity",
    "active_psychosis_or_mania",
    "uncontrolled_hypertension",
)
# Each relative answer needs a clinician's override with a reason.
RELATIVE_KEYS: tuple[str, ...] = (
    "substance_use_disorder",
    "severe_cardiovascular_disease",
    "severe_liver_disease",
    "raised_icp_or_iop",
)
ANSWER_KEYS = ABSOLUTE_KEYS + RELATIVE_KEYS
AGE_REASON = "age_65_or_over"

# Medication flags shown at every session (CLINICAL.md §2). Matching is by substring of
# the lower-cased medication name; the list is the clinic's to extend.
MEDICATION_CLASSES: dict[str, tuple[str, tuple[str, ...]]] = {
    "benzodiazepine": (
        "Sedation; may weaken the antidepressant effect.",
        (
            "alprazolam",
            "lorazepam",
            "diazepam",
            "clonazepam",
            "temazepam",
            "oxazepam",
            "chlordiazepoxide",
            "midazolam",
            "benzodiazepine",
        ),
    ),
    "sedative_hypnotic": (
        "Additive sedation.",
        ("zolpidem", "zopiclone", "eszopiclone", "zaleplon", "phenobarbital", "gabapentin", "pregabalin", "quetiapine"),
    ),
    "opioid_or_alcohol": (
        "Respiratory depression and sedation.",
        (
            "morphine",
            "oxycodone",
            "hydrocodone",
            "fentanyl",
            "tramadol",
            "codeine",
            "methadone",
            "buprenorphine",
            "tapentadol",
            "hydromorphone",
            "alcohol",
        ),
    ),
    "psychostimulant": (
        "Raises blood pressure.",
        (
            "methylphenidate",
            "amphetamine",
            "lisdexamfetamine",
            "dexamfetamine",
            "dextroamphetamine",
            "modafinil",
            "armodafinil",
        ),
    ),
    "maoi": (
        "Watch blood pressure.",
        ("phenelzine", "tranylcypromine", "isocarboxazid", "selegiline", "moclobemide"),
    ),
    "lamotrigine": ("May weaken the effect.", ("lamotrigine",)),
    "theophylline": (
        "Do not combine (seizure threshold).",
        ("theophylline", "aminophylline"),
    ),
}


@dataclass(frozen=True)
class ScreeningResult:
    outcome: str
    reasons: list[str]
    medication_flags: list[dict[str, str]]


def age_on(birth_date: date, day: date) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def medication_flags(medications: list[str]) -> list[dict[str, str]]:
    flags = []
    for name in medications:
        lowered = name.lower()
        for flag, (advice, needles) in MEDICATION_CLASSES.items():
            if any(needle in lowered for needle in needles):
                flags.append({"medication": name, "flag": flag, "advice": advice})
    return flags


def screening_evaluate(
    *, answers: dict[str, bool], medications: list[str], age: int, relative_age_years: int
) -> ScreeningResult:
    absolute = [key for key in ABSOLUTE_KEYS if answers[key]]
    relative = [key for key in RELATIVE_KEYS if answers[key]]
    if age >= relative_age_years:
        relative.append(AGE_REASON)
    outcome = "absolute" if absolute else "relative" if relative else "clear"
    return ScreeningResult(outcome=outcome, reasons=absolute + relative, medication_flags=medication_flags(medications))
