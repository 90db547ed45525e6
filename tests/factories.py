"""factory_boy factories for every model the tests build."""

from datetime import date, timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from clinic.core.roles import Role
from clinic.models import Chair, Site, StaffMember, User
from infusions.protocols.models import Protocol
from infusions.scheduling.models import Appointment
from infusions.sessions.models import InfusionSession, TreatmentCourse
from patients.models import BodyMeasurement, Patient, Screening
from patients.screening import ANSWER_KEYS


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site
        django_get_or_create = ("code",)

    name = "Test Site"
    code = factory.Sequence(lambda n: f"site-{n}")
    time_zone = "Europe/London"


class ChairFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Chair

    site = factory.SubFactory(SiteFactory)
    name = factory.Sequence(lambda n: f"Chair {n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    role = Role.NURSE
    password = factory.django.Password("pw-for-tests-1")


class StaffMemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StaffMember

    user = factory.SubFactory(UserFactory)
    site = factory.SubFactory(SiteFactory)


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    mrn = factory.Sequence(lambda n: f"MRN{n:06d}")
    given_name = "Alex"
    family_name = factory.Sequence(lambda n: f"Patient{n}")
    birth_date = date(1980, 5, 17)
    sex = "female"
    site = factory.SubFactory(SiteFactory)


class MeasurementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BodyMeasurement

    patient = factory.SubFactory(PatientFactory)
    weight_kg = Decimal("82.4")
    measured_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))
    recorded_by = factory.SubFactory(UserFactory, role=Role.NURSE)


def clear_answers(**changes: object) -> dict[str, object]:
    answers: dict[str, object] = dict.fromkeys(ANSWER_KEYS, False)
    answers["medications"] = []
    answers.update(changes)
    return answers


class ScreeningFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Screening

    patient = factory.SubFactory(PatientFactory)
    answers = factory.LazyFunction(clear_answers)
    outcome = "clear"
    reasons = factory.LazyFunction(list)
    screened_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))
    valid_until = factory.LazyAttribute(lambda o: o.screened_at + timedelta(days=365))
    screened_by = factory.SubFactory(UserFactory, role=Role.NURSE)


class CourseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TreatmentCourse

    patient = factory.SubFactory(PatientFactory)
    protocol = factory.LazyFunction(lambda: Protocol.objects.get(code="ket-iv-dep"))
    indication = "trd"
    created_by = factory.SubFactory(UserFactory, role=Role.CLINICIAN)


class SessionFactory(factory.django.DjangoModelFactory):
    """A planned ket-iv-dep session at 0.5 mg/kg for 82.4 kg (CLINICAL.md §1 example)."""

    class Meta:
        model = InfusionSession

    course = factory.SubFactory(CourseFactory)
    weight_kg = Decimal("82.4")
    dose = Decimal("0.5")
    dose_unit = "mg/kg"
    concentration_mg_per_ml = Decimal("1")
    total_dose_mg = Decimal("41.2")
    rate_mg_per_h = Decimal("61.8")
    volume_ml = Decimal("41.2")
    rate_ml_per_h = Decimal("61.8")
    hard_max_at_creation = Decimal("1.0")
    created_by = factory.SubFactory(UserFactory, role=Role.NURSE)


class AppointmentFactory(factory.django.DjangoModelFactory):
    """A booked ket-iv-dep infusion written directly (no rules checked: for history and
    fixtures; tests of the rules go through `infusions.scheduling.services`). Hold: 15 + 40 + 60 min."""

    class Meta:
        model = Appointment

    chair = factory.SubFactory(ChairFactory)
    site = factory.LazyAttribute(lambda o: o.chair.site if o.chair else SiteFactory())
    patient = factory.SubFactory(PatientFactory, site=factory.SelfAttribute("..site"))
    kind = "infusion"
    protocol = factory.LazyFunction(lambda: Protocol.objects.get(code="ket-iv-dep"))
    starts_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=3))
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + timedelta(minutes=115))
    during = factory.LazyAttribute(lambda o: (o.starts_at, o.ends_at))
    status = "booked"
    booked_by = factory.SubFactory(UserFactory, role=Role.FRONTDESK)


def vials_received(
    admin: User,
    site: Site,
    *,
    drug: str = "ketamine",
    strength: str = "50",
    volume: str = "10",
    quantity: int = 1,
    expires_on: date | None = None,
) -> list:
    """Controlled-substance containers received into a site's ledger through the service (a
    supplier with a valid DEA number, BS1234563: (1+3+5) + 2*(2+4+6) = 33, check digit 3)."""
    from infusions.ledger import services as ledger

    return ledger.ledger_receive(
        actor=admin,
        site=site,
        drug=drug,
        ndc="0409-2051-05",
        lot="LOT-A1",
        expires_on=expires_on or timezone.localdate() + timedelta(days=365),
        strength_mg_per_ml=Decimal(strength),
        volume_ml=Decimal(volume),
        supplier="Acme Pharma Distribution",
        supplier_dea_number="BS1234563",
        invoice_number="INV-1001",
        quantity=quantity,
    )
