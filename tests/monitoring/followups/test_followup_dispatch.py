"""Dispatch and delivery of follow-ups (in-process): each (follow-up, round, channel,
recipient) is sent once; escalation per CLINICAL.md §7; channels behind one interface."""

import smtplib
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import ClassVar

import pytest
import time_machine
from django.core import mail
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone

from clinic.models import User
from monitoring.followups.dispatch import followup_title, followups_claim_due, followups_deliver, ref_parse
from monitoring.followups.models import FollowUp, FollowUpDelivery
from monitoring.followups.services import (
    followup_complete,
    followup_ensure,
    followup_reassign,
    followup_snooze,
    followups_cancel,
)
from monitoring.outbox.channels import REFS_HEADER, Channel, Draft, Notification, Outgoing, channels_get
from monitoring.outbox.models import OutboxMessage
from monitoring.outbox.services import outbox_due, outbox_send
from tests.factories import PatientFactory, SiteFactory, StaffMemberFactory, UserFactory
from tests.monitoring.followup_helpers import due_followups, staff

pytestmark = pytest.mark.django_db


def _send_outbox() -> None:
    """What the outbox's send task does after commit (on_commit does not fire inside the
    test's transaction): send every pending message, channel by channel."""
    for ids in outbox_due().values():
        outbox_send(message_ids=ids)


def _tick(now: datetime | None = None) -> list[int]:
    """One beat tick, its delivery and the outbox's sends, in-process."""
    claimed = followups_claim_due(now=now, enqueue=lambda ids: None)
    if claimed.ids:
        followups_deliver(followup_ids=claimed.ids)
        _send_outbox()
    return claimed.ids


def _emailed() -> list[tuple[int, str]]:
    """(follow-up, recipient) for every follow-up covered by an e-mail sent so far."""
    return [(ref_parse(ref)[0], m.to[0]) for m in mail.outbox for ref in m.extra_headers[REFS_HEADER].split(",")]


def _claim(now: datetime | None = None) -> list[int]:
    """A tick whose enqueued message is lost (never delivered)."""
    return followups_claim_due(now=now, enqueue=lambda ids: None).ids


def test_due_followups_reach_every_assignee_once_by_inbox_and_email():
    nurses = staff("nurse", 2)
    staff("clinician", 1)
    ids = due_followups(3)
    with CaptureQueriesContext(connection):
        assert sorted(_tick()) == sorted(ids)
    inbox = FollowUpDelivery.objects.filter(channel="inbox")
    assert inbox.count() == 6
    assert set(inbox.values_list("recipient_id", flat=True)) == {u.pk for u in nurses}
    # One digest per nurse covering the three follow-ups: each pair exactly once.
    assert len(mail.outbox) == 2
    assert sorted(_emailed()) == sorted((pk, u.email) for pk in ids for u in nurses)
    assert {m.subject for m in mail.outbox} == {"3 follow-ups need you"}
    assert set(FollowUp.objects.values_list("status", flat=True)) == {"notified"}
    assert FollowUpDelivery.objects.count() == 12
    # A second tick, a redelivered message, a retry: nothing more is sent.
    assert _tick() == []
    followups_deliver(followup_ids=ids)
    FollowUp.objects.filter(id__in=ids).update(status="queued")  # as if a copy of the message came back
    followups_deliver(followup_ids=ids)
    assert FollowUpDelivery.objects.filter(channel="inbox").count() == 6
    assert len(_emailed()) == 6


def test_not_yet_due_is_not_sent():
    staff("nurse", 1)
    due_followups(2, due_at=timezone.now() + timedelta(minutes=5))
    assert _tick() == []
    assert len(mail.outbox) == 0
    with time_machine.travel(timezone.now() + timedelta(minutes=6)):
        assert len(_tick()) == 2
    assert len(_emailed()) == 2


