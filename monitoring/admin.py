"""The Django admin of `monitoring`: each feature package registers its own models."""

from monitoring.alerts import admin as alerts_admin
from monitoring.audit import admin as audit_admin
from monitoring.bedside import admin as bedside_admin
from monitoring.followups import admin as followups_admin
from monitoring.outbox import admin as outbox_admin
from monitoring.outcomes import admin as outcomes_admin
from monitoring.vitals import admin as vitals_admin

__all__ = [
    "alerts_admin",
    "audit_admin",
    "bedside_admin",
    "followups_admin",
    "outbox_admin",
    "outcomes_admin",
    "vitals_admin",
]
