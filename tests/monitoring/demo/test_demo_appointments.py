"""seed_demo adds past and upcoming appointments (the demo `patient` account too), every one
valid under the booking rules, and a second run adds nothing."""

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from clinic.models import Site, User
from infusions.scheduling.models import Appointment, AppointmentEvent
from monitoring.demo.appointments import seed_past_appointments, seed_upcoming_appointments
from monitoring.demo.seed import SITE_CODE
from patients.models import Patient

pytestmark = pytest.mark.django_db


def test_demo_appointments_past_upcoming_and_idempotent():
    call_command("seed_demo", "--password", "demo-pass-123")
    now = timezone.now()
    mine = Appointment.objects.filter(patient__user__username="patient")
    assert mine.filter(starts_at__lt=now, status="completed").exists()
    assert mine.filter(starts_at__gte=now, status="booked").exists()
    statuses = set(Appointment.objects.values_list("status", flat=True))
    assert {"completed", "booked", "no_show", "cancelled"} <= statuses
    assert Appointment.objects.filter(series__isnull=False).count() >= 6  # an induction series
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT count(*) FROM infusions_appointment a JOIN infusions_appointment b
               ON a.id < b.id AND a.during && b.during AND (a.chair_id = b.chair_id OR a.patient_id = b.patient_id)
               WHERE a.status <> 'cancelled' AND b.status <> 'cancelled'"""
        )
        assert cursor.fetchone()[0] == 0
    before = (Appointment.objects.count(), AppointmentEvent.objects.count())
    site = Site.objects.get(code=SITE_CODE)
    patients = list(Patient.objects.filter(mrn__startswith="DEMO").order_by("mrn"))
    users = {u.username: u for u in User.objects.filter(username__in=["frontdesk", "clinician"])}
    seed_past_appointments(site=site, patients=patients, frontdesk=users["frontdesk"])
    seed_upcoming_appointments(site=site, patients=patients, users=users)
    assert (Appointment.objects.count(), AppointmentEvent.objects.count()) == before