def test_messages_carry_no_patient_data():
    staff("nurse", 1)
    patient = PatientFactory(given_name="Zebedee", family_name="Quartermaine", mrn="MRN-SECRET-1")
    followup_ensure(kind="check_in_call", key="phi", patient=patient, due_at=timezone.now(), assignee_role="nurse")
    _tick()
    (message,) = mail.outbox
    text = message.subject + message.body
    for secret in ("Zebedee", "Quartermaine", "MRN-SECRET-1"):
        assert secret not in text
    assert "Zebedee" not in followup_title(FollowUp.objects.get())


def test_booster_overdue_after_7_days_goes_to_the_clinician():
    # CLINICAL.md §7: booster due -> front desk; overdue after 7 days -> clinician.
    (desk,) = staff("frontdesk", 1)
    (doctor,) = staff("clinician", 1)
    site = SiteFactory(code="esc", time_zone="Europe/London")
    patient = PatientFactory(site=site)
    due = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)  # 09:00 BST
    row = followup_ensure(kind="booster_due", key="boost", patient=patient, due_at=due, assignee_role="frontdesk")
    with time_machine.travel(due + timedelta(minutes=1), tick=False):
        _tick()
    assert [m.to for m in mail.outbox] == [[desk.email]]
    with time_machine.travel(due + timedelta(days=6, hours=23), tick=False):
        assert _tick() == []
    with time_machine.travel(due + timedelta(days=7, minutes=1), tick=False):
        assert _tick() == [row.pk]
    row.refresh_from_db()
    assert (row.kind, row.assignee_role, row.round, row.status) == ("booster_overdue", "clinician", 1, "notified")
    assert [m.to for m in mail.outbox] == [[desk.email], [doctor.email]]
    assert "overdue" in mail.outbox[1].subject.lower()
    assert list(row.events.order_by("id").values_list("action", flat=True)) == [
        "created",
        "notified",
        "escalated",
        "notified",
    ]
    with time_machine.travel(due + timedelta(days=9), tick=False):
        assert _tick() == []


def test_questionnaire_asks_the_patient_first_then_reminds_the_nurse():
    # CLINICAL.md §7: questionnaire 72 h before; staff reminded if missing 24 h before.
    (nurse,) = staff("nurse", 1)
    portal = UserFactory(username="portal1", role="patient", email="p@example.test")
    patient = PatientFactory(user=portal)
    starts = timezone.now() + timedelta(days=4)
    followup_ensure(
        kind="pre_session_questionnaire",
        key="q",
        patient=patient,
        due_at=starts - timedelta(hours=72),
        assignee_role="nurse",
        escalate_at=starts - timedelta(hours=24),
        escalate_role="nurse",
    )
    with time_machine.travel(starts - timedelta(hours=71)):
        _tick()
    assert [m.to for m in mail.outbox] == [[portal.email]]
    with time_machine.travel(starts - timedelta(hours=23)):
        _tick()
    assert [m.to for m in mail.outbox] == [[portal.email], [nurse.email]]


def test_snooze_tells_the_assignees_again_when_it_comes_due():
    (nurse,) = staff("nurse", 1)
    (pk,) = due_followups(1)
    _tick()
    row = FollowUp.objects.get(pk=pk)
    followup_snooze(actor=nurse, followup=row, until=timezone.now() + timedelta(hours=2), reason="Patient at work")
    row.refresh_from_db()
    assert (row.status, row.round) == ("pending", 1)
    assert _tick() == []
    with time_machine.travel(timezone.now() + timedelta(hours=2, minutes=1)):
        assert _tick() == [pk]
    assert len(mail.outbox) == 2
    event = row.events.get(action="snoozed")
    assert (event.actor, event.reason) == (nurse, "Patient at work")


def test_reassign_to_a_person_notifies_only_them():
    nurses = staff("nurse", 3)
    (pk,) = due_followups(1)
    _tick()
    assert len(mail.outbox) == 3
    followup_reassign(actor=nurses[0], followup=FollowUp.objects.get(pk=pk), assignee=nurses[2], reason="Her patient")
    _tick()
    assert [m.to for m in mail.outbox[3:]] == [[nurses[2].email]]


