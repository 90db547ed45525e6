"""The outbox (monitoring.outbox): messages committed with the decision, claimed one at a time
just before they are sent (a lease), marked right after; a held message is never sent by a
second sender until its lease passed; the sweep hands on what is due; every message keeps the
Message-ID it was written with."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from monitoring.outbox import dispatch
from monitoring.outbox.channels import Draft
from monitoring.outbox.models import OutboxMessage
from monitoring.outbox.services import outbox_add, outbox_claim, outbox_due, outbox_send
from tests.monitoring.followup_helpers import staff

pytestmark = pytest.mark.django_db


def _add(n: int = 2) -> list[int]:
    nurses = staff("nurse", n)
    with transaction.atomic():
        return outbox_add(
            channel="email",
            drafts=[
                Draft(recipient=u, subject=f"S{i}", body="B", refs=[f"followup:{i}:0"]) for i, u in enumerate(nurses)
            ],
        )


def test_messages_are_written_with_a_message_id_and_sent_once_with_it():
    ids = _add()
    rows = list(OutboxMessage.objects.order_by("id"))
    assert [r.id for r in rows] == ids
    assert all(".outbox." in r.message_id and r.message_id.endswith(">") for r in rows)
    assert len({r.message_id for r in rows}) == 2
    assert outbox_send(message_ids=ids).sent == ids
    assert [m.extra_headers["Message-ID"] for m in mail.outbox] == [r.message_id for r in rows]
    assert outbox_send(message_ids=ids).sent == []  # sent: never again
    assert len(mail.outbox) == 2
    assert set(OutboxMessage.objects.values_list("status", "attempts")) == {("sent", 1)}


@pytest.mark.django_db(transaction=True)
def test_outbox_add_belongs_inside_the_deciding_transaction():
    nurse = staff("nurse", 1)[0]
    draft = Draft(recipient=nurse, subject="S", body="B", refs=["followup:1:0"])
    with pytest.raises(RuntimeError, match="inside the transaction"):
        outbox_add(channel="email", drafts=[draft])
    assert not OutboxMessage.objects.exists()


@override_settings(OUTBOX_CLAIM_LEASE_SECONDS=60)
def test_a_held_message_is_not_sent_by_another_sender_until_its_lease_passed():
    first, second = _add()
    held = outbox_claim(message_id=first)  # a sender took it and has not marked it
    assert held is not None
    assert held.attempt == 1
    assert outbox_claim(message_id=first) is None
    assert outbox_send(message_ids=[first, second]).sent == [second]
    assert outbox_due() == {}  # nothing due: one sent, one held
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        assert outbox_due() == {"email": [first]}  # its sender died: due again
        assert outbox_send(message_ids=[first]).sent == [first]
    again = OutboxMessage.objects.get(pk=first)
    assert (again.status, again.attempts) == ("sent", 2)
    assert mail.outbox[-1].extra_headers["Message-ID"] == again.message_id


def test_the_sweep_enqueues_what_is_due(monkeypatch):
    ids = _add()
    sent: list[list[int]] = []
    from monitoring.outbox import tasks

    monkeypatch.setattr(tasks.outbox_send_task, "delay", sent.append)
    assert dispatch.outbox_sweep() == 2
    assert sent == [ids]
