"""The models of `monitoring`, one module per feature package, imported here so that Django
registers them under the `monitoring` app label (tables and migrations unchanged). Import a
model from its package (`monitoring.vitals.models`), not from here."""

from monitoring.alerts import models as alerts
from monitoring.audit import models as audit
from monitoring.bedside import models as bedside
from monitoring.followups import models as followups
from monitoring.outbox import models as outbox
from monitoring.outcomes import models as outcomes
from monitoring.vitals import models as vitals

__all__ = ["alerts", "audit", "bedside", "followups", "outbox", "outcomes", "vitals"]
