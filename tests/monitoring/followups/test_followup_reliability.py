"""Reliability of follow-up reminders with a REAL Celery worker (prefork, 2 processes), real
beat, real Redis and the real test PostgreSQL database (DESIGN.md non-negotiables: each due
follow-up is sent exactly once even when workers die or Redis restarts; nothing due is ever
silently dropped).

E-mails are counted OUTSIDE the database, in the file the worker's e-mail backend appends a
line to for every message it accepts (tests.monitoring.recording_mail): a rollback, a killed
process or a terminated connection cannot hide a send. Each test provokes the window it names
(a kill between the server's acceptance and the mark, a kill inside the delivery transaction,
terminated connections, a sustained Redis outage with tasks queued, a broken e-mail server)
and tells the recovery paths apart (a lease re-claim leaves a `requeued` event; a redelivery
is the same task id received twice).
"""

import re
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from monitoring.followups.models import FollowUp, FollowUpDelivery, FollowUpEvent
from monitoring.outbox.models import OutboxMessage
from tests.monitoring.celery_harness import Cluster, cluster_env, private_redis, terminate_connections, wait_for
from tests.monitoring.followup_helpers import due_followups, staff
from tests.monitoring.recording_mail import held, mail_log

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

NURSES = 2
BATCH = 5  # FOLLOWUP_DISPATCH_BATCH_SIZE in celery_harness.cluster_env


@dataclass
class Mail:
    """The recorder's files: the log of accepted e-mails and the switches."""

    log: Path
    hold: Path  # while it exists, a send waits after the server accepted (before the mark)
    broken: Path  # while it exists, the server is unreachable
    compose_hold: Path  # while it exists, composing waits (inside the delivery transaction)

    def env(self) -> dict[str, str]:
        return {
            "FOLLOWUP_TEST_MAIL_LOG": str(self.log),
            "FOLLOWUP_TEST_MAIL_HOLD": str(self.hold),
            "FOLLOWUP_TEST_MAIL_BROKEN": str(self.broken),
            "FOLLOWUP_TEST_COMPOSE_HOLD": str(self.compose_hold),
        }

    def lines(self) -> int:
        return len(mail_log(self.log))


@pytest.fixture
def mail(tmp_path: Path) -> Mail:
    return Mail(
        log=tmp_path / "mail.jsonl",
        hold=tmp_path / "hold-send",
        broken=tmp_path / "mail-broken",
        compose_hold=tmp_path / "hold-compose",
    )


@pytest.fixture
def clusters() -> Iterator[list[Cluster]]:
    made: list[Cluster] = []
    yield made
    for c in made:
        c.stop_all()


def _cluster(
    clusters: list[Cluster], tmp_path: Path, mail: Mail, broker_url: str | None = None, **extra: str
) -> Cluster:
    env = cluster_env(
        broker_url=broker_url or settings.CELERY_BROKER_URL,
        queue=f"followups-test-{uuid.uuid4().hex[:8]}",
        **{**mail.env(), **extra},
    )
    cluster = Cluster(tmp=tmp_path, env=env)
    clusters.append(cluster)
    return cluster


def _nurse_emails() -> list[str]:
    return [u.email for u in staff("nurse", NURSES)]


def _all_notified(ids: list[int]) -> bool:
    return FollowUp.objects.filter(id__in=ids, status="notified").count() == len(ids)


def _all_sent() -> bool:
    return OutboxMessage.objects.exists() and not OutboxMessage.objects.exclude(status="sent").exists()


def _done(ids: list[int]) -> bool:
    return _all_notified(ids) and _all_sent()


def _emails(mail: Mail, ids: list[int], emails: list[str]) -> Counter[str]:
    """Check the recorder's log against what was due: every (follow-up, nurse) pair covered,
    none covered by two different e-mails, nothing else sent. Returns how often each
    Message-ID was accepted (a repeat is the same message sent again)."""
    log = mail_log(mail.log)
    covering: dict[tuple[str, str], set[str]] = defaultdict(set)
    for record in log:
        for ref in record["refs"]:
            covering[(ref, record["to"])].add(record["message_id"])
    expected = {(f"followup:{pk}:0", to) for pk in ids for to in emails}
    assert set(covering) == expected, "an e-mail was lost, or one went where nothing was due"
    doubled = {pair: mids for pair, mids in covering.items() if len(mids) > 1}
    assert not doubled, f"{len(doubled)} follow-ups reached the same nurse in two different e-mails"
    return Counter(record["message_id"] for record in log)


