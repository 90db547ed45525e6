"""Demo data for the controlled-substance ledger (`seed_demo`, CLINICAL.md §8): the site's
stock of ketamine received, and for every demo session the drug drawn and given, written
through the ledger services, so each session reconciles and today's can be discharged.

Idempotent: stock is received once per site; a session with ledger entries is left alone.
"""

from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone

from clinic.models import Site, User
from infusions.ledger import services as ledger
from infusions.ledger.models import ControlledContainer, LedgerDrug
from infusions.sessions.models import InfusionSession

# Ketamine hydrochloride injection 50 mg/mL, 10 mL multi-dose vials (NDC 0409-2051-05).
NDC = "0409-2051-05"
STRENGTH_MG_PER_ML = Decimal("50")
VOLUME_ML = Decimal("10")
VIALS = 20
SUPPLIER = "Demo Pharma Wholesale"
SUPPLIER_DEA = "BS1234563"  # (1+3+5) + 2 x (2+4+6) = 33: check digit 3


def seed_stock(*, site: Site, admin: User) -> list[ControlledContainer]:
    """The site's ketamine vials, received 30 days ago (once)."""
    existing = list(ControlledContainer.objects.filter(site=site, drug=LedgerDrug.KETAMINE))
    if existing:
        return existing
    received = timezone.now() - timedelta(days=30)
    return ledger.ledger_receive(
        actor=admin,
        site=site,
        drug=LedgerDrug.KETAMINE,
        ndc=NDC,
        lot="DEMO-2026-01",
        expires_on=timezone.localdate() + timedelta(days=365),
        strength_mg_per_ml=STRENGTH_MG_PER_ML,
        volume_ml=VOLUME_ML,
        supplier=SUPPLIER,
        supplier_dea_number=SUPPLIER_DEA,
        invoice_number="DEMO-INV-0001",
        quantity=VIALS,
        received_at=received,
    )


def _vial_with(site: Site, amount_mg: Decimal) -> ControlledContainer | None:
    for container in ControlledContainer.objects.filter(site=site, drug=LedgerDrug.KETAMINE).order_by("id"):
        stock = container.entries.aggregate(total=Sum("stock_change_mg"))["total"] or Decimal("0")
        if stock >= amount_mg:
            return container
    return None


def seed_session_ledger(*, session: InfusionSession, site: Site, nurse: User, at: datetime) -> bool:
    """`total_dose_mg` drawn for the session and given (opened − administered = 0), at `at`.
    Before the session is signed (a signed session's ledger is closed). False if nothing was
    written (entries already there, or no stock left)."""
    if session.ledger_entries.exists():
        return False
    amount = session.total_dose_mg
    vial = _vial_with(site, amount)
    if vial is None:
        return False
    ledger.ledger_open(actor=nurse, session=session, container=vial, amount_mg=amount, occurred_at=at)
    ledger.ledger_administer(
        actor=nurse, session=session, container=vial, amount_mg=amount, occurred_at=at + timedelta(minutes=1)
    )
    return True
