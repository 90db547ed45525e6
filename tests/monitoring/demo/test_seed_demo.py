"""`manage.py seed_demo --password P`: the demo site, five accounts, the library, history; twice."""

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from clinic.models import Chair, Site, User
from infusions.protocols.models import Protocol
from infusions.sessions.models import InfusionSession
from monitoring.vitals.models import VitalSign
from patients.models import Patient

pytestmark = pytest.mark.django_db


def counts():
    return (
        Site.objects.count(),
        Chair.objects.count(),
        User.objects.count(),
        Patient.objects.count(),
        InfusionSession.objects.count(),
        VitalSign.objects.count(),
    )


def test_seed_demo_is_complete_and_safe_to_run_twice(capsys):
    call_command("seed_demo", "--password", "first-pass-1")
    first = counts()
    assert first[0] >= 1
    assert first[1] >= 4
    assert first[3] >= 10
    assert first[4] >= 5
    assert first[5] >= 20
    for username, role in [
        ("admin", "admin"),
        ("clinician", "clinician"),
        ("nurse", "nurse"),
        ("frontdesk", "frontdesk"),
        ("patient", "patient"),
    ]:
        user = authenticate(username=username, password="first-pass-1")
        assert user is not None
        assert user.role == role
    assert Patient.objects.filter(user__username="patient").count() == 1
    assert Protocol.objects.count() == 7
    call_command("seed_demo", "--password", "second-pass-2")
    assert counts() == first
    assert authenticate(username="nurse", password="second-pass-2") is not None
    assert "seed_demo" in capsys.readouterr().err  # the progress bar


def test_every_demo_session_has_its_ledger_and_today_s_can_be_discharged():
    """Issue 22: demo data includes ledger entries for its sessions (CLINICAL.md §8), so the
    session running under `make run` can be completed and discharged."""
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    from infusions.ledger.services import session_ledger_check
    from monitoring.bedside import services as bedside
    from tests.monitoring.bedside_helpers import NORMAL, record

    call_command("seed_demo", "--password", "first-pass-1")
    signed = InfusionSession.objects.filter(signed_at__isnull=False)
    assert signed.count() >= 5
    for session in signed:
        check = session_ledger_check(session)
        assert check.reasons == [], (session.pk, check.numbers())
        assert check.account["administered_mg"] == session.total_dose_mg
        assert session.ledger_reconciliations.get().status == "balanced"
    nurse = User.objects.get(username="nurse")
    (running,) = InfusionSession.objects.filter(status="running")
    assert session_ledger_check(running).account["difference_mg"] == 0
    # The nurse completes it as the bedside page does (the planned dose given) and discharges
    # it once the observation time has passed (CLINICAL.md §4; its open bp_rise alert is
    # medium, closed by the signing).
    running = bedside.session_complete(actor=nurse, session=running, actual_dose_mg=running.total_dose_mg)
    with time_machine.travel(timezone.now() + timedelta(minutes=61), tick=False):
        record(running, nurse, **NORMAL)
        signed = bedside.session_discharge(actor=nurse, session=running, note="Home with partner")
    assert signed.status == "discharged"
