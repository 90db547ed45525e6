"""The models of `infusions`, one module per feature package, imported here so that Django
registers them under the `infusions` app label (tables and migrations unchanged). Import a
model from its package (`infusions.scheduling.models`), not from here."""

from infusions.ledger import models as ledger
from infusions.protocols import models as protocols
from infusions.scheduling import models as scheduling
from infusions.scheduling.models import TsTzRange  # named by migration 0003
from infusions.sessions import models as sessions

__all__ = ["TsTzRange", "ledger", "protocols", "scheduling", "sessions"]