def _assert_database_once(ids: list[int]) -> None:
    deliveries = FollowUpDelivery.objects.filter(followup_id__in=ids)
    assert deliveries.filter(channel="inbox").count() == len(ids) * NURSES  # the in-app inbox entries
    assert deliveries.filter(channel="email").count() == len(ids) * NURSES
    carried = {(ref, m.recipient_id) for m in OutboxMessage.objects.filter(channel="email") for ref in m.refs}
    assert {
        (f"followup:{d.followup_id}:{d.round}", d.recipient_id) for d in deliveries.filter(channel="email")
    } <= carried
    # One "notified" event per follow-up: no second round was ever written.
    assert FollowUpEvent.objects.filter(followup_id__in=ids, action="notified").count() == len(ids)


def _received_task_ids(cluster: Cluster, task: str) -> Counter[str]:
    logs = "\n".join(p.text() for p in cluster.procs if p.name.startswith("worker"))
    return Counter(re.findall(rf"Task {re.escape(task)}\[([0-9a-f-]+)\] received", logs))


def test_worker_killed_mid_dispatch_loses_nothing_and_doubles_nothing(tmp_path, mail, clusters):
    emails = _nurse_emails()
    ids = due_followups(150, prefix="kill")  # 30 batches: 60 digests
    cluster = _cluster(clusters, tmp_path, mail, FOLLOWUP_TEST_MAIL_DELAY="0.12")
    worker = cluster.worker()
    cluster.beat()
    kills: list[int] = []  # how many e-mails the log held at each SIGKILL
    for at in (8, 20, 32):
        wait_for(lambda at=at: mail.lines() >= at, 120, f"{at} e-mails")
        worker.kill()  # SIGKILL the worker and its prefork children, mid-batch
        kills.append(mail.lines())
        assert not _done(ids)
        worker = cluster.worker()  # a new one takes over: redelivered tasks, leases, the sweep
    assert kills[-1] < 60, "the kills must land in the middle of the dispatch"
    wait_for(lambda: _done(ids), 180, "every follow-up notified and every e-mail sent")
    accepted = _emails(mail, ids, emails)
    # The only repeat allowed: a message a killed process had handed to the server and not yet
    # marked (at most one per process, two processes per worker), sent again with the same
    # Message-ID, so the receiving side sees one message.
    repeated = {mid: n for mid, n in accepted.items() if n > 1}
    assert all(n == 2 for n in repeated.values())
    assert len(repeated) <= 2 * len(kills)
    log = mail_log(mail.log)
    for mid in repeated:
        first, second = [i for i, r in enumerate(log) if r["message_id"] == mid]
        assert any(first < k <= second for k in kills), "a repeat that no kill explains"
    _assert_database_once(ids)


def test_a_kill_between_the_servers_acceptance_and_the_mark_repeats_only_that_message(tmp_path, mail, clusters):
    emails = _nurse_emails()
    ids = due_followups(20, prefix="hold")
    mail.hold.touch()  # every send waits after the server accepted it, before the mark
    cluster = _cluster(clusters, tmp_path, mail)
    worker = cluster.worker()
    cluster.beat()
    wait_for(lambda: len(held(mail.hold)) >= 1, 90, "a send held between acceptance and mark")
    time.sleep(0.5)  # the other process may hold one too
    worker.kill()
    in_window = {mid for _, mid in held(mail.hold)}
    assert OutboxMessage.objects.filter(message_id__in=in_window, status="pending").count() == len(in_window)
    mail.hold.unlink()
    cluster.worker()
    wait_for(lambda: _done(ids), 120, "every e-mail sent after the lease")
    accepted = _emails(mail, ids, emails)
    # Exactly the messages in the window were sent again, once, with the same Message-ID; no
    # other message was repeated.
    assert {mid for mid, n in accepted.items() if n > 1} == in_window
    assert all(accepted[mid] == 2 for mid in in_window)
    resent = OutboxMessage.objects.filter(message_id__in=in_window)
    assert set(resent.values_list("attempts", flat=True)) == {2}
    assert set(OutboxMessage.objects.exclude(message_id__in=in_window).values_list("attempts", flat=True)) == {1}
    _assert_database_once(ids)


