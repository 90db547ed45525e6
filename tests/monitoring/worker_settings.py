"""Settings for the Celery worker and beat processes that the reliability tests start.

The test settings, plus an e-mail backend that records every message it accepts in a file,
outside the database (tests.monitoring.recording_mail), so a test can count what was sent
whatever was rolled back, and the e-mail channel whose composing a test can hold.
"""

import os

from config.settings.test import *  # noqa: F403

EMAIL_BACKEND = "tests.monitoring.recording_mail.RecordingBackend"
NOTIFICATION_CHANNELS = [
    "monitoring.outbox.channels.InboxChannel",
    "tests.monitoring.recording_mail.HoldingEmailChannel",
]

# Each test gets a queue of its own, so that nothing else on the same Redis consumes its tasks.
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_TASK_DEFAULT_QUEUE", "celery")
