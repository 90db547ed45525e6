"""Escalation notices through the sent channels (issue 15.2): e-mail and the webhook for SMS or
pager gateways, one delivery row per (alert, step, channel, recipient), each sent once with its
Message-ID, a failure retried without resending the rest; acknowledging from the link."""

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from monitoring.alerts.models import Alert, AlertDelivery
from monitoring.alerts.notify import deliveries_due, deliveries_send
from monitoring.alerts.services import alerts_escalate
from tests.factories import CourseFactory, SessionFactory, StaffMemberFactory

pytestmark = pytest.mark.django_db


class Gateway(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], dict[str, object]]] = []
    status = 200

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Gateway.received.append((dict(self.headers), body))
        self.send_response(Gateway.status)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def gateway(settings):
    Gateway.received, Gateway.status = [], 200
    server = HTTPServer(("127.0.0.1", 0), Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.ALERT_WEBHOOK_URL = f"http://127.0.0.1:{server.server_port}/page"
    settings.ALERT_LINK_BASE = "https://clinic.example"
    yield Gateway
    server.shutdown()


@pytest.fixture
def escalated(gateway, users, site, other_patient, protocol):
    """A high alert escalated (step 1) to the site's clinician, with the webhook set."""
    clinician = users["clinician"]
    clinician.email = "claire@clinic.example"
    clinician.save()
    StaffMemberFactory(user=clinician, site=site)
    course = CourseFactory(patient=other_patient, protocol=protocol, created_by=clinician)
    session = SessionFactory(course=course, status="running", started_at=timezone.now())
    with time_machine.travel(timezone.now(), tick=False) as clock:
        alert = Alert.objects.create(
            session=session, rule="bp_high", severity="high", message="m", raised_at=timezone.now()
        )
        clock.shift(timedelta(minutes=2))  # CLINICAL.md §3: high after 2 minutes
        assert alerts_escalate() == [alert.id]
    return alert


def test_each_step_is_sent_once_by_email_and_webhook_with_its_message_id(escalated, gateway, users):
    rows = list(AlertDelivery.objects.filter(alert=escalated).order_by("channel"))
    assert [(r.step, r.channel, r.recipient_id, r.sent_at) for r in rows] == [
        (1, "email", users["clinician"].pk, None),
        (1, "webhook", users["clinician"].pk, None),
    ]
    assert sorted(deliveries_send(delivery_ids=deliveries_due())) == sorted(r.pk for r in rows)
    assert deliveries_send(delivery_ids=[r.pk for r in rows]) == []  # sent already: never again
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == ["claire@clinic.example"]
    assert email.extra_headers["Message-ID"] == rows[0].message_id
    ack = f"https://clinic.example{reverse('monitoring:alert', args=[escalated.pk])}"
    assert ack in email.body
    assert escalated.session.course.patient.family_name not in email.body  # no patient data
    ((headers, body),) = gateway.received
    assert headers["Idempotency-Key"] == rows[1].message_id
    assert body == {
        "ref": f"alert:{escalated.pk}:1",
        "message_id": rows[1].message_id,
        "recipient": {"id": users["clinician"].pk, "username": users["clinician"].username},
        "severity": "high",
        "rule": "bp_high",
        "session": escalated.session_id,
        "step": 1,
        "text": body["text"],
        "acknowledge_url": ack,
    }
    assert AlertDelivery.objects.filter(alert=escalated, sent_at__isnull=True).count() == 0


def test_a_failing_gateway_is_retried_alone(escalated, gateway):
    gateway.status = 503
    sent = deliveries_send(delivery_ids=deliveries_due())
    assert [AlertDelivery.objects.get(pk=pk).channel for pk in sent] == ["email"]
    webhook = AlertDelivery.objects.get(alert=escalated, channel="webhook")
    assert (webhook.sent_at, webhook.attempts) == (None, 1)
    assert "503" in webhook.last_error
    gateway.status = 200
    assert deliveries_send(delivery_ids=deliveries_due()) == [webhook.pk]
    assert len(mail.outbox) == 1  # the e-mail was not sent again
    assert len(gateway.received) == 2  # the refused POST and the accepted one, same key
    assert gateway.received[0][0]["Idempotency-Key"] == gateway.received[1][0]["Idempotency-Key"]


def test_acknowledging_from_the_notification_link(client, escalated, users):
    url = reverse("monitoring:alert", args=[escalated.pk])
    client.force_login(users["frontdesk"])
    assert client.post(url).status_code in (403, 404)  # role-checked
    escalated.refresh_from_db()
    assert escalated.status == "open"
    client.force_login(users["clinician"])
    page = client.get(url)
    assert page.status_code == 200
    assert "Acknowledge" in page.content.decode()
    response = client.post(url)
    assert response.status_code == 302
    escalated.refresh_from_db()
    assert (escalated.status, escalated.acknowledged_by) == ("acknowledged", users["clinician"])
