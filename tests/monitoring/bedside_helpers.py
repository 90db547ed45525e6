"""Helpers for the bedside tests (issue 4): sessions brought to a given step through the
services, with the clock under `time_machine`."""

from datetime import timedelta
from decimal import Decimal

from clinic.core.roles import Role
from clinic.models import User
from infusions.ledger import services as ledger
from infusions.ledger.models import ControlledContainer
from infusions.protocols.models import Protocol
from infusions.sessions.models import InfusionSession, TreatmentCourse
from infusions.sessions.selectors import session_site
from monitoring.bedside import services as bedside
from monitoring.vitals.services import vitals_record
from tests.factories import CourseFactory, SessionFactory, SiteFactory, UserFactory, vials_received

# Unremarkable vitals: NEWS2 0 (RCP 2017), no alert (CLINICAL.md §3).
NORMAL = {
    "systolic": 122,
    "diastolic": 78,
    "heart_rate": 72,
    "spo2": 98,
    "respiratory_rate": 14,
    "temperature_c": Decimal("36.8"),
}


def esketamine_course(patient, clinician: User) -> TreatmentCourse:
    return CourseFactory(patient=patient, protocol=Protocol.objects.get(code="esk-in-trd"), created_by=clinician)


def esketamine_session(course: TreatmentCourse, **kwargs) -> InfusionSession:
    """56 mg intranasal, two devices (CLINICAL.md §1, esk-in-trd)."""
    values = {
        "weight_kg": None,
        "dose": Decimal("56"),
        "dose_unit": "mg",
        "concentration_mg_per_ml": None,
        "total_dose_mg": Decimal("56.0"),
        "rate_mg_per_h": None,
        "volume_ml": None,
        "rate_ml_per_h": None,
        "devices": 2,
        "hard_max_at_creation": Decimal("84"),
    }
    values.update(kwargs)
    return SessionFactory(course=course, **values)


def record(session: InfusionSession, user: User, **changes):
    """One vitals set through the service; returns (vital, alerts)."""
    row = {**NORMAL, **changes}
    recorded = vitals_record(actor=user, session=session, rows=[row])
    return recorded[0].vital, recorded[0].alerts


def refresh(session: InfusionSession) -> InfusionSession:
    return InfusionSession.objects.select_related("course__protocol", "course__patient").get(pk=session.pk)


def prepare(session: InfusionSession, nurse: User, **baseline) -> InfusionSession:
    """Consent, escort and a baseline set: what pre-check needs besides the patient's record."""
    bedside.consent_record(actor=nurse, session=session)
    bedside.escort_record(
        actor=nurse, session=session, name="Sam Carter", phone="+44 7700 900123", relationship="partner"
    )
    record(session, nurse, **baseline)
    return refresh(session)


def precheck(session: InfusionSession, nurse: User) -> InfusionSession:
    return bedside.session_precheck(actor=nurse, session=prepare(session, nurse))


def start(session: InfusionSession, nurse: User) -> InfusionSession:
    return bedside.session_start(actor=nurse, session=precheck(session, nurse))


def complete(session: InfusionSession, nurse: User, dose: Decimal | None = None) -> InfusionSession:
    """Started, dosed and completed; the drug drawn and given is in the ledger (it reconciles)."""
    session = start(session, nurse)
    given = dose or session.total_dose_mg
    ledger_given(session, nurse, given)
    return bedside.session_complete(actor=nurse, session=session, actual_dose_mg=given)


def ledger_given(session: InfusionSession, nurse: User, amount_mg: Decimal) -> ControlledContainer:
    """CLINICAL.md §8: `amount_mg` drawn for the session and administered (opened − given = 0)."""
    site = session_site(session) or SiteFactory(code="ledger")
    (vial,) = vials_received(
        UserFactory(username="ledger-admin", role=Role.ADMIN), site, drug=session.course.protocol.drug
    )
    ledger.ledger_open(actor=nurse, session=session, container=vial, amount_mg=amount_mg)
    ledger.ledger_administer(actor=nurse, session=session, container=vial, amount_mg=amount_mg)
    return vial


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)
