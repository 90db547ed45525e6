"""The Celery application. Settings come from Django's settings under the CELERY_ namespace."""

import os
import pkgutil
from pathlib import Path

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

LOCAL_APPS = ("clinic", "patients", "infusions", "monitoring")
ROOT = Path(__file__).resolve().parent.parent

app = Celery("clinic")
app.config_from_object("django.conf:settings", namespace="CELERY")


def task_packages() -> list[str]:
    """Every package of the local apps (feature packages included): Celery imports each one's
    `tasks` module where there is one."""
    found: list[str] = []
    for name in LOCAL_APPS:
        found.append(name)
        found += [f"{name}.{m.name}" for m in pkgutil.iter_modules([str(ROOT / name)]) if m.ispkg]
    return found


app.autodiscover_tasks(task_packages)