def test_closed_between_claim_and_delivery_sends_nothing(users):
    staff("nurse", 1)
    a, b = due_followups(2)
    claimed = _claim()
    followup_complete(actor=users["nurse"], followup=FollowUp.objects.get(pk=a), outcome="Called")
    followups_cancel(followup_ids=[b], reason="session cancelled")
    result = followups_deliver(followup_ids=claimed)
    assert result.notified == []
    assert len(mail.outbox) == 0


def test_a_lost_message_is_queued_again_after_the_lease_and_sent_once():
    staff("nurse", 1)
    ids = due_followups(3)
    assert sorted(_claim()) == sorted(ids)  # the message never reaches a worker
    assert _claim() == []  # within the lease: nobody else takes them
    with override_settings(FOLLOWUP_DISPATCH_LEASE_SECONDS=60):
        later = timezone.now() + timedelta(seconds=61)
        assert sorted(_tick(now=later)) == sorted(ids)
    assert len(_emailed()) == 3


class RefusingBackend(BaseEmailBackend):
    """An e-mail server that refuses every message to the addresses in `refused`."""

    refused: ClassVar[set[str]] = set()

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        for message in email_messages:
            if message.to[0] in self.refused:
                raise smtplib.SMTPRecipientsRefused({message.to[0]: (550, b"mailbox unavailable")})
        return mail.get_connection("django.core.mail.backends.locmem.EmailBackend").send_messages(email_messages)


@override_settings(EMAIL_BACKEND="tests.monitoring.followups.test_followup_dispatch.RefusingBackend")
def test_a_refused_email_is_retried_alone_with_the_same_message_id():
    nurses = staff("nurse", 2)
    (pk,) = due_followups(1)
    RefusingBackend.refused = {nurses[1].email}
    first = followups_deliver(followup_ids=_claim())
    assert first.notified == [pk]
    _send_outbox()
    assert [m.to for m in mail.outbox] == [[nurses[0].email]]
    refused = OutboxMessage.objects.get(recipient=nurses[1])
    assert (refused.status, refused.attempts) == ("pending", 1)
    assert "SMTPRecipientsRefused" in refused.last_error
    assert refused.next_attempt_at > timezone.now()  # backed off
    RefusingBackend.refused = set()
    _send_outbox()  # not yet: its backoff has not passed
    assert len(mail.outbox) == 1
    with time_machine.travel(refused.next_attempt_at + timedelta(seconds=1)):
        _send_outbox()
    assert [m.to for m in mail.outbox] == [[nurses[0].email], [nurses[1].email]]
    assert mail.outbox[1].extra_headers["Message-ID"] == refused.message_id
    refused.refresh_from_db()
    assert (refused.status, refused.attempts) == ("sent", 2)
    assert FollowUpDelivery.objects.filter(channel="inbox").count() == 2  # the inbox was not written twice


class BrokenBackend(BaseEmailBackend):
    """A misconfigured e-mail backend: it cannot even connect."""

    def open(self) -> bool:
        raise ConnectionRefusedError("no mail server at this address")

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        raise AssertionError("never reached")


