"""What every Celery task here shares."""

from django.db import InterfaceError, OperationalError

# Errors worth a retry with backoff: the database or the network was away for a moment.
TRANSIENT = (OperationalError, InterfaceError, ConnectionError, TimeoutError)
