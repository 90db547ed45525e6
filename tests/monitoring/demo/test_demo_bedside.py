"""Demo data: today's board shows a running session with vitals and an open alert; seeding
again changes nothing (and a day later, yesterday's demo session is closed)."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from clinic.models import Chair
from infusions.sessions.models import InfusionSession
from monitoring.alerts.models import Alert
from monitoring.bedside.models import SessionEvent
from monitoring.demo.bedside import seed_today
from monitoring.vitals.models import VitalSign

pytestmark = pytest.mark.django_db


def counts():
    return (
        InfusionSession.objects.count(),
        VitalSign.objects.count(),
        Alert.objects.count(),
        SessionEvent.objects.count(),
    )


def test_today_on_the_board(api, users, site, other_patient):
    Chair.objects.create(site=site, name="Chair 1")
    session = seed_today(site=site, patients=[other_patient], users=users)
    first = counts()
    assert seed_today(site=site, patients=[other_patient], users=users) == session
    assert counts() == first

    board = api(users["nurse"]).get(f"/api/v1/board/?site={site.id}").json()
    assert [row["session"] for row in board] == [session.id]
    row = board[0]
    assert row["status"] == "running"
    assert row["chair"]["name"] == "Chair 1"
    assert row["latest_vitals"]["systolic"] == 168
    assert [(a["rule"], a["status"]) for a in row["alerts"]] == [("bp_rise", "open")]
    assert row["next_vitals_due"]["kind"] == "running"
    detail = api(users["nurse"]).get(f"/api/v1/sessions/{session.id}/detail/").json()
    assert [e["action"] for e in detail["events"]] == ["precheck", "start"]
    assert [v["phase"] for v in detail["vitals"]] == ["baseline", "running", "running"]


def test_a_day_later_the_old_demo_session_is_closed(users, site, other_patient):
    old = seed_today(site=site, patients=[other_patient], users=users)
    with time_machine.travel(timezone.now() + timedelta(days=1)):
        new = seed_today(site=site, patients=[other_patient], users=users)
    assert new != old
    old.refresh_from_db()
    assert (old.status, old.signed_at is not None) == ("discharged", True)
