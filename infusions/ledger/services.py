"""Every write to the controlled-substance ledger (CLINICAL.md §8).

Rules: entries are append-only and a mistake is corrected by a reversing entry; waste needs
a witness who is a different staff account, destruction two; stock and a session's drawn
amount never go below zero; each session reconciles opened − administered − wasted (− lost
with the session) = 0, else a discrepancy that stays open until a later reconciliation
balances, with a note. Witnesses confirm with their own password.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from clinic.core.exceptions import ApplicationError
from clinic.core.roles import ADMIN, CLINICAL, LEDGER, PRESCRIBER
from clinic.models import Site, User
from clinic.policy import ClinicalPolicy
from infusions.ledger.models import (
    ContainerKind,
    ControlledContainer,
    CountKind,
    CountMethod,
    EntryKind,
    LedgerDrug,
    LedgerEntry,
    LedgerReconciliation,
    LossKind,
    ReconciliationStatus,
)
from infusions.sessions.models import InfusionSession, SessionStatus

MG = Decimal("0.001")
ZERO = Decimal("0")
# Who may do what with the ledger (clinic.core.roles): session entries (open, administer, waste)
# are CLINICAL; stock (receive, destroy, transfer out, loss, count, adjustment) is ADMIN; a
# witness is any LEDGER role.
SESSION_KINDS = (EntryKind.OPEN, EntryKind.ADMINISTER, EntryKind.WASTE)
# Largest receipt in one request (a carton of vials).
MAX_CONTAINERS_PER_RECEIPT = 200
FUTURE_TOLERANCE = timedelta(minutes=5)


# --- checks ---------------------------------------------------------------------------------


def dea_number_valid(value: str) -> bool:
    """A DEA registration number: two letters (registrant type, then the initial of the
    registrant's last name or 9) and seven digits whose last is the check digit:
    (d1 + d3 + d5) + 2 × (d2 + d4 + d6), last digit."""
    value = value.strip().upper()
    if len(value) != 9 or not value[0].isalpha() or not (value[1].isalpha() or value[1] == "9"):
        return False
    digits = value[2:]
    if not digits.isdigit():
        return False
    d = [int(c) for c in digits]
    check = (d[0] + d[2] + d[4]) + 2 * (d[1] + d[3] + d[5])
    return check % 10 == d[6]


def _require_role(actor: User, roles: tuple[str, ...], what: str) -> None:
    if actor.role not in roles:
        raise ApplicationError(f"Your role may not record {what}.", rule="ledger_role_not_allowed", status=403)


def _amount(value: Decimal, field: str = "amount_mg", *, allow_zero: bool = False) -> Decimal:
    value = Decimal(value).quantize(MG)
    if value < 0 or (value == 0 and not allow_zero):
        raise ValidationError({field: "Must be more than 0 mg." if not allow_zero else "Must be 0 mg or more."})
    return value


def _when(value: datetime | None, field: str = "occurred_at") -> datetime:
    now = timezone.now()
    if value is None:
        return now
    if value > now + FUTURE_TOLERANCE:
        raise ValidationError({field: "The time is in the future."})
    return value


def _witness_verify(*, actor: User, witness: User | None, password: str, field: str) -> User:
    """A witness is another active staff account (admin, clinician or nurse) whose holder
    confirms with their own password."""
    if witness is None:
        raise ValidationError({field: "A witness is required."})
    if witness.pk == actor.pk:
        raise ApplicationError(
            "The witness must be a different staff member from the one recording.", rule="ledger_witness_same_person"
        )
    if not witness.is_active or witness.role not in LEDGER:
        raise ValidationError({field: "The witness must be an active admin, clinician or nurse."})
    if not password or not witness.check_password(password):
        raise ValidationError({f"{field}_password": "The witness's password is not correct."})
    return witness


def _lock_container(container: ControlledContainer) -> ControlledContainer:
    return ControlledContainer.objects.select_for_update().select_related("site").get(pk=container.pk)


def _lock_session(session: InfusionSession) -> InfusionSession:
    return (
        InfusionSession.objects.select_for_update(of=("self",))
        .select_related("course__protocol", "course__patient")
        .get(pk=session.pk)
    )


def container_stock_mg(container: ControlledContainer) -> Decimal:
    total = container.entries.aggregate(total=Coalesce(Sum("stock_change_mg"), ZERO))["total"]
    return Decimal(total)


def session_drawn_mg(session: InfusionSession, container: ControlledContainer | None = None) -> Decimal:
    """Drawn for the session and not yet administered, wasted or lost (per container if given)."""
    qs = LedgerEntry.objects.filter(session=session)
    if container is not None:
        qs = qs.filter(container=container)
    return Decimal(qs.aggregate(total=Coalesce(Sum("session_change_mg"), ZERO))["total"])


def _check_stock(container: ControlledContainer, change: Decimal) -> None:
    stock = container_stock_mg(container)
    if stock + change < 0:
        raise ApplicationError(
            f"Container #{container.pk} holds {stock} mg; {-change} mg cannot leave it.",
            rule="ledger_insufficient_stock",
            extra={"stock_mg": float(stock)},
        )


def _check_drawn(session: InfusionSession, container: ControlledContainer, change: Decimal) -> None:
    drawn = session_drawn_mg(session, container)
    if drawn + change < 0:
        raise ApplicationError(
            f"Only {drawn} mg from container #{container.pk} is open for session {session.pk}; "
            "record the opening first.",
            rule="ledger_session_overdrawn",
            extra={"open_mg": float(drawn)},
        )


def _check_session_open(session: InfusionSession) -> None:
    if session.signed_at is not None:
        raise ApplicationError("The session is signed; its ledger is closed.", rule="session_signed")


def _check_container_matches(session: InfusionSession, container: ControlledContainer) -> None:
    drug = session.course.protocol.drug
    if drug != container.drug:
        raise ApplicationError(
            f"Container #{container.pk} holds {container.drug}; the session gives {drug}.",
            rule="ledger_drug_mismatch",
        )


def _save(entry: LedgerEntry) -> LedgerEntry:
    entry.full_clean()
    entry.save()
    return entry


# --- stock --------------------------------------------------------------------------------------


@transaction.atomic
def ledger_receive(
    *,
    actor: User,
    site: Site,
    drug: str,
    ndc: str,
    lot: str,
    expires_on: date,
    strength_mg_per_ml: Decimal,
    volume_ml: Decimal,
    supplier: str,
    supplier_dea_number: str,
    invoice_number: str,
    quantity: int = 1,
    kind: str = ContainerKind.VIAL,
    received_at: datetime | None = None,
) -> list[ControlledContainer]:
    """Receive `quantity` identical containers (supplier, DEA number, invoice)."""
    _require_role(actor, ADMIN, "receipts")
    received_at = _when(received_at, "received_at")
    errors: dict[str, str] = {}
    if drug not in LedgerDrug.values:
        errors["drug"] = "ketamine or esketamine."
    if expires_on <= timezone.localdate(received_at):
        errors["expires_on"] = "The container has expired."
    if not dea_number_valid(supplier_dea_number):
        errors["supplier_dea_number"] = "Not a valid DEA registration number (two letters, seven digits, check digit)."
    if not supplier.strip():
        errors["supplier"] = "The supplier is required."
    if not invoice_number.strip():
        errors["invoice_number"] = "The invoice number is required."
    if not 1 <= quantity <= MAX_CONTAINERS_PER_RECEIPT:
        errors["quantity"] = f"Between 1 and {MAX_CONTAINERS_PER_RECEIPT}."
    if errors:
        raise ValidationError(errors)
    containers = []
    for _ in range(quantity):
        container = ControlledContainer(
            site=site,
            drug=drug,
            kind=kind,
            ndc=ndc.strip(),
            lot=lot.strip(),
            expires_on=expires_on,
            strength_mg_per_ml=strength_mg_per_ml,
            volume_ml=volume_ml,
            received_by=actor,
        )
        container.full_clean()
        containers.append(container)
    ControlledContainer.objects.bulk_create(containers)
    entries = []
    for container in containers:
        content = container.content_mg
        entry = LedgerEntry(
            container=container,
            kind=EntryKind.RECEIVE,
            amount_mg=content,
            stock_change_mg=content,
            occurred_at=received_at,
            recorded_by=actor,
            supplier=supplier.strip(),
            supplier_dea_number=supplier_dea_number.strip().upper(),
            invoice_number=invoice_number.strip(),
        )
        entry.full_clean()
        entries.append(entry)
    LedgerEntry.objects.bulk_create(entries)
    return containers


@transaction.atomic
def ledger_destroy(
    *,
    actor: User,
    container: ControlledContainer,
    amount_mg: Decimal,
    witness: User | None,
    witness_password: str,
    second_witness: User | None,
    second_witness_password: str,
    reason: str,
    occurred_at: datetime | None = None,
) -> LedgerEntry:
    """Destroy stock (expired or unusable) before two witnesses, both other staff accounts."""
    _require_role(actor, ADMIN, "destruction")
    container = _lock_container(container)
    amount = _amount(amount_mg)
    first = _witness_verify(actor=actor, witness=witness, password=witness_password, field="witness")
    second = _witness_verify(
        actor=actor, witness=second_witness, password=second_witness_password, field="second_witness"
    )
    if first.pk == second.pk:
        raise ApplicationError("Destruction needs two different witnesses.", rule="ledger_witnesses_not_distinct")
    if not reason.strip():
        raise ValidationError({"reason": "Say why the drug is destroyed."})
    _check_stock(container, -amount)
    return _save(
        LedgerEntry(
            container=container,
            kind=EntryKind.DESTROY,
            amount_mg=amount,
            stock_change_mg=-amount,
            occurred_at=_when(occurred_at),
            recorded_by=actor,
            witness=first,
            second_witness=second,
            reason=reason.strip(),
        )
    )


@transaction.atomic
def ledger_transfer_out(
    *,
    actor: User,
    container: ControlledContainer,
    amount_mg: Decimal,
    recipient: str,
    recipient_dea_number: str,
    reason: str = "",
    occurred_at: datetime | None = None,
) -> LedgerEntry:
    _require_role(actor, ADMIN, "transfers")
    container = _lock_container(container)
    amount = _amount(amount_mg)
    errors: dict[str, str] = {}
    if not recipient.strip():
        errors["recipient"] = "The receiving registrant is required."
    if not dea_number_valid(recipient_dea_number):
        errors["recipient_dea_number"] = "Not a valid DEA registration number."
    if errors:
        raise ValidationError(errors)
    _check_stock(container, -amount)
    return _save(
        LedgerEntry(
            container=container,
            kind=EntryKind.TRANSFER_OUT,
            amount_mg=amount,
            stock_change_mg=-amount,
            occurred_at=_when(occurred_at),
            recorded_by=actor,
            recipient=recipient.strip(),
            recipient_dea_number=recipient_dea_number.strip().upper(),
            reason=reason.strip(),
        )
    )


@transaction.atomic
def ledger_loss(
    *,
    actor: User,
    container: ControlledContainer,
    amount_mg: Decimal,
    loss_kind: str,
    reason: str,
    session: InfusionSession | None = None,
    occurred_at: datetime | None = None,
) -> LedgerEntry:
    """A loss or theft, from stock or from what was drawn for a session. The DEA deadlines
    (notice within 1 business day, Form 106 within 45 days) are shown with the entry."""
    _require_role(actor, ADMIN, "losses")
    container = _lock_container(container)
    amount = _amount(amount_mg)
    if loss_kind not in LossKind.values:
        raise ValidationError({"loss_kind": "loss or theft."})
    if not reason.strip():
        raise ValidationError({"reason": "Describe the loss."})
    stock_change, session_change = -amount, ZERO
    if session is not None:
        session = _lock_session(session)
        _check_container_matches(session, container)
        _check_drawn(session, container, -amount)
        stock_change, session_change = ZERO, -amount
    else:
        _check_stock(container, -amount)
    return _save(
        LedgerEntry(
            container=container,
            kind=EntryKind.LOSS,
            amount_mg=amount,
            stock_change_mg=stock_change,
            session_change_mg=session_change,
            session=session,
            occurred_at=_when(occurred_at),
            recorded_by=actor,
            loss_kind=loss_kind,
            reason=reason.strip(),
        )
    )


@transaction.atomic
def ledger_count(
    *,
    actor: User,
    container: ControlledContainer,
    counted_mg: Decimal,
    count_kind: str,
    count_method: str,
    reason: str = "",
    occurred_at: datetime | None = None,
) -> LedgerEntry:
    """An inventory count (initial, biennial or a spot check). It changes nothing: a
    difference from the book balance is shown and needs an adjustment or a loss report. A
    sealed container (never opened) is counted exactly (21 CFR 1304.11(e))."""
    _require_role(actor, ADMIN, "counts")
    container = _lock_container(container)
    counted = _amount(counted_mg, "counted_mg", allow_zero=True)
    if count_kind not in CountKind.values:
        raise ValidationError({"count_kind": "initial, biennial or other."})
    if count_method not in CountMethod.values:
        raise ValidationError({"count_method": "exact or estimated."})
    sealed = not container.entries.exclude(kind__in=(EntryKind.RECEIVE, EntryKind.COUNT)).exists()
    if sealed and count_method != CountMethod.EXACT:
        raise ApplicationError(
            "A sealed container is counted exactly.",
            rule="ledger_sealed_count_exact",
            extra={"container": container.pk},
        )
    return _save(
        LedgerEntry(
            container=container,
            kind=EntryKind.COUNT,
            amount_mg=counted,
            stock_change_mg=ZERO,
            expected_mg=container_stock_mg(container),
            occurred_at=_when(occurred_at),
            recorded_by=actor,
            count_kind=count_kind,
            count_method=count_method,
            reason=reason.strip(),
        )
    )


@transaction.atomic
def ledger_adjust(
    *,
    actor: User,
    container: ControlledContainer,
    change_mg: Decimal,
    reason: str,
    occurred_at: datetime | None = None,
) -> LedgerEntry:
    """Bring the book balance to what is there (after a count), with a reason."""
    _require_role(actor, ADMIN, "adjustments")
    container = _lock_container(container)
    change = Decimal(change_mg).quantize(MG)
    if change == 0:
        raise ValidationError({"change_mg": "An adjustment changes the balance (positive or negative)."})
    if not reason.strip():
        raise ValidationError({"reason": "Say why the balance is adjusted."})
    _check_stock(container, change)
    return _save(
        LedgerEntry(
            container=container,
            kind=EntryKind.ADJUSTMENT,
            amount_mg=abs(change),
            stock_change_mg=change,
            occurred_at=_when(occurred_at),
            recorded_by=actor,
            reason=reason.strip(),
        )
    )


# --- at the chair ----------------------------------------------------------------------------


def _session_entry_prepare(
    *, actor: User, session: InfusionSession, container: ControlledContainer, what: str
) -> tuple[InfusionSession, ControlledContainer]:
    _require_role(actor, CLINICAL, what)
    session = _lock_session(session)
    container = _lock_container(container)
    _check_session_open(session)
    _check_container_matches(session, container)
    return session, container


@transaction.atomic
def ledger_open(
    *,
    actor: User,
    session: InfusionSession,
    container: ControlledContainer,
    amount_mg: Decimal,
    occurred_at: datetime | None = None,
) -> LedgerEntry:
    """Draw drug from a container for a session: it leaves stock and must then be
    administered or wasted."""
    session, container = _session_entry_prepare(actor=actor, session=session, container=container, what="openings")
    amount = _amount(amount_mg)
    when = _when(occurred_at)
    if container.expires_on < timezone.localdate(when):
        raise ApplicationError(
            f"Container #{container.pk} expired on {container.expires_on:%Y-%m-%d}.", rule="ledger_container_expired"
        )
    _check_stock(container, -amount)
    return _save(
        LedgerEntry(
            container=container,
            kind=EntryKind.OPEN,
            amount_mg=amount,
            stock_change_mg=-amount,
            session_change_mg=amount,
            session=session,
            occurred_at=when,
            recorded_by=actor,
        )
    )


@transaction.atomic
def ledger_administer(
    *,
    actor: User,
    session: InfusionSession,
    container: ControlledContainer,
    amount_mg: Decimal,
    occurred_at: datetime | None = None,
) -> LedgerEntry:
    session, container = _session_entry_prepare(
        actor=actor, session=session, container=container, what="administrations"
    )
    amount = _amount(amount_mg)
    _check_drawn(session, container, -amount)
    return _save(
        LedgerEntry(
            container=container,
            kind=EntryKind.ADMINISTER,
            amount_mg=amount,
            stock_change_mg=ZERO,
            session_change_mg=-amount,
            session=session,
            occurred_at=_when(occurred_at),
            recorded_by=actor,
        )
    )


@transaction.atomic
def ledger_waste(
    *,
    actor: User,
    session: InfusionSession,
    container: ControlledContainer,
    amount_mg: Decimal,
    witness: User | None,
    witness_password: str,
    reason: str = "",
    occurred_at: datetime | None = None,
) -> LedgerEntry:
    """Waste what was drawn and not given, before a witness who is another staff account."""
    session, container = _session_entry_prepare(actor=actor, session=session, container=container, what="waste")
    amount = _amount(amount_mg)
    witness = _witness_verify(actor=actor, witness=witness, password=witness_password, field="witness")
    _check_drawn(session, container, -amount)
    return _save(
        LedgerEntry(
            container=container,
            kind=EntryKind.WASTE,
            amount_mg=amount,
            stock_change_mg=ZERO,
            session_change_mg=-amount,
            session=session,
            occurred_at=_when(occurred_at),
            recorded_by=actor,
            witness=witness,
            reason=reason.strip(),
        )
    )


# --- corrections and reconciliation ---------------------------------------------------------


@transaction.atomic
def ledger_reverse(*, actor: User, entry: LedgerEntry, reason: str) -> LedgerEntry:
    """Cancel an entry with a reversing one (the original stays). Admins reverse any entry;
    clinicians and nurses the session entries (open, administer, waste)."""
    if actor.role not in ADMIN and not (actor.role in CLINICAL and entry.kind in SESSION_KINDS):
        raise ApplicationError("Your role may not reverse this entry.", rule="ledger_role_not_allowed", status=403)
    if not reason.strip():
        raise ValidationError({"reason": "A reversal needs a reason."})
    container = _lock_container(entry.container)
    entry = LedgerEntry.objects.select_for_update().get(pk=entry.pk)
    if entry.reverses_id is not None:
        raise ApplicationError(
            "A reversal is not reversed; record the entry again instead.", rule="ledger_reversal_of_reversal"
        )
    if LedgerEntry.objects.filter(reverses=entry).exists():
        raise ApplicationError("This entry is already reversed.", rule="ledger_already_reversed")
    if entry.session_id is not None:
        session = _lock_session(entry.session)  # type: ignore[arg-type]
        _check_session_open(session)
        if entry.session_change_mg:
            _check_drawn(session, container, -entry.session_change_mg)
    if entry.stock_change_mg:
        _check_stock(container, -entry.stock_change_mg)
    return _save(
        LedgerEntry(
            container=container,
            kind=entry.kind,
            amount_mg=entry.amount_mg,
            stock_change_mg=-entry.stock_change_mg,
            session_change_mg=-entry.session_change_mg,
            session_id=entry.session_id,
            occurred_at=timezone.now(),
            recorded_by=actor,
            reverses=entry,
            reason=reason.strip(),
            count_kind=entry.count_kind,
            count_method=entry.count_method,
            loss_kind=entry.loss_kind,
        )
    )


def session_account(session: InfusionSession) -> dict[str, Decimal]:
    """Opened, administered, wasted and lost for a session (reversals netted), one query."""
    rows = (
        LedgerEntry.objects.filter(session=session)
        .values("kind")
        .annotate(total=Coalesce(Sum("session_change_mg"), ZERO))
    )
    totals = {row["kind"]: Decimal(row["total"]) for row in rows}
    opened = totals.get(EntryKind.OPEN, ZERO)
    administered = -totals.get(EntryKind.ADMINISTER, ZERO)
    wasted = -totals.get(EntryKind.WASTE, ZERO)
    lost = -totals.get(EntryKind.LOSS, ZERO)
    return {
        "opened_mg": opened,
        "administered_mg": administered,
        "wasted_mg": wasted,
        "lost_mg": lost,
        "difference_mg": opened - administered - wasted - lost,
    }


ENDED = (SessionStatus.COMPLETED, SessionStatus.STOPPED, SessionStatus.DISCHARGED)


@dataclass(frozen=True)
class LedgerCheck:
    """A session's account and what keeps it from reconciling (CLINICAL.md §8)."""

    account: dict[str, Decimal]
    charted_dose_mg: Decimal | None
    reasons: list[str]
    unwitnessed_waste: list[int]

    def numbers(self) -> dict[str, Any]:
        """The numbers as a 409 body carries them (strings: exact decimals)."""
        return {
            **{name: str(value.quantize(MG)) for name, value in self.account.items()},
            "charted_dose_mg": str(self.charted_dose_mg) if self.charted_dose_mg is not None else None,
            "reasons": self.reasons,
            "unwitnessed_waste": self.unwitnessed_waste,
        }


def session_ledger_check(session: InfusionSession) -> LedgerCheck:
    """opened − administered − wasted (− lost) = 0; once the actual dose is charted,
    administered = the charted dose (to 0.1 mg); a session that gave drug has entries; every
    waste has a witness. Two queries."""
    account = session_account(session)
    reasons: list[str] = []
    if account["difference_mg"] != 0:
        reasons.append("unaccounted_drug")
    charted = session.actual_dose_mg
    if charted is not None and account["administered_mg"].quantize(Decimal("0.1")) != charted:
        reasons.append("administered_differs_from_charted_dose")
    if session.status in ENDED and account["opened_mg"] == 0 and (charted is None or charted > 0):
        reasons.append("no_drug_recorded_for_session")
    unwitnessed = list(
        LedgerEntry.objects.filter(
            session=session, kind=EntryKind.WASTE, reverses__isnull=True, witness__isnull=True
        ).values_list("id", flat=True)
    )
    if unwitnessed:
        reasons.append("waste_without_witness")
    return LedgerCheck(account=account, charted_dose_mg=charted, reasons=reasons, unwitnessed_waste=unwitnessed)


def _latest_reconciliation(session: InfusionSession) -> LedgerReconciliation | None:
    return session.ledger_reconciliations.order_by("-created_at", "-id").first()


@transaction.atomic
def ledger_reconcile(*, actor: User, session: InfusionSession, note: str = "") -> LedgerReconciliation:
    """Reconcile a session (`session_ledger_check`): balanced, or a discrepancy, open until a
    later reconciliation balances with a note saying how it was resolved, or a clinician and
    a witness accept it (`ledger_discrepancy_resolve`)."""
    if actor.role not in (*CLINICAL, *ADMIN):
        raise ApplicationError("Your role may not reconcile.", rule="ledger_role_not_allowed", status=403)
    session = _lock_session(session)
    check = session_ledger_check(session)
    previous = _latest_reconciliation(session)
    status = ReconciliationStatus.DISCREPANCY if check.reasons else ReconciliationStatus.BALANCED
    resolves = None
    note = note.strip()
    if previous is not None and previous.status == ReconciliationStatus.DISCREPANCY and not check.reasons:
        if not note:
            raise ValidationError({"note": "Say how the discrepancy was resolved."})
        resolves = previous
    return _reconciliation_save(
        session=session, check=check, status=status, actor=actor, note=note, resolves=resolves, witness=None
    )


def _reconciliation_save(
    *,
    session: InfusionSession,
    check: LedgerCheck,
    status: str,
    actor: User,
    note: str,
    resolves: LedgerReconciliation | None,
    witness: User | None,
) -> LedgerReconciliation:
    reconciliation = LedgerReconciliation(
        session=session,
        charted_dose_mg=check.charted_dose_mg,
        status=status,
        reasons=check.reasons,
        reconciled_by=actor,
        witness=witness,
        note=note,
        resolves=resolves,
        **check.account,
    )
    reconciliation.full_clean()
    reconciliation.save()
    return reconciliation


@transaction.atomic
def ledger_discrepancy_resolve(
    *, actor: User, session: InfusionSession, witness: User | None, witness_password: str, note: str
) -> LedgerReconciliation:
    """A clinician, before a witness who confirms with their own password, accepts a
    discrepancy that entries cannot balance (drug spilled unseen, a syringe broken), saying
    what happened. Recorded as a `resolved` reconciliation of the numbers as they are; the
    discrepancy stays visible in the history. If the session's numbers change afterwards, the
    acceptance no longer stands."""
    if actor.role not in PRESCRIBER:
        raise ApplicationError(
            "Only a clinician may resolve a ledger discrepancy.", rule="ledger_role_not_allowed", status=403
        )
    session = _lock_session(session)
    witness = _witness_verify(actor=actor, witness=witness, password=witness_password, field="witness")
    if not note.strip():
        raise ValidationError({"note": "Say what happened to the drug that is not accounted for."})
    check = session_ledger_check(session)
    if not check.reasons:
        raise ApplicationError(
            "The session's ledger reconciles; there is no discrepancy to resolve.",
            rule="ledger_no_discrepancy",
            extra=check.numbers(),
        )
    previous = _latest_reconciliation(session)
    if previous is None or previous.status != ReconciliationStatus.DISCREPANCY:
        previous = _reconciliation_save(
            session=session,
            check=check,
            status=ReconciliationStatus.DISCREPANCY,
            actor=actor,
            note="",
            resolves=None,
            witness=None,
        )
    return _reconciliation_save(
        session=session,
        check=check,
        status=ReconciliationStatus.RESOLVED,
        actor=actor,
        note=note.strip(),
        resolves=previous,
        witness=witness,
    )


def _accepted(check: LedgerCheck, latest: LedgerReconciliation | None) -> bool:
    """A resolved reconciliation stands while the session's numbers are the ones it accepted."""
    if latest is None or latest.status != ReconciliationStatus.RESOLVED:
        return False
    accepted = {name: getattr(latest, name) for name in check.account}
    return accepted == check.account and latest.charted_dose_mg == check.charted_dose_mg


def ledger_discharge_check(*, actor: User, session: InfusionSession) -> LedgerReconciliation:
    """At signing (CLINICAL.md §8: each session reconciles): the session's account must
    balance, or its discrepancy have been resolved by a clinician and a witness. Otherwise 409
    `ledger_not_reconciled` with the numbers. Records the reconciliation that signing closes
    the account with. Runs in the caller's transaction, under its lock of the session."""
    check = session_ledger_check(session)
    latest = _latest_reconciliation(session)
    if check.reasons and not _accepted(check, latest):
        account = check.account
        raise ApplicationError(
            f"The controlled-substance ledger does not reconcile: opened {account['opened_mg']} mg − "
            f"administered {account['administered_mg']} mg − wasted {account['wasted_mg']} mg − lost "
            f"{account['lost_mg']} mg = {account['difference_mg']} mg ({', '.join(check.reasons)}). Record the "
            "missing entries, or have a clinician and a witness resolve the discrepancy.",
            rule="ledger_not_reconciled",
            extra=check.numbers(),
        )
    if latest is not None and _accepted(check, latest):
        return latest
    return _reconciliation_save(
        session=session,
        check=check,
        status=ReconciliationStatus.BALANCED,
        actor=actor,
        note="At discharge.",
        resolves=latest if latest is not None and latest.status == ReconciliationStatus.DISCREPANCY else None,
        witness=None,
    )


# --- deadlines -------------------------------------------------------------------------------


def _add_business_days(day: date, days: int) -> date:
    while days > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            days -= 1
    return day


def loss_deadlines(entry: LedgerEntry, policy: ClinicalPolicy) -> dict[str, Any]:
    """DEA notice of a theft or significant loss within 1 business day of discovery, and
    Form 106 within 45 days (21 CFR 1301.76(b))."""
    if entry.kind != EntryKind.LOSS or entry.reverses_id is not None:
        return {}
    found = timezone.localdate(entry.occurred_at)
    return {
        "dea_notice_due_by": _add_business_days(found, policy.ledger_loss_notice_business_days),
        "dea_form_106_due_by": found + timedelta(days=policy.ledger_form_106_days),
    }