def test_terminated_database_connections_lose_nothing_and_double_nothing(tmp_path, mail, clusters):
    emails = _nurse_emails()
    ids = due_followups(150, prefix="pgkill")
    cluster = _cluster(clusters, tmp_path, mail, FOLLOWUP_TEST_MAIL_DELAY="0.12")
    cluster.worker()
    cluster.beat()
    terminated = 0
    for at in (8, 20, 32):
        wait_for(lambda at=at: mail.lines() >= at, 120, f"{at} e-mails")
        terminated += terminate_connections()  # every worker and beat connection, mid-dispatch
    # And once exactly in the window: a send the server accepted, its mark not yet written.
    mail.hold.touch()
    wait_for(lambda: len(held(mail.hold)) >= 1, 60, "a send held between acceptance and mark")
    terminated += terminate_connections()
    in_window = {mid for _, mid in held(mail.hold)}
    mail.hold.unlink()
    assert terminated > 0
    assert mail.lines() < 60, "the terminations must land in the middle of the dispatch"
    wait_for(lambda: _done(ids), 180, "every follow-up notified and every e-mail sent")
    accepted = _emails(mail, ids, emails)
    # The sender keeps the fact that a message went and records it once the database is back:
    # nothing is sent twice, not even with the same Message-ID.
    assert set(accepted.values()) == {1}
    assert set(OutboxMessage.objects.filter(message_id__in=in_window).values_list("attempts", flat=True)) == {1}
    worker_logs = "\n".join(p.text() for p in cluster.procs)
    assert "Database away while recording that message" in worker_logs
    _assert_database_once(ids)


def test_a_sustained_redis_outage_with_tasks_queued_is_recovered_by_the_lease(tmp_path, mail, clusters):
    emails = _nurse_emails()
    ids = due_followups(60, prefix="redis")  # 12 delivery tasks
    mail.compose_hold.touch()  # the first deliveries wait inside their transaction...
    with private_redis(tmp_path) as redis:
        # A long visibility timeout: nothing can come back by redelivery, only by the lease.
        cluster = _cluster(clusters, tmp_path, mail, broker_url=redis.url, CELERY_VISIBILITY_TIMEOUT="3600")
        cluster.worker()
        cluster.beat()
        wait_for(lambda: len(held(mail.compose_hold)) >= 1, 60, "a delivery held in its transaction")
        wait_for(lambda: not FollowUp.objects.filter(id__in=ids, status="pending").exists(), 30, "every row claimed")
        # ...while the rest of the tasks wait in Redis. Redis goes away with them (no save).
        redis.stop()
        mail.compose_hold.unlink()  # the held deliveries commit; their sends cannot be enqueued
        outage_until = time.monotonic() + 8  # longer than the lease (4 s): several ticks fail
        while time.monotonic() < outage_until:
            # PostgreSQL keeps everything: the rows wait as queued (or notified, for the held
            # batches), none is dropped.
            assert FollowUp.objects.filter(id__in=ids, status__in=("queued", "notified")).count() == len(ids)
            time.sleep(0.5)
        sent_in_outage = mail.lines()
        redis.start()  # an empty Redis on the same port
        wait_for(lambda: _done(ids), 180, "every follow-up delivered after Redis came back")
    accepted = _emails(mail, ids, emails)
    assert set(accepted.values()) == {1}
    assert sent_in_outage < len(accepted)
    _assert_database_once(ids)
    # Told apart: the rows whose task was lost were re-claimed by the lease (a `requeued`
    # event each); only the batches that were running when Redis went away were not.
    requeued = set(
        FollowUpEvent.objects.filter(followup_id__in=ids, action="requeued").values_list("followup_id", flat=True)
    )
    assert len(ids) - 2 * BATCH <= len(requeued) < len(ids)
    assert sum(_received_task_ids(cluster, "monitoring.followups_deliver").values()) == len(
        set(_received_task_ids(cluster, "monitoring.followups_deliver"))
    ), "no task was redelivered (the visibility timeout is an hour)"


