"""The Django admin of `infusions`: each feature package registers its own models."""

from infusions.ledger import admin as ledger_admin
from infusions.protocols import admin as protocols_admin
from infusions.scheduling import admin as scheduling_admin
from infusions.sessions import admin as sessions_admin

__all__ = ["ledger_admin", "protocols_admin", "scheduling_admin", "sessions_admin"]
