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
