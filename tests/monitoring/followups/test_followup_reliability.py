"""Reliability of follow-up reminders with a REAL Celery worker (prefork, 2 processes), real
beat, real Redis and the real test PostgreSQL database (DESIGN.md non-negotiables: each due
follow-up is sent exactly once even when workers die or Redis restarts; nothing due is ever
silently dropped).

Every test counts what was sent: e-mails recorded by the worker's e-mail backend in the
delivery transaction (tests.monitoring.recording_mail), in-app inbox rows, and delivery rows.
"""

import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from monitoring.followups.models import FollowUp, FollowUpDelivery, FollowUpEvent
from tests.monitoring.celery_harness import Cluster, cluster_env, private_redis, wait_for
from tests.monitoring.followup_helpers import due_followups, staff
from tests.monitoring.recording_mail import CREATE_SQL, SENT_MAIL_TABLE

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

NURSES = 2


@pytest.fixture
def sent_mail_table() -> Iterator[None]:
    with connection.cursor() as cursor:
        cursor.execute(CREATE_SQL)
        cursor.execute(f"TRUNCATE {SENT_MAIL_TABLE}")  # noqa: S608
    yield
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {SENT_MAIL_TABLE}")


@pytest.fixture
def cluster_factory(tmp_path: Path, sent_mail_table: None) -> Iterator[list[Cluster]]:
    clusters: list[Cluster] = []
    yield clusters
    for c in clusters:
        c.stop_all()


def _cluster(clusters: list[Cluster], tmp_path: Path, broker_url: str, **extra: str) -> Cluster:
    env = cluster_env(broker_url=broker_url, queue=f"followups-test-{uuid.uuid4().hex[:8]}", **extra)
    cluster = Cluster(tmp=tmp_path, env=env)
    clusters.append(cluster)
    return cluster


def _emails() -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {SENT_MAIL_TABLE}")  # noqa: S608
        return int(cursor.fetchone()[0])


def _duplicate_emails() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM (SELECT followup_id, round, recipient FROM {SENT_MAIL_TABLE} "  # noqa: S608
            "GROUP BY 1, 2, 3 HAVING count(*) > 1) d"
        )
        return int(cursor.fetchone()[0])


def _all_notified(ids: list[int]) -> bool:
    return FollowUp.objects.filter(id__in=ids, status="notified").count() == len(ids)


def _assert_exactly_once(ids: list[int], cluster: Cluster) -> None:
    expected = len(ids) * NURSES
    assert _emails() == expected, cluster.logs()
    assert _duplicate_emails() == 0
    deliveries = FollowUpDelivery.objects.filter(followup_id__in=ids)
    assert deliveries.filter(channel="inbox").count() == expected  # the in-app inbox entries
    assert deliveries.filter(channel="email").count() == expected
    # One "notified" event per follow-up: no second round was ever sent.
    assert FollowUpEvent.objects.filter(followup_id__in=ids, action="notified").count() == len(ids)


def test_worker_killed_mid_dispatch_loses_nothing_and_sends_nothing_twice(tmp_path, cluster_factory):
    staff("nurse", NURSES)
    ids = due_followups(120, prefix="kill")
    expected = len(ids) * NURSES
    cluster = _cluster(cluster_factory, tmp_path, settings.CELERY_BROKER_URL)
    first = cluster.worker()
    cluster.beat()
    # Let it get going, then SIGKILL the worker and its prefork children mid-batch.
    wait_for(lambda: _emails() >= 30, 90, "the first deliveries")
    first.kill()
    at_kill = _emails()
    assert 0 < at_kill < expected, "the kill must land in the middle of the dispatch"
    assert FollowUp.objects.filter(id__in=ids, status="queued").exists()
    # A new worker takes over: redelivered messages and re-queued leases finish the job.
    cluster.worker()
    wait_for(lambda: _all_notified(ids), 120, "every follow-up to be notified")
    _assert_exactly_once(ids, cluster)


def test_redis_stopped_and_restarted_loses_nothing(tmp_path, cluster_factory):
    staff("nurse", NURSES)
    ids = due_followups(60, prefix="redis")
    with private_redis(tmp_path) as redis:
        cluster = _cluster(cluster_factory, tmp_path, redis.url)
        cluster.worker()
        cluster.beat()
        wait_for(lambda: _emails() >= 20, 90, "the first deliveries")
        redis.stop()  # SHUTDOWN NOSAVE: every queued message is gone
        lost_at = _emails()
        assert lost_at < len(ids) * NURSES
        # Meanwhile nothing is lost in PostgreSQL: the rows wait as `queued` (or `pending`).
        assert FollowUp.objects.filter(id__in=ids, status__in=("queued", "pending")).exists()
        redis.start()  # an empty Redis on the same port
        wait_for(lambda: _all_notified(ids), 120, "every follow-up to be notified after Redis came back")
        _assert_exactly_once(ids, cluster)


def test_beat_down_catches_up_on_restart_without_duplicates(tmp_path, cluster_factory):
    staff("nurse", NURSES)
    cluster = _cluster(cluster_factory, tmp_path, settings.CELERY_BROKER_URL, FOLLOWUP_TEST_MAIL_DELAY="0")
    cluster.worker()
    beat = cluster.beat()
    before = due_followups(10, prefix="before")
    wait_for(lambda: _all_notified(before), 60, "the follow-ups due before beat stopped")
    beat.stop()
    # While beat is down, 60 follow-ups come due (some already due, some over the next seconds).
    now = timezone.now()
    during = due_followups(30, prefix="down-a", due_at=now - timedelta(seconds=1))
    during += due_followups(30, prefix="down-b", due_at=now + timedelta(seconds=2))
    sent_before = _emails()
    wait_for(lambda: timezone.now() > now + timedelta(seconds=5), 10, "beat to be down a while")
    assert _emails() == sent_before, "nothing is sent while beat is down"
    assert not FollowUp.objects.filter(id__in=during).exclude(status="pending").exists()
    cluster.beat()
    wait_for(lambda: _all_notified(during), 60, "the backlog to be sent after beat restarted")
    _assert_exactly_once(before + during, cluster)