def test_a_worker_killed_inside_the_delivery_transaction_is_recovered_by_redelivery(tmp_path, mail, clusters):
    emails = _nurse_emails()
    ids = due_followups(20, prefix="redeliver")
    mail.compose_hold.touch()
    # A long lease: nothing can come back by the lease, only by redelivery (visibility 5 s).
    cluster = _cluster(clusters, tmp_path, mail, FOLLOWUP_DISPATCH_LEASE_SECONDS="3600")
    worker = cluster.worker()
    cluster.beat()
    wait_for(lambda: len(held(mail.compose_hold)) >= 1, 60, "a delivery held in its transaction")
    worker.kill()  # its transaction is rolled back; its task message was never acknowledged
    assert not FollowUpDelivery.objects.filter(followup_id__in=ids).exists()
    mail.compose_hold.unlink()
    cluster.worker()
    wait_for(lambda: _done(ids), 120, "every follow-up delivered after redelivery")
    assert set(_emails(mail, ids, emails).values()) == {1}
    _assert_database_once(ids)
    assert not FollowUpEvent.objects.filter(followup_id__in=ids, action="requeued").exists()
    received = _received_task_ids(cluster, "monitoring.followups_deliver")
    assert any(n > 1 for n in received.values()), "the killed task was received again (redelivered)"


def test_a_broken_email_server_leaves_the_inbox_delivered_and_email_catches_up(tmp_path, mail, clusters):
    emails = _nurse_emails()
    ids = due_followups(20, prefix="broken")
    mail.broken.touch()
    cluster = _cluster(clusters, tmp_path, mail)
    cluster.worker()
    cluster.beat()
    wait_for(lambda: _all_notified(ids), 60, "every follow-up notified in the inbox")
    inbox = FollowUpDelivery.objects.filter(followup_id__in=ids, channel="inbox")
    assert inbox.count() == len(ids) * NURSES
    wait_for(lambda: OutboxMessage.objects.filter(attempts__gte=2).exists(), 30, "e-mail retried with backoff")
    assert mail.lines() == 0
    assert "test mail server unreachable" in OutboxMessage.objects.filter(attempts__gte=1).first().last_error
    mail.broken.unlink()  # the server is back
    wait_for(_all_sent, 60, "every e-mail sent once the server is back")
    assert set(_emails(mail, ids, emails).values()) == {1}
    _assert_database_once(ids)


def test_beat_down_catches_up_on_restart_without_duplicates(tmp_path, mail, clusters):
    emails = _nurse_emails()
    cluster = _cluster(clusters, tmp_path, mail, FOLLOWUP_TEST_MAIL_DELAY="0")
    cluster.worker()
    beat = cluster.beat()
    before = due_followups(10, prefix="before")
    wait_for(lambda: _done(before), 60, "the follow-ups due before beat stopped")
    beat.stop()
    # While beat is down, 60 follow-ups come due (some already due, some over the next seconds).
    now = timezone.now()
    during = due_followups(30, prefix="down-a", due_at=now - timedelta(seconds=1))
    during += due_followups(30, prefix="down-b", due_at=now + timedelta(seconds=2))
    sent_before = mail.lines()
    wait_for(lambda: timezone.now() > now + timedelta(seconds=5), 10, "beat to be down a while")
    assert mail.lines() == sent_before, "nothing is sent while beat is down"
    assert not FollowUp.objects.filter(id__in=during).exclude(status="pending").exists()
    cluster.beat()
    wait_for(lambda: _done(during), 60, "the backlog to be sent after beat restarted")
    assert set(_emails(mail, before + during, emails).values()) == {1}
    _assert_database_once(before + during)