@override_settings(EMAIL_BACKEND="tests.monitoring.followups.test_followup_dispatch.BrokenBackend")
def test_a_broken_email_channel_leaves_the_inbox_delivered():
    nurses = staff("nurse", 2)
    ids = due_followups(3)
    assert sorted(_tick()) == sorted(ids)
    inbox = FollowUpDelivery.objects.filter(channel="inbox")
    assert sorted(inbox.values_list("followup_id", "recipient_id")) == sorted((f, u.pk) for f in ids for u in nurses)
    assert set(FollowUp.objects.filter(id__in=ids).values_list("status", flat=True)) == {"notified"}
    assert len(mail.outbox) == 0
    messages = OutboxMessage.objects.filter(channel="email").order_by("id")
    # One digest per nurse, waiting: the first was tried and backed off with the error; the
    # channel failing stopped the batch there (the sweep tries again after the backoff).
    assert [(m.status, m.attempts) for m in messages] == [("pending", 1), ("pending", 0)]
    assert "no mail server" in messages[0].last_error
    assert messages[0].next_attempt_at > timezone.now()
    back = override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend")  # the server is back
    with back, time_machine.travel(messages[0].next_attempt_at + timedelta(seconds=1)):
        _send_outbox()
    assert sorted(_emailed()) == sorted((f, u.email) for f in ids for u in nurses)
    assert inbox.count() == 6  # the inbox was not written again


sms_outbox: list[tuple[int, str]] = []


class FakeSmsChannel:
    """What adding SMS takes: a name, who can receive it, how messages are composed, send."""

    name = "sms"
    stored = False

    def accepts(self, user: User) -> bool:
        return user.username.endswith("0")

    def compose(self, notifications: Sequence[Notification]) -> list[Draft]:
        return [Draft(recipient=n.recipient, subject=n.title, body=n.body, refs=[n.ref]) for n in notifications]

    def send(self, messages: Iterable[Outgoing]) -> Iterator[tuple[Outgoing, BaseException | None]]:
        for message in messages:
            sms_outbox.extend((ref_parse(ref)[0], message.recipient.username) for ref in message.refs)
            yield message, None


@override_settings(
    NOTIFICATION_CHANNELS=[
        "monitoring.outbox.channels.InboxChannel",
        "tests.monitoring.followups.test_followup_dispatch.FakeSmsChannel",
    ]
)
def test_a_new_channel_is_added_in_settings_without_touching_the_rules():
    sms_outbox.clear()
    staff("nurse", 2)
    (pk,) = due_followups(1)
    assert [c.name for c in channels_get()] == ["inbox", "sms"]
    assert isinstance(channels_get()[1], Channel)
    _tick()
    assert sms_outbox == [(pk, "nurse0")]
    assert len(mail.outbox) == 0
    assert set(FollowUpDelivery.objects.values_list("channel", flat=True)) == {"inbox", "sms"}


def test_site_staff_are_told_of_their_own_site_only():
    here, there = SiteFactory(code="here"), SiteFactory(code="there")
    local_nurse = StaffMemberFactory(site=here, user=UserFactory(role="nurse", email="l@x.test")).user
    far_nurse = StaffMemberFactory(site=there, user=UserFactory(role="nurse", email="f@x.test")).user
    float_nurse = UserFactory(role="nurse", email="float@x.test")  # no site: every site
    followup_ensure(
        kind="check_in_call",
        key="site",
        patient=PatientFactory(site=here),
        due_at=timezone.now(),
        assignee_role="nurse",
    )
    _tick()
    assert sorted(m.to[0] for m in mail.outbox) == sorted([local_nurse.email, float_nurse.email])
    assert far_nurse.email not in {m.to[0] for m in mail.outbox}


def test_each_row_gets_its_own_due_time_and_history_in_a_mixed_batch():
    # One batch, two sites in different zones, two due times: each message names its own
    # local due time (the same as the inbox title), and each row's history its own deliveries.
    nurses = staff("nurse", 2)  # no site: told of every site's follow-ups
    london = SiteFactory(code="ldn", time_zone="Europe/London")
    new_york = SiteFactory(code="nyc", time_zone="America/New_York")
    nine = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    specs = [("a", london, nine), ("b", new_york, nine), ("c", london, nine + timedelta(hours=1))]
    rows = {
        key: followup_ensure(kind="check_in_call", key=key, patient=None, site=site, due_at=due, assignee_role="nurse")
        for key, site, due in specs
    }
    _tick()
    local = {"a": "Mon 05 Jan 2026 09:00 GMT", "b": "Mon 05 Jan 2026 04:00 EST", "c": "Mon 05 Jan 2026 10:00 GMT"}
    titles = {key: followup_title(FollowUp.objects.get(pk=row.pk)) for key, row in rows.items()}
    assert titles == {key: f"Check-in call: due {when}" for key, when in local.items()}
    assert len(mail.outbox) == 2
    for message in mail.outbox:
        for key, row in rows.items():
            item = f"- {titles[key]}\n  Due: Check-in call (follow-up #{row.pk}), due {local[key]}."
            assert item in message.body
    for row in rows.values():
        event = row.events.get(action="notified")
        assert event.data == {"round": 0, "deliveries": 4, "recipients": [u.pk for u in nurses]}


