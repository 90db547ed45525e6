"""The Celery application. Settings come from Django's settings under the CELERY_ namespace."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("clinic")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# The bedside minute scans live beside the follow-up tasks (monitoring/bedside_tasks.py).
app.autodiscover_tasks(related_name="bedside_tasks")
