"""Follow-up dispatch (issue 6 item 5): 10,000 due follow-ups, from the beat tick's claim to
every assignee notified by in-app inbox and e-mail.

What is timed is the work the tick, the delivery tasks and the outbox's send tasks do
(`followups_claim_due`, `followups_deliver` for each batch of `FOLLOWUP_DISPATCH_BATCH_SIZE`
ids, then `outbox_send` for the e-mails, in this process: the broker hop is not the figure).
Half the follow-ups go to the nurses (3 accounts), half to the clinicians (2): 25,000
notifications per channel. E-mail goes through Django's
locmem backend, so the figure is the service's own cost, not an SMTP server's.

Target: the whole dispatch under 5 s, with a number of queries per batch that does not
depend on the batch's size (queries per batch, not per row).

Standalone: reads DATABASE_URL, makes a throwaway database beside it
(`<name>_bench_followups_<pid>`), migrates it, and drops it at the end, whatever happens.
"""

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import figure, in_throwaway_database  # noqa: E402

N = int(os.environ.get("BENCH_FOLLOWUPS", "10000"))
BATCH_OVERRIDE = os.environ.get("BENCH_FOLLOWUP_BATCH")  # default: settings.FOLLOWUP_DISPATCH_BATCH_SIZE


def main() -> None:
    os.environ["DJANGO_EMAIL_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"
    in_throwaway_database("followups", run)


class QueryCounter:
    """Counts statements (including BEGIN-less savepoints and COMMIT is not a statement here)
    without Django's debug cursor, which would format every parameter array into text."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        self.count += 1
        return execute(sql, params, many, context)

    def take(self) -> int:
        count, self.count = self.count, 0
        return count


def run() -> None:
    from datetime import timedelta

    from django.core import mail
    from django.db import connection
    from django.utils import timezone

    from clinic.core.roles import Role
    from clinic.models import Site, User
    from monitoring.followups.dispatch import dispatch_batch_size, followups_claim_due, followups_deliver
    from monitoring.followups.models import FollowUp, FollowUpDelivery
    from monitoring.followups.services import FollowUpSpec, followups_ensure_many
    from monitoring.outbox.channels import REFS_HEADER

    batch_size = int(BATCH_OVERRIDE) if BATCH_OVERRIDE else dispatch_batch_size()
    from patients.models import Patient

    mail.outbox = []
    site = Site.objects.create(name="Bench", code="bench-followups", time_zone="Europe/London")
    for i in range(3):
        User.objects.create(username=f"nurse{i}", role=Role.NURSE, email=f"nurse{i}@bench.test")
    for i in range(2):
        User.objects.create(username=f"clinician{i}", role=Role.CLINICIAN, email=f"clinician{i}@bench.test")
    patients = Patient.objects.bulk_create(
        [
            Patient(mrn=f"BF{n:05d}", given_name="B", family_name=f"P{n}", birth_date="1980-01-01", sex="other")
            for n in range(500)
        ]
    )
    due = timezone.now() - timedelta(minutes=5)
    began = time.perf_counter()
    followups_ensure_many(
        [
            FollowUpSpec(
                kind="check_in_call" if i % 2 else "end_of_induction_review",
                key=f"bench:{i}",
                due_at=due,
                assignee_role=Role.NURSE if i % 2 else Role.CLINICIAN,
                patient_id=patients[i % len(patients)].pk,
                site_id=site.pk,
            )
            for i in range(N)
        ]
    )
    planned = time.perf_counter() - began
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(
        f"# {N:,} due follow-ups (half to 3 nurses, half to 2 clinicians), batches of {batch_size}, "
        f"channels inbox + e-mail (locmem)",
        flush=True,
    )
    figure(f"plan: insert {N:,} follow-ups (ON CONFLICT DO NOTHING)", planned, "s")

    ids: list[int] = []
    counter = QueryCounter()
    began = time.perf_counter()
    with connection.execute_wrapper(counter):
        claimed = followups_claim_due(enqueue=ids.extend)
    claim_seconds = time.perf_counter() - began
    claim_queries = counter.take()
    # No broker here: the ids the tick would hand to Celery, in its batches.
    ids = ids or claimed.ids
    batches = [ids[i : i + batch_size] for i in range(0, len(ids), batch_size)]
    per_batch_queries: list[int] = []
    per_batch_seconds: list[float] = []
    began = time.perf_counter()
    for batch in batches:
        start = time.perf_counter()
        with connection.execute_wrapper(counter):
            followups_deliver(followup_ids=batch)
        per_batch_seconds.append(time.perf_counter() - start)
        per_batch_queries.append(counter.take())
    deliver_seconds = time.perf_counter() - began
    # After commit the outbox sends the e-mails, each claimed just before and marked right
    # after (what the send tasks do, in this process).
    from monitoring.outbox.dispatch import send_batch_size
    from monitoring.outbox.services import outbox_due, outbox_send

    began = time.perf_counter()
    send_queries = 0
    for message_ids in outbox_due(limit=10**9).values():
        for start_at in range(0, len(message_ids), send_batch_size()):
            with connection.execute_wrapper(counter):
                outbox_send(message_ids=message_ids[start_at : start_at + send_batch_size()])
            send_queries += counter.take()
    send_seconds = time.perf_counter() - began
    total = claim_seconds + deliver_seconds + send_seconds

    notified = FollowUp.objects.filter(status="notified").count()
    inbox = FollowUpDelivery.objects.filter(channel="inbox").count()
    deliveries = FollowUpDelivery.objects.count()
    digests = len(mail.outbox)
    emails = sum(len(m.extra_headers[REFS_HEADER].split(",")) for m in mail.outbox)
    assert notified == N, f"{notified} of {N} notified"
    expected = (N // 2) * 3 + (N - N // 2) * 2
    assert inbox == emails == expected, (inbox, emails, expected)

    figure(f"tick: claim {len(claimed.ids):,} due follow-ups (SKIP LOCKED)", claim_seconds * 1000, "ms")
    figure("tick: queries", claim_queries, "queries")
    figure(f"deliver: {len(batches)} batches of {batch_size}", deliver_seconds, "s")
    figure("deliver: median batch", statistics.median(per_batch_seconds) * 1000, "ms")
    figure("deliver: queries per batch (max)", max(per_batch_queries), "queries")
    figure("deliver: queries per batch (min)", min(per_batch_queries), "queries")
    figure(f"send: {digests:,} e-mails from the outbox", send_seconds, "s")
    figure("send: queries per e-mail", send_queries / max(digests, 1), "queries")
    figure(
        f"dispatch {N:,} due follow-ups end to end (claim + deliver + send)",
        total,
        "s",
        target="< 5 s",
        ratio=total / 5.0,
    )
    figure("notifications sent (inbox + e-mail)", inbox + emails, "messages")
    figure("e-mails (one digest per recipient per batch)", digests, "e-mails")
    figure("notifications per second", (inbox + emails) / total, "msg/s")
    print(
        f"# {notified:,} notified, {inbox:,} inbox entries, {emails:,} e-mailed, {deliveries:,} delivery rows; "
        f"queries per batch {sorted(set(per_batch_queries))} (the same for every batch size)",
        flush=True,
    )
    again = followups_claim_due(enqueue=lambda _ids: None)
    redelivered = followups_deliver(followup_ids=ids[:batch_size])
    assert again.ids == [], "a second tick must send nothing"
    assert redelivered.notified == [], "a redelivered batch must send nothing"
    verdict = "MET" if total < 5 and len(set(per_batch_queries)) == 1 else "MISSED"
    print(f"# target {verdict}: {total:.2f} s for {N:,} (< 5 s), queries per batch constant", flush=True)


if __name__ == "__main__":
    main()