@pytest.mark.parametrize("size", [5, 60])
def test_delivery_queries_do_not_grow_with_the_batch(size, django_assert_num_queries):
    staff("nurse", 2)
    staff("clinician", 1)
    ids = due_followups(size)
    FollowUp.objects.filter(id__in=ids[: size // 2]).update(assignee_role="clinician")
    claimed = _claim()
    # savepoint, lock+select, staff, every channel's deliveries (one statement), the e-mail
    # digests into the outbox, status update, its history,
    # events, release (the in-app inbox is the inbox deliveries: nothing more to write)
    with django_assert_num_queries(9):
        followups_deliver(followup_ids=claimed)
    assert len(mail.outbox) == 0  # nothing is sent inside the delivery transaction
    ids = list(OutboxMessage.objects.values_list("id", flat=True))
    # The sends: which are free, their recipients, then per message a claim just before it
    # goes and a mark right after (one digest per recipient: 3).
    with django_assert_num_queries(2 + 2 * 3):
        outbox_send(message_ids=ids)
    assert len(_emailed()) == (size - size // 2) * 2 + size // 2
    assert len(mail.outbox) == 3  # one digest per recipient


@pytest.mark.parametrize("size", [5, 60])
def test_claim_queries_do_not_grow_with_the_rows(size, django_assert_num_queries):
    due_followups(size)
    # savepoint, escalations, due rows, mark queued, their history, release
    with django_assert_num_queries(6):
        assert len(_claim()) == size


def test_tasks_are_acked_late_time_limited_retried_and_carry_ids_only(monkeypatch, django_capture_on_commit_callbacks):
    # STYLE.md Celery rules: acks_late, reject_on_worker_lost, prefetch 1, time limits,
    # autoretry with backoff; ids only in messages, never patient data.
    from django.conf import settings

    from monitoring.followups import tasks

    for task in (tasks.followups_deliver_task, tasks.followups_dispatch_due_task, tasks.followups_plan_task):
        assert task.acks_late
        assert task.reject_on_worker_lost
        assert (task.soft_time_limit, task.time_limit) == (60, 120)
        assert task.autoretry_for
        assert task.retry_backoff
    assert settings.CELERY_WORKER_PREFETCH_MULTIPLIER == 1
    schedule = settings.CELERY_BEAT_SCHEDULE
    assert schedule["followups-dispatch-due"]["task"] == "monitoring.followups_dispatch_due"
    assert schedule["followups-dispatch-due"]["schedule"] == 60.0  # every minute
    assert schedule["followups-plan"]["task"] == "monitoring.followups_plan"

    sent: list[object] = []
    monkeypatch.setattr(tasks.followups_deliver_task, "delay", sent.append)
    patient = PatientFactory(given_name="Zebedee")
    ids = [
        followup_ensure(
            kind="check_in_call", key=f"ids-{i}", patient=patient, due_at=timezone.now(), assignee_role="nurse"
        ).pk
        for i in range(3)
    ]
    with django_capture_on_commit_callbacks(execute=True):
        followups_claim_due()
    assert sent == [ids]
    assert all(isinstance(i, int) for batch in sent for i in batch)  # type: ignore[attr-defined]
