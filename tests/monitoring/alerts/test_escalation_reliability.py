"""Escalation with a REAL Celery worker and beat (issue 21.4: "Escalation gets the same
worker-kill test"): a worker killed in the middle of an escalation step — the step claimed in
its transaction, the notices being written — sends nothing (its transaction dies with it), and
the next worker takes that step once: no step sent twice, none lost.

What was sent is counted outside the database: the push messages that reach the recipient's
group on the channel layer (sent after commit), not only the rows the transaction wrote.
"""

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from channels_redis.core import RedisChannelLayer
from django.db import connection
from django.utils import timezone

from monitoring.alerts.models import Alert, AlertEscalation
from monitoring.live.publish import user_group
from tests.factories import CourseFactory, SessionFactory, StaffMemberFactory
from tests.monitoring.celery_harness import Cluster, cluster_env, private_redis, wait_for
from tests.monitoring.celery_harness import test_database_url as database_url

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

PREFIX = f"clinic-live-escalation-{uuid.uuid4().hex[:6]}"


class PushCounter:
    """Listens to one group of the channel layer in a thread of its own; keeps each message."""

    def __init__(self, url: str, group: str) -> None:
        self.url, self.group, self.messages, self._stop = url, group, [], threading.Event()
        self._ready = threading.Event()
        self.thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)
        self.thread.start()
        assert self._ready.wait(10), "the push listener did not start"

    async def _run(self) -> None:
        layer = RedisChannelLayer(hosts=[self.url], prefix=PREFIX)
        channel = await layer.new_channel()
        await layer.group_add(self.group, channel)
        self._ready.set()
        while not self._stop.is_set():
            try:
                message = await asyncio.wait_for(layer.receive(channel), 0.5)
            except TimeoutError:
                continue
            self.messages.append(message)

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(5)


def _waiting_inserts() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query ILIKE %s",
            ['INSERT INTO "monitoring_alertescalation"%'],
        )
        return int(cursor.fetchone()[0])


@pytest.fixture
def clusters(tmp_path: Path) -> Iterator[list[Cluster]]:
    made: list[Cluster] = []
    yield made
    for cluster in made:
        cluster.stop_all()


def test_a_worker_killed_mid_escalation_step_sends_no_step_twice_and_loses_none(
    tmp_path, clusters, users, site, other_patient, protocol
):
    clinician = users["clinician"]
    StaffMemberFactory(user=clinician, site=site)  # nobody on the roster: the site's clinician
    # Step 2 on the tick after step 1, so that both steps happen within the test.
    site.clinical_overrides = {"escalate_next_level_after_minutes": 0}
    site.save()
    course = CourseFactory(patient=other_patient, protocol=protocol, created_by=clinician)
    session = SessionFactory(course=course, status="running", started_at=timezone.now())
    alert = Alert.objects.create(
        session=session, rule="bp_high", severity="high", message="m", raised_at=timezone.now()
    )
    # CLINICAL.md §3: a high alert is escalated after 2 minutes; this one is 3 minutes old.
    Alert.objects.filter(pk=alert.pk).update(created_at=timezone.now() - timedelta(minutes=3))

    with private_redis(tmp_path) as redis:
        pushes = PushCounter(redis.url, user_group(clinician.pk))
        env = cluster_env(
            broker_url=redis.url,
            queue=f"escalation-test-{uuid.uuid4().hex[:8]}",
            BEDSIDE_TICK_SECONDS="1",
            LIVE_REDIS_URL=redis.url,
            LIVE_PREFIX=PREFIX,
        )
        env.pop("PYTEST_XDIST_WORKER", None)
        cluster = Cluster(tmp=tmp_path, env=env)
        clusters.append(cluster)
        # Hold the notice's unique key in a transaction of our own: the worker's step-1 INSERT
        # waits on it inside the transaction that claimed the step.
        blocker = psycopg.connect(database_url())
        blocker.execute(
            'INSERT INTO "monitoring_alertescalation" ("created_at", "alert_id", "step", "recipient_id", '
            '"escalated_at", "message") VALUES (now(), %s, 1, %s, now(), %s)',
            [alert.pk, clinician.pk, "held by the test"],
        )
        first = cluster.worker()
        cluster.beat()
        wait_for(lambda: _waiting_inserts() == 1, 60, "the worker to wait inside the escalation step")
        first.kill()  # SIGKILL, in the middle of the step: claimed, notices half written
        blocker.rollback()
        blocker.close()
        wait_for(lambda: _waiting_inserts() == 0, 30, "the killed worker's transaction to end")
        time.sleep(1)
        alert.refresh_from_db()
        assert alert.escalation_step == 0  # the killed transaction took its claim with it
        assert AlertEscalation.objects.filter(alert=alert).count() == 0
        assert [m for m in pushes.messages if "notice" in m.get("kinds", [])] == []  # nothing was sent

        cluster.worker()  # the next worker takes the step, once; then the next level, once
        wait_for(lambda: Alert.objects.get(pk=alert.pk).escalation_step == 2, 60, "both escalation steps", every=0.2)
        time.sleep(4)  # more ticks: nothing more is sent
        pushes.stop()

    notices = list(AlertEscalation.objects.filter(alert=alert).order_by("step").values_list("step", "recipient"))
    assert notices == [(1, clinician.pk), (2, clinician.pk)], cluster.logs()
    sent = [m for m in pushes.messages if "notice" in m.get("kinds", [])]
    assert [m["alert"] for m in sent] == [alert.pk, alert.pk], (sent, cluster.logs())
