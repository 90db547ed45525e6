"""The worklist's alert rows, acknowledging from an escalation notice, and local readable times
on the pages (issue 15, items 2, 4 and 5), read from the rendered pages."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from monitoring.alerts.models import Alert, AlertEscalation
from monitoring.alerts.services import alerts_escalate, vitals_overdue_raise
from tests.pages.test_page_queries import running_sessions

pytestmark = pytest.mark.django_db


ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def _text(html: str) -> str:
    """What a person reads: no scripts (the chart's data), no tags or attributes."""
    html = re.sub(r"<script\b.*?</script>", " ", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def test_worklist_rows_show_severity_patient_chair_rule_message_age_and_a_link(
    clinic_day,
    client,
    staff_at_site,
    site,
    protocol,
):
    (session,) = running_sessions(1, users=staff_at_site, site=site, protocol=protocol)
    clinic_day.shift(timedelta(minutes=3))
    client.force_login(staff_at_site["clinician"])
    html = client.get(reverse("monitoring:worklist")).content.decode()
    table = html[html.index('id="worklist-alerts"') :]
    table = table[: table.index("</table>")]
    rows = re.findall(r"<tr class=\"alert-row.*?</tr>", table, flags=re.S)
    alerts = list(Alert.objects.filter(session=session).order_by("severity"))
    assert len(rows) == len(alerts) == 2  # running_sessions: bp_high (high) and bp_rise (medium)
    high = next(r for r in rows if "chip high" in r)
    patient = session.course.patient
    cells = [re.sub(r"\s+", " ", _text(c)).strip() for c in re.findall(r"<td.*?</td>", high, flags=re.S)]
    assert cells[:6] == [
        "high",
        f"{patient.given_name} {patient.family_name}",
        "Chair 01",
        "High blood pressure",
        "BP 185/95 is at or above 180/110: pause the infusion and re-measure.",
        "3 minutes",
    ]
    assert f'href="{reverse("monitoring:bedside", args=[session.pk])}"' in high
    assert "()" not in _text(table)


def test_acknowledging_from_the_escalation_notice(clinic_day, client, staff_at_site, site, protocol):
    (session,) = running_sessions(1, users=staff_at_site, site=site, protocol=protocol)
    clinic_day.shift(timedelta(minutes=2))
    assert alerts_escalate()  # CLINICAL.md §3: high after 2 minutes, to the site's clinician
    notice = AlertEscalation.objects.filter(recipient=staff_at_site["clinician"]).first()
    assert notice is not None
    client.force_login(staff_at_site["clinician"])
    html = client.get(reverse("monitoring:worklist")).content.decode()
    assert "Escalated to you" in html
    assert f'name="alert" value="{notice.alert_id}"' in html
    response = client.post(reverse("monitoring:worklist"), {"form": "notice_ack", "alert": notice.alert_id})
    assert response.status_code == 302
    notice.alert.refresh_from_db()
    assert (notice.alert.status, notice.alert.acknowledged_by) == ("acknowledged", staff_at_site["clinician"])
    # A nurse has no worklist: the notice cannot be acknowledged from there (role-checked).
    client.force_login(staff_at_site["nurse"])
    other = Alert.objects.filter(session=session, status="open").first()
    response = client.post(reverse("monitoring:worklist"), {"form": "notice_ack", "alert": other.pk})
    assert response.status_code in (403, 404)
    other.refresh_from_db()
    assert other.status == "open"


def test_no_iso_timestamps_on_the_board_bedside_and_worklist(clinic_day, client, staff_at_site, site, protocol):
    (session,) = running_sessions(1, users=staff_at_site, site=site, protocol=protocol)
    # An overdue set (CLINICAL.md §3: 5 min after its due time [U]) and a discharge refusal.
    clinic_day.shift(timedelta(minutes=16))
    assert vitals_overdue_raise(now=timezone.now())
    client.force_login(staff_at_site["nurse"])
    pages = {
        "board": client.get(reverse("monitoring:board")),
        "bedside": client.get(reverse("monitoring:bedside", args=[session.pk])),
        "refused step": client.post(reverse("monitoring:bedside", args=[session.pk]), {"form": "pause"}),
    }
    client.force_login(staff_at_site["clinician"])
    pages["worklist"] = client.get(reverse("monitoring:worklist"))
    overdue = Alert.objects.get(session=session, rule="vitals_overdue")
    assert "was due at" in overdue.message
    assert not ISO.search(overdue.message)
    for name, response in pages.items():
        text = _text(response.content.decode())
        assert "vitals set was due at" in text or name == "refused step", name
        assert not ISO.search(text), (name, ISO.findall(text)[:3])


def test_the_on_call_roster_is_set_on_its_page_and_shown_on_the_board(clinic_day, client, staff_at_site, site):
    from clinic.models import OnCallShift

    client.force_login(staff_at_site["nurse"])
    board = client.get(reverse("monitoring:board")).content.decode()
    assert "Nobody is on call at this site now." in board
    clinician = staff_at_site["clinician"]
    client.force_login(clinician)
    local = timezone.now().astimezone(site.tz)
    response = client.post(
        reverse("monitoring:on_call"),
        {
            "form": "add",
            "shift-clinician": clinician.pk,
            "shift-level": 1,
            "shift-starts_at": (local - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
            "shift-ends_at": (local - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert response.status_code == 400  # ends before it starts: refused, nothing saved
    assert OnCallShift.objects.count() == 0
    response = client.post(
        reverse("monitoring:on_call"),
        {
            "form": "add",
            "shift-clinician": clinician.pk,
            "shift-level": 1,
            "shift-starts_at": (local - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
            "shift-ends_at": (local + timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert response.status_code == 302
    shift = OnCallShift.objects.get()
    assert (shift.site, shift.clinician, shift.level, shift.created_by) == (site, clinician, 1, clinician)
    client.force_login(staff_at_site["nurse"])
    board = client.get(reverse("monitoring:board")).content.decode()
    assert "Nobody is on call" not in board
    assert f"On call: <strong>{clinician.get_full_name() or clinician.username}</strong>" in board
    # A nurse does not set the roster.
    assert client.get(reverse("monitoring:on_call")).status_code in (403, 404)


@pytest.mark.parametrize("count", [1, 3])
def test_worklist_queries_do_not_grow(
    clinic_day, client, staff_at_site, site, protocol, count, django_assert_num_queries
):
    running_sessions(count, users=staff_at_site, site=site, protocol=protocol)
    clinic_day.shift(timedelta(minutes=2))
    alerts_escalate()  # the clinician's notices are listed too
    client.force_login(staff_at_site["clinician"])
    client.get(reverse("monitoring:worklist"))  # warm the session
    with django_assert_num_queries(WORKLIST_QUERIES):
        response = client.get(reverse("monitoring:worklist"))
    assert response.content.decode().count('class="alert-row') == 2 * count


# The exact count, the same at both sizes: session and user, site, board (sessions, alerts), who is on
# call, the notices, approvals, follow-ups due.
WORKLIST_QUERIES = 10
