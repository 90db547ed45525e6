"""Property: no input can produce a stored dose above the protocol's hard limit or total cap
(CLINICAL.md §1: "refused for everyone")."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clinic.core.exceptions import ApplicationError
from infusions.protocols.models import Protocol
from infusions.sessions.models import InfusionSession
from infusions.sessions.services import session_create
from tests.factories import CourseFactory, MeasurementFactory, PatientFactory, ScreeningFactory

pytestmark = pytest.mark.django_db

doses = st.decimals(min_value=Decimal("0.001"), max_value=Decimal("1000"), places=3, allow_nan=False)
weights = st.decimals(min_value=Decimal("2.0"), max_value=Decimal("400.0"), places=1)
concentrations = st.one_of(st.none(), st.decimals(min_value=Decimal("0.1"), max_value=Decimal("200"), places=1))
codes = st.sampled_from(
    ["ket-iv-dep", "ket-im-dep", "esk-in-trd", "ket-iv-crps", "ket-iv-crps-fixed", "ket-iv-sci", "ket-po"]
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(code=codes, dose=doses, weight=weights, conc=concentrations, by_prescriber=st.booleans())
def test_no_stored_dose_above_hard_max_or_cap(users, site, code, dose, weight, conc, by_prescriber):
    protocol = Protocol.objects.get(code=code)
    patient = PatientFactory(site=site)
    MeasurementFactory(patient=patient, weight_kg=weight)
    ScreeningFactory(patient=patient)
    course = CourseFactory(patient=patient, protocol=protocol, created_by=users["clinician"])
    actor = users["clinician"] if by_prescriber else users["nurse"]
    try:
        session = session_create(
            actor=actor, course=course, dose=dose, concentration_mg_per_ml=conc, override_reason="approved"
        )
    except (ApplicationError, ValidationError):
        assert not InfusionSession.objects.filter(course=course).exists()
        return
    stored = InfusionSession.objects.get(pk=session.pk)
    assert stored.dose <= protocol.hard_max
    assert protocol.max_total_mg is None or stored.total_dose_mg <= protocol.max_total_mg
    if protocol.is_infused and stored.concentration_mg_per_ml is not None:
        assert stored.concentration_mg_per_ml <= Decimal("10")
