"""Push: the one place the services announce a change to the open boards and bedside pages.

The vitals, alerts and bedside services call these functions inside their transaction; the
message is sent after the commit (`transaction.on_commit`), so a page never hears of a row it
cannot read yet, and a rolled-back write announces nothing. A message carries ids and kinds
only (no patient data travels through Redis): the page re-reads what changed over HTTP, with
the same permissions as any other read. Sending never fails the write: if the channel layer
(Redis) is away the message is dropped and logged, and the pages, which then see their
connection drop, poll until it is back and re-read everything on reconnect.

Groups: `site.<id>` (every board and bedside page of that site) and `user.<id>` (every page
of one person: their escalation notices).
"""

import asyncio
import logging
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.utils import timezone

from infusions.sessions.models import InfusionSession
from infusions.sessions.selectors import session_site

logger = logging.getLogger(__name__)

# What changed (the pages' live.js reads these names).
ALERTS, VITALS, SESSION, SCHEDULE, ROSTER, NOTICE = "alerts", "vitals", "session", "schedule", "roster", "notice"


def site_group(site_id: int) -> str:
    return f"site.{site_id}"


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def _group_send(group: str, message: dict[str, object]) -> None:
    layer = get_channel_layer()
    if layer is not None:
        async_to_sync(layer.group_send)(group, {"type": "live.changed", **message})


def _send(group: str, message: dict[str, object]) -> None:
    try:
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # the usual case: a web or worker thread without an event loop
            _group_send(group, message)
        else:  # a thread running an event loop cannot block on one: send from another thread
            with ThreadPoolExecutor(max_workers=1) as pool:
                pool.submit(_group_send, group, message).result(timeout=5)
    except Exception:  # never fail a committed write because the push is away
        logger.warning("Push to %s failed; the pages poll until it is back.", group, exc_info=True)


def _after_commit(group: str, message: dict[str, object]) -> None:
    message = {**message, "at": timezone.now().isoformat()}
    transaction.on_commit(lambda: _send(group, message))


def session_changed(session: InfusionSession, *kinds: str) -> None:
    """A session's alerts, vitals, status or next set due changed: tell its site's pages."""
    site = session_site(session)
    if site is None:
        return
    _after_commit(site_group(site.pk), {"kinds": sorted(set(kinds)), "session": session.pk})


def sessions_changed(sessions: Iterable[InfusionSession], *kinds: str) -> None:
    """Several sessions at once (a scan): one message per session."""
    for session in sessions:
        session_changed(session, *kinds)


def site_changed(site_id: int, *kinds: str) -> None:
    """Something of the site itself changed (its on-call roster)."""
    _after_commit(site_group(site_id), {"kinds": sorted(set(kinds))})


def user_notified(user_id: int, *, alert_id: int) -> None:
    """A person was sent an escalation notice: their open pages show it."""
    _after_commit(user_group(user_id), {"kinds": [NOTICE], "alert": alert_id})
