"""The terminology the FHIR resources carry: code systems and the codes the clinic sends.

Every code here has its source in `docs/CLINICAL-CODES.md` (which follows CLINICAL.md's style:
each code with where it comes from). The vital-sign and questionnaire codes are CLINICAL.md
§9 and §5; the drug (RxNorm) and route (SNOMED CT) codes are docs/CLINICAL-CODES.md §2-§3.
Change a code here and there together; tests/monitoring/fhir name the source they check.
"""

from infusions.protocols.models import Drug, Route
from infusions.sessions.models import SessionStatus

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED_CT = "http://snomed.info/sct"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"

# CLINICAL.md §9: observation categories.
VITAL_SIGNS = "vital-signs"
SURVEY = "survey"
CATEGORY_DISPLAY = {VITAL_SIGNS: "Vital Signs", SURVEY: "Survey"}

# CLINICAL.md §9: LOINC codes (code, display) and UCUM units of the vital signs.
BP_PANEL = ("85354-9", "Blood pressure panel with all children optional")
SYSTOLIC = ("8480-6", "Systolic blood pressure")
DIASTOLIC = ("8462-4", "Diastolic blood pressure")
HEART_RATE = ("8867-4", "Heart rate")
SPO2 = ("2708-6", "Oxygen saturation in Arterial blood")
SPO2_PULSE_OX = ("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry")
RESPIRATORY_RATE = ("9279-1", "Respiratory rate")
TEMPERATURE = ("8310-5", "Body temperature")
WEIGHT = ("29463-7", "Body weight")
HEIGHT = ("8302-2", "Body height")
MMHG, PER_MIN, PERCENT, CELSIUS, KG, CM, MG, MG_PER_H = "mm[Hg]", "/min", "%", "Cel", "kg", "cm", "mg", "mg/h"

# CLINICAL.md §5: LOINC codes of the questionnaire totals (MADRS and pain NRS have none there,
# so they are sent as text only, never with an unsourced code) and of the PHQ-9 items.
INSTRUMENT_TOTAL = {
    "PHQ9": ("44261-6", "Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]"),
    "GAD7": ("70274-6", "Generalized anxiety disorder 7 item (GAD-7) total score [Reported.PHQ]"),
}
INSTRUMENT_TEXT = {
    "PHQ9": "PHQ-9 total score",
    "GAD7": "GAD-7 total score",
    "MADRS": "MADRS total score",
    "PAIN_NRS": "Pain numeric rating scale (0-10)",
}
PHQ9_ITEMS = ("44250-9", "44255-8", "44259-0", "44254-1", "44251-7", "44258-2", "44252-5", "44253-3", "44260-8")

# docs/CLINICAL-CODES.md §2: RxNorm concepts of the drugs (code, display, term type).
# Ketamine: the ingredient (IN), since the clinic gives it IV, IM and orally; esketamine: the
# clinical drug form (SCDF) "esketamine Nasal Spray", the only form the clinic gives.
DRUG_RXNORM = {
    Drug.KETAMINE: ("6130", "ketamine"),
    Drug.ESKETAMINE: ("2201623", "esketamine Nasal Spray"),
}

# docs/CLINICAL-CODES.md §3: SNOMED CT route of administration (qualifier values), the code
# system of FHIR R4's route-codes value set that MedicationAdministration.dosage.route uses.
ROUTE_SNOMED = {
    Route.IV: ("47625008", "Intravenous route"),
    Route.IM: ("78421000", "Intramuscular route"),
    Route.INTRANASAL: ("46713006", "Nasal route"),
    Route.ORAL: ("26643006", "Oral route"),
}

# Appointment statuses as FHIR codes (R4 appointmentstatus).
APPOINTMENT_STATUS = {
    "booked": "booked",
    "checked_in": "checked-in",
    "in_progress": "arrived",
    "completed": "fulfilled",
    "cancelled": "cancelled",
    "no_show": "noshow",
}
# Session statuses that are an administration (R4 medication-admin-status).
ADMINISTRATION_STATUS = {
    SessionStatus.RUNNING: "in-progress",
    SessionStatus.PAUSED: "on-hold",
    SessionStatus.COMPLETED: "completed",
    SessionStatus.DISCHARGED: "completed",
    SessionStatus.STOPPED: "stopped",
}
