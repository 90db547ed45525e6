"""The controlled-substance ledger (CLINICAL.md §8: ketamine and esketamine are Schedule III).

Append-only with reversing corrections; a witness who is a different staff account for
waste and two for destruction; per-session reconciliation opened − administered − wasted = 0;
counts (initial, biennial; estimated or exact); an export an inspector can read."""

import csv
import io
import json
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from clinic.core.exceptions import ApplicationError
from clinic.core.roles import Role
from infusions.ledger import services as ledger
from infusions.ledger.models import ControlledContainer, LedgerEntry, LedgerReconciliation
from tests.factories import SessionFactory, UserFactory, vials_received

pytestmark = pytest.mark.django_db

PW = "pw-for-tests-1"  # the factories' password
DEA = "BS1234563"  # (1+3+5) + 2*(2+4+6) = 33 -> check digit 3
NEXT_YEAR = timezone.localdate() + timedelta(days=365)


@pytest.fixture
def staff(users):
    """A second nurse and a second admin to witness."""
    return {
        **users,
        "nurse2": UserFactory(username="nurse2", role=Role.NURSE),
        "admin2": UserFactory(username="admin2", role=Role.ADMIN),
    }


def receive(admin, site, *, drug="ketamine", strength="50", volume="10", quantity=1, expires_on=NEXT_YEAR):
    return vials_received(
        admin, site, drug=drug, strength=strength, volume=volume, quantity=quantity, expires_on=expires_on
    )


@pytest.fixture
def vial(users, site):
    """One 500 mg vial (50 mg/mL x 10 mL) of ketamine."""
    return receive(users["admin"], site)[0]


@pytest.fixture
def session(course):
    """A planned ket-iv-dep session: 41.2 mg for 82.4 kg (CLINICAL.md §1 example)."""
    return SessionFactory(course=course)


def stock(container):
    return ledger.container_stock_mg(container)


# --- receive ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "valid"),
    [("BS1234563", True), ("BS1234564", False), ("B91234563", True), ("1S1234563", False), ("BS123456", False)],
)
def test_dea_number_check_digit(number, valid):
    assert ledger.dea_number_valid(number) is valid


def test_receive_creates_containers_with_their_content_as_stock(users, site):
    containers = receive(users["admin"], site, quantity=3)
    assert len(containers) == 3
    for container in containers:
        assert stock(container) == Decimal("500.000")
        entry = container.entries.get()
        assert (entry.kind, entry.supplier, entry.supplier_dea_number, entry.invoice_number) == (
            "receive",
            "Acme Pharma Distribution",
            DEA,
            "INV-1001",
        )


def test_receive_refuses_bad_dea_number_expired_stock_and_non_admins(users, site):
    with pytest.raises(ValidationError) as error:
        ledger.ledger_receive(
            actor=users["admin"],
            site=site,
            drug="ketamine",
            ndc="0409-2051-05",
            lot="L",
            expires_on=timezone.localdate() - timedelta(days=1),
            strength_mg_per_ml=Decimal("50"),
            volume_ml=Decimal("10"),
            supplier="S",
            supplier_dea_number="BS1234564",
            invoice_number="I",
        )
    assert set(error.value.message_dict) == {"expires_on", "supplier_dea_number"}
    with pytest.raises(ApplicationError) as refused:
        receive(users["nurse"], site)
    assert refused.value.rule == "ledger_role_not_allowed"
    assert ControlledContainer.objects.count() == 0


# --- at the chair -----------------------------------------------------------------------------


def test_open_administer_waste_then_the_session_reconciles(staff, vial, session):
    nurse = staff["nurse"]
    ledger.ledger_open(actor=nurse, session=session, container=vial, amount_mg=Decimal("50"))
    assert stock(vial) == Decimal("450.000")
    ledger.ledger_administer(actor=nurse, session=session, container=vial, amount_mg=Decimal("41.2"))
    ledger.ledger_waste(
        actor=nurse,
        session=session,
        container=vial,
        amount_mg=Decimal("8.8"),
        witness=staff["nurse2"],
        witness_password=PW,
        reason="remainder of the drawn 1 mL",
    )
    rec = ledger.ledger_reconcile(actor=nurse, session=session)
    assert (rec.status, rec.opened_mg, rec.administered_mg, rec.wasted_mg, rec.difference_mg) == (
        "balanced",
        Decimal("50.000"),
        Decimal("41.200"),
        Decimal("8.800"),
        Decimal("0.000"),
    )
    assert stock(vial) == Decimal("450.000")  # administering and wasting do not touch stock again
    assert set(session.ledger_entries.values_list("kind", flat=True)) == {"open", "administer", "waste"}


def test_unaccounted_drug_is_a_discrepancy_until_resolved_with_a_note(staff, vial, session, api):
    nurse = staff["nurse"]
    ledger.ledger_open(actor=nurse, session=session, container=vial, amount_mg=Decimal("50"))
    ledger.ledger_administer(actor=nurse, session=session, container=vial, amount_mg=Decimal("41.2"))
    first = ledger.ledger_reconcile(actor=nurse, session=session)
    assert first.status == "discrepancy"
    assert first.difference_mg == Decimal("8.800")
    assert first.reasons == ["unaccounted_drug"]
    client = api(staff["clinician"])
    assert [d["id"] for d in client.get("/api/v1/ledger/discrepancies/").json()] == [first.pk]

    ledger.ledger_waste(
        actor=nurse,
        session=session,
        container=vial,
        amount_mg=Decimal("8.8"),
        witness=staff["nurse2"],
        witness_password=PW,
    )
    with pytest.raises(ValidationError) as error:
        ledger.ledger_reconcile(actor=nurse, session=session)  # resolving needs a note
    assert "note" in error.value.message_dict
    resolved = ledger.ledger_reconcile(actor=nurse, session=session, note="waste recorded late, witnessed")
    assert (resolved.status, resolved.resolves_id) == ("balanced", first.pk)
    assert client.get("/api/v1/ledger/discrepancies/").json() == []
    assert [d["id"] for d in client.get("/api/v1/ledger/discrepancies/?open=false").json()] == [first.pk]


def test_administered_must_match_the_charted_dose(staff, vial, course):
    session = SessionFactory(course=course, status="completed", actual_dose_mg=Decimal("41.2"))
    nurse = staff["nurse"]
    ledger.ledger_open(actor=nurse, session=session, container=vial, amount_mg=Decimal("40"))
    ledger.ledger_administer(actor=nurse, session=session, container=vial, amount_mg=Decimal("40"))
    rec = ledger.ledger_reconcile(actor=nurse, session=session)
    assert rec.status == "discrepancy"
    assert rec.reasons == ["administered_differs_from_charted_dose"]


def test_an_ended_session_without_ledger_entries_is_a_discrepancy(staff, course):
    session = SessionFactory(course=course, status="completed", actual_dose_mg=Decimal("41.2"))
    rec = ledger.ledger_reconcile(actor=staff["nurse"], session=session)
    assert set(rec.reasons) == {"administered_differs_from_charted_dose", "no_drug_recorded_for_session"}


@pytest.mark.parametrize(
    ("step", "rule"),
    [
        ("administer_before_open", "ledger_session_overdrawn"),
        ("open_more_than_stock", "ledger_insufficient_stock"),
        ("esketamine_container", "ledger_drug_mismatch"),
        ("expired_container", "ledger_container_expired"),
        ("signed_session", "session_signed"),
        ("frontdesk", "ledger_role_not_allowed"),
    ],
)
def test_chair_refusals_change_nothing(staff, site, vial, session, step, rule):
    nurse, container, amount = staff["nurse"], vial, Decimal("10")
    call = ledger.ledger_open
    if step == "administer_before_open":
        call = ledger.ledger_administer
    elif step == "open_more_than_stock":
        amount = Decimal("500.001")
    elif step == "esketamine_container":
        container = receive(staff["admin"], site, drug="esketamine", strength="140", volume="0.2")[0]
    elif step == "expired_container":
        with time_travel(NEXT_YEAR + timedelta(days=1)), pytest.raises(ApplicationError) as error:
            ledger.ledger_open(actor=nurse, session=session, container=container, amount_mg=amount)
        assert error.value.rule == rule
        return
    elif step == "signed_session":
        type(session).objects.filter(pk=session.pk).update(signed_at=timezone.now())
    elif step == "frontdesk":
        nurse = staff["frontdesk"]
    before = LedgerEntry.objects.count()
    with pytest.raises(ApplicationError) as error:
        call(actor=nurse, session=session, container=container, amount_mg=amount)
    assert error.value.rule == rule
    assert LedgerEntry.objects.count() == before


def time_travel(day: date):
    import time_machine

    return time_machine.travel(datetime(day.year, day.month, day.day, 12, tzinfo=ZoneInfo("UTC")), tick=False)


# --- witnesses ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("witness", "password", "expected"),
    [
        ("nurse", PW, "ledger_witness_same_person"),  # the recorder cannot witness themself
        ("nurse2", "wrong", "witness_password"),
        ("frontdesk", PW, "witness"),
        ("patient", PW, "witness"),
        (None, "", "witness"),
    ],
)
def test_waste_needs_a_different_staff_witness_who_confirms(staff, vial, session, witness, password, expected):
    nurse = staff["nurse"]
    ledger.ledger_open(actor=nurse, session=session, container=vial, amount_mg=Decimal("50"))
    with pytest.raises((ApplicationError, ValidationError)) as error:
        ledger.ledger_waste(
            actor=nurse,
            session=session,
            container=vial,
            amount_mg=Decimal("8.8"),
            witness=staff[witness] if witness else None,
            witness_password=password,
        )
    got = error.value.rule if isinstance(error.value, ApplicationError) else next(iter(error.value.message_dict))
    assert got == expected
    assert not LedgerEntry.objects.filter(kind="waste").exists()


def test_destruction_needs_two_distinct_witnesses(staff, vial):
    admin = staff["admin"]
    args = {"actor": admin, "container": vial, "amount_mg": Decimal("500"), "reason": "expired stock"}
    with pytest.raises(ApplicationError) as error:
        ledger.ledger_destroy(
            **args,
            witness=staff["nurse"],
            witness_password=PW,
            second_witness=staff["nurse"],
            second_witness_password=PW,
        )
    assert error.value.rule == "ledger_witnesses_not_distinct"
    with pytest.raises(ApplicationError) as error:
        ledger.ledger_destroy(
            **args, witness=staff["nurse"], witness_password=PW, second_witness=admin, second_witness_password=PW
        )
    assert error.value.rule == "ledger_witness_same_person"
    entry = ledger.ledger_destroy(
        **args,
        witness=staff["nurse"],
        witness_password=PW,
        second_witness=staff["clinician"],
        second_witness_password=PW,
    )
    assert (entry.witness, entry.second_witness) == (staff["nurse"], staff["clinician"])
    assert stock(vial) == 0


def test_the_database_refuses_a_waste_without_witness_or_witnessed_by_the_recorder(staff, vial, session):
    base = {
        "container": vial,
        "kind": "waste",
        "amount_mg": 1,
        "stock_change_mg": 0,
        "session_change_mg": -1,
        "session": session,
        "occurred_at": timezone.now(),
        "recorded_by": staff["nurse"],
    }
    for extra in ({}, {"witness": staff["nurse"]}):
        with pytest.raises(IntegrityError), transaction.atomic():
            LedgerEntry.objects.create(**base, **extra)


# --- append-only and reversals ---------------------------------------------------------------------


@pytest.mark.parametrize("table", ["infusions_ledgerentry", "infusions_controlledcontainer"])
@pytest.mark.parametrize("statement", ["UPDATE {t} SET created_at = now()", "DELETE FROM {t}"])
def test_ledger_tables_are_append_only_in_the_database(vial, table, statement):
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement.format(t=table))


def test_reconciliations_are_append_only(staff, session):
    rec = ledger.ledger_reconcile(actor=staff["nurse"], session=session)
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerReconciliation.objects.filter(pk=rec.pk).update(note="changed")


def test_a_correction_is_a_reversing_entry(staff, vial, session):
    nurse = staff["nurse"]
    opened = ledger.ledger_open(actor=nurse, session=session, container=vial, amount_mg=Decimal("5"))
    reversal = ledger.ledger_reverse(actor=nurse, entry=opened, reason="wrong vial")
    assert (reversal.kind, reversal.stock_change_mg, reversal.session_change_mg) == (
        "open",
        Decimal("5.000"),
        Decimal("-5.000"),
    )
    assert stock(vial) == Decimal("500.000")
    opened.refresh_from_db()
    assert opened.amount_mg == Decimal("5.000")  # the original stays as it was
    with pytest.raises(ApplicationError) as error:
        ledger.ledger_reverse(actor=nurse, entry=opened, reason="again")
    assert error.value.rule == "ledger_already_reversed"
    with pytest.raises(ApplicationError) as error:
        ledger.ledger_reverse(actor=nurse, entry=reversal, reason="undo")
    assert error.value.rule == "ledger_reversal_of_reversal"


def test_a_reversal_cannot_leave_a_negative_balance(staff, vial, session):
    nurse = staff["nurse"]
    opened = ledger.ledger_open(actor=nurse, session=session, container=vial, amount_mg=Decimal("50"))
    ledger.ledger_administer(actor=nurse, session=session, container=vial, amount_mg=Decimal("41.2"))
    with pytest.raises(ApplicationError) as error:
        ledger.ledger_reverse(actor=nurse, entry=opened, reason="wrong")
    assert error.value.rule == "ledger_session_overdrawn"
    receipt = vial.entries.get(kind="receive")
    with pytest.raises(ApplicationError) as error:
        ledger.ledger_reverse(actor=staff["admin"], entry=receipt, reason="wrong lot")
    assert error.value.rule == "ledger_insufficient_stock"
    with pytest.raises(ApplicationError) as error:
        ledger.ledger_reverse(actor=nurse, entry=receipt, reason="wrong lot")  # nurses reverse chair entries only
    assert error.value.rule == "ledger_role_not_allowed"


# --- counts, adjustments, losses, transfers ---------------------------------------------------------


def test_counts_record_the_book_balance_and_change_nothing(staff, vial, session):
    admin = staff["admin"]
    with pytest.raises(ApplicationError) as error:
        ledger.ledger_count(
            actor=admin, container=vial, counted_mg=Decimal("500"), count_kind="initial", count_method="estimated"
        )
    assert error.value.rule == "ledger_sealed_count_exact"  # 21 CFR 1304.11(e): sealed containers exactly
    initial = ledger.ledger_count(
        actor=admin, container=vial, counted_mg=Decimal("500"), count_kind="initial", count_method="exact"
    )
    assert (initial.expected_mg, initial.stock_change_mg) == (Decimal("500.000"), 0)
    ledger.ledger_open(actor=staff["nurse"], session=session, container=vial, amount_mg=Decimal("50"))
    biennial = ledger.ledger_count(
        actor=admin, container=vial, counted_mg=Decimal("445"), count_kind="biennial", count_method="estimated"
    )
    assert (biennial.amount_mg, biennial.expected_mg) == (Decimal("445.000"), Decimal("450.000"))
    assert stock(vial) == Decimal("450.000")
    ledger.ledger_adjust(actor=admin, container=vial, change_mg=Decimal("-5"), reason="count 2026: evaporation")
    assert stock(vial) == Decimal("445.000")


def test_transfer_out_needs_the_recipient_registration(staff, vial):
    with pytest.raises(ValidationError) as error:
        ledger.ledger_transfer_out(
            actor=staff["admin"], container=vial, amount_mg=Decimal("500"), recipient="", recipient_dea_number="X"
        )
    assert set(error.value.message_dict) == {"recipient", "recipient_dea_number"}
    ledger.ledger_transfer_out(
        actor=staff["admin"],
        container=vial,
        amount_mg=Decimal("500"),
        recipient="Other Clinic",
        recipient_dea_number="AB1234563",
    )
    assert stock(vial) == 0


@pytest.mark.parametrize(
    ("found", "notice_by", "form_106_by"),
    [
        # 21 CFR 1301.76(b): notice within 1 business day; DEA Form 106 within 45 days.
        (date(2026, 11, 27), date(2026, 11, 30), date(2027, 1, 11)),  # a Friday: notice by Monday
        (date(2026, 11, 24), date(2026, 11, 25), date(2027, 1, 8)),  # a Tuesday
    ],
)
def test_loss_shows_the_dea_deadlines(staff, vial, found, notice_by, form_106_by, api):
    at = datetime(found.year, found.month, found.day, 10, tzinfo=ZoneInfo("Europe/London"))
    with time_travel(found):
        entry = ledger.ledger_loss(
            actor=staff["admin"],
            container=vial,
            amount_mg=Decimal("50"),
            loss_kind="theft",
            reason="vial missing from the safe",
            occurred_at=at,
        )
        body = api(staff["admin"]).get(f"/api/v1/ledger/entries/{entry.pk}/").json()
    assert (body["dea_notice_due_by"], body["dea_form_106_due_by"]) == (notice_by.isoformat(), form_106_by.isoformat())
    assert stock(vial) == Decimal("450.000")


# --- API, export, links -----------------------------------------------------------------------------------


def test_api_flow_and_the_session_links_to_its_entries(staff, site, session, api):
    admin, nurse = api(staff["admin"]), api(staff["nurse"])
    r = admin.post(
        "/api/v1/ledger/containers/",
        {
            "site": site.pk,
            "drug": "ketamine",
            "ndc": "0409-2051-05",
            "lot": "LOT-9",
            "expires_on": NEXT_YEAR.isoformat(),
            "strength_mg_per_ml": 50,
            "volume_ml": 10,
            "quantity": 2,
            "supplier": "Acme",
            "supplier_dea_number": DEA,
            "invoice_number": "INV-7",
        },
    )
    assert r.status_code == 201, r.content
    container = r.json()[0]
    assert container["stock_mg"] == 500.0
    base = {"session": session.pk, "container": container["id"]}
    assert nurse.post("/api/v1/ledger/entries/open/", {**base, "amount_mg": 50}).status_code == 201
    assert nurse.post("/api/v1/ledger/entries/administer/", {**base, "amount_mg": 41.2}).status_code == 201
    r = nurse.post(
        "/api/v1/ledger/entries/waste/",
        {**base, "amount_mg": 8.8, "witness": staff["nurse"].pk, "witness_password": PW},
    )
    assert (r.status_code, r.json()["rule"]) == (409, "ledger_witness_same_person")
    r = nurse.post(
        "/api/v1/ledger/entries/waste/",
        {**base, "amount_mg": 8.8, "witness": staff["nurse2"].pk, "witness_password": "nope"},
    )
    assert (r.status_code, list(r.json())) == (400, ["witness_password"])
    r = nurse.post(
        "/api/v1/ledger/entries/waste/",
        {**base, "amount_mg": 8.8, "witness": staff["nurse2"].pk, "witness_password": PW},
    )
    assert r.status_code == 201, r.content
    assert "witness_password" not in r.json()
    r = nurse.post(f"/api/v1/ledger/sessions/{session.pk}/reconcile/", {})
    assert (r.status_code, r.json()["status"]) == (201, "balanced")
    body = nurse.get(f"/api/v1/ledger/sessions/{session.pk}/").json()
    assert [e["kind"] for e in body["entries"]] == ["open", "administer", "waste"]
    assert (body["opened_mg"], body["administered_mg"], body["wasted_mg"], body["difference_mg"]) == (
        50.0,
        41.2,
        8.8,
        0.0,
    )
    assert body["status"] == "balanced"
    listed = nurse.get(f"/api/v1/ledger/entries/?session={session.pk}").json()
    assert len(listed) == 3
    assert nurse.get("/api/v1/ledger/balances/").json() == [
        {"site": site.pk, "site_code": site.code, "drug": "ketamine", "stock_mg": 950.0, "received_mg": 1000.0}
    ]
    r = nurse.post(f"/api/v1/ledger/entries/{listed[0]['id']}/reverse/", {"reason": "x"})
    assert (r.status_code, r.json()["rule"]) == (409, "ledger_session_overdrawn")


def test_export_for_an_inspector_csv_and_json(staff, vial, session, api):
    nurse = staff["nurse"]
    ledger.ledger_open(actor=nurse, session=session, container=vial, amount_mg=Decimal("50"))
    ledger.ledger_administer(actor=nurse, session=session, container=vial, amount_mg=Decimal("41.2"))
    ledger.ledger_waste(
        actor=nurse,
        session=session,
        container=vial,
        amount_mg=Decimal("8.8"),
        witness=staff["nurse2"],
        witness_password=PW,
    )
    admin = api(staff["admin"])
    r = admin.get("/api/v1/ledger/export/")
    assert r.status_code == 200
    assert r["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.content.decode())))
    assert [row["kind"] for row in rows] == ["receive", "open", "administer", "waste"]
    waste = rows[-1]
    assert (waste["amount_mg"], waste["amount_ml"], waste["lot"], waste["ndc"]) == (
        "8.800",
        "0.176",
        "LOT-A1",
        "0409-2051-05",
    )
    assert waste["witness"] == "nurse2"
    assert waste["recorded_by"] == "nurse"
    assert rows[0]["supplier_dea_number"] == DEA
    # No patient data: sessions appear by number only (and they do appear: the export is
    # not empty of what it should carry).
    assert {row["session"] for row in rows[1:]} == {str(session.pk)}
    patient = session.course.patient
    assert patient.family_name not in r.content.decode()
    assert patient.mrn not in r.content.decode()
    body = admin.get("/api/v1/ledger/export/?format=json").json()
    assert list(body[0])[0] == "entry_id"
    assert [row["kind"] for row in body] == ["receive", "open", "administer", "waste"]
    assert (body[-1]["amount_mg"], body[-1]["amount_ml"]) == (8.8, 0.176)
    assert api(staff["nurse"]).get("/api/v1/ledger/export/").status_code == 403


def test_export_management_command(staff, vial, tmp_path):
    out = tmp_path / "ledger.json"
    call_command("ledger_export", "--format", "json", "--output", str(out))
    data = json.loads(out.read_text())
    assert [row["kind"] for row in data] == ["receive"]
    csv_out = io.StringIO()
    call_command("ledger_export", stdout=csv_out)
    assert csv_out.getvalue().splitlines()[0].startswith("entry_id,occurred_at")


# --- query counts ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/ledger/containers/", "/api/v1/ledger/entries/", "/api/v1/ledger/balances/"])
def test_ledger_lists_take_a_fixed_number_of_queries(staff, site, session, api, django_assert_num_queries, path):
    client = api(staff["nurse"])

    def grow(n):
        for container in receive(staff["admin"], site, quantity=n):
            ledger.ledger_open(actor=staff["nurse"], session=session, container=container, amount_mg=Decimal("1"))

    grow(1)
    with CaptureQueriesContext(connection) as small:
        assert client.get(path).status_code == 200
    grow(6)
    with django_assert_num_queries(len(small.captured_queries)):
        assert client.get(path).status_code == 200


def test_session_ledger_takes_a_fixed_number_of_queries(staff, site, session, api, django_assert_num_queries):
    client = api(staff["nurse"])
    for container in receive(staff["admin"], site, quantity=2):
        ledger.ledger_open(actor=staff["nurse"], session=session, container=container, amount_mg=Decimal("1"))
    with CaptureQueriesContext(connection) as small:
        client.get(f"/api/v1/ledger/sessions/{session.pk}/")
    for container in receive(staff["admin"], site, quantity=5):
        ledger.ledger_open(actor=staff["nurse"], session=session, container=container, amount_mg=Decimal("1"))
    ledger.ledger_reconcile(actor=staff["nurse"], session=session)
    with django_assert_num_queries(len(small.captured_queries)):
        client.get(f"/api/v1/ledger/sessions/{session.pk}/")


# --- permission matrix -------------------------------------------------------------------------------------

LEDGER_READ = {"admin", "clinician", "nurse"}
CHAIR = {"clinician", "nurse"}
ADMIN_ONLY = {"admin"}


@pytest.fixture
def ledger_context(staff, site, vial, session):
    opened = ledger.ledger_open(actor=staff["nurse"], session=session, container=vial, amount_mg=Decimal("20"))
    return {
        "container": vial.pk,
        "session": session.pk,
        "entry": opened.pk,
        "site": site.pk,
        "witness": staff["nurse2"].pk,
    }


def ledger_cases():
    c = "{container}"
    return [
        ("containers-list", "get", "/api/v1/ledger/containers/", None, LEDGER_READ, False),
        ("containers-get", "get", "/api/v1/ledger/containers/{container}/", None, LEDGER_READ, True),
        (
            "receive",
            "post",
            "/api/v1/ledger/containers/",
            {
                "site": "{site}",
                "drug": "ketamine",
                "ndc": "0409-2051-05",
                "lot": "L2",
                "expires_on": NEXT_YEAR.isoformat(),
                "strength_mg_per_ml": 50,
                "volume_ml": 10,
                "supplier": "Acme",
                "supplier_dea_number": DEA,
                "invoice_number": "I-2",
            },
            ADMIN_ONLY,
            False,
        ),
        ("entries-list", "get", "/api/v1/ledger/entries/", None, LEDGER_READ, False),
        ("entries-get", "get", "/api/v1/ledger/entries/{entry}/", None, LEDGER_READ, True),
        (
            "open",
            "post",
            "/api/v1/ledger/entries/open/",
            {"session": "{session}", "container": c, "amount_mg": 1},
            CHAIR,
            False,
        ),
        (
            "administer",
            "post",
            "/api/v1/ledger/entries/administer/",
            {"session": "{session}", "container": c, "amount_mg": 1},
            CHAIR,
            False,
        ),
        (
            "waste",
            "post",
            "/api/v1/ledger/entries/waste/",
            {"session": "{session}", "container": c, "amount_mg": 1, "witness": "{witness}", "witness_password": PW},
            CHAIR,
            False,
        ),
        (
            "destroy",
            "post",
            "/api/v1/ledger/entries/destroy/",
            {
                "container": c,
                "amount_mg": 1,
                "witness": "{witness}",
                "witness_password": PW,
                "second_witness": "{witness}",
                "second_witness_password": PW,
                "reason": "r",
            },
            ADMIN_ONLY,
            False,
        ),
        (
            "transfer-out",
            "post",
            "/api/v1/ledger/entries/transfer-out/",
            {"container": c, "amount_mg": 1, "recipient": "Other", "recipient_dea_number": "AB1234563"},
            ADMIN_ONLY,
            False,
        ),
        (
            "loss",
            "post",
            "/api/v1/ledger/entries/loss/",
            {"container": c, "amount_mg": 1, "loss_kind": "loss", "reason": "r"},
            ADMIN_ONLY,
            False,
        ),
        (
            "count",
            "post",
            "/api/v1/ledger/entries/count/",
            {"container": c, "counted_mg": 480, "count_kind": "other", "count_method": "estimated"},
            ADMIN_ONLY,
            False,
        ),
        (
            "adjustment",
            "post",
            "/api/v1/ledger/entries/adjustment/",
            {"container": c, "change_mg": -1, "reason": "r"},
            ADMIN_ONLY,
            False,
        ),
        ("reverse", "post", "/api/v1/ledger/entries/{entry}/reverse/", {"reason": "r"}, LEDGER_READ, True),
        ("session-ledger", "get", "/api/v1/ledger/sessions/{session}/", None, LEDGER_READ, True),
        ("reconcile", "post", "/api/v1/ledger/sessions/{session}/reconcile/", {"note": ""}, LEDGER_READ, True),
        (
            "resolve",
            "post",
            "/api/v1/ledger/sessions/{session}/resolve/",
            {"witness": "{witness}", "witness_password": PW, "note": "Spilled at the chair"},
            {"clinician"},
            True,
        ),
        ("discrepancies", "get", "/api/v1/ledger/discrepancies/", None, LEDGER_READ, False),
        ("balances", "get", "/api/v1/ledger/balances/", None, LEDGER_READ, False),
        ("export", "get", "/api/v1/ledger/export/", None, ADMIN_ONLY, False),
    ]


LEDGER_CASES = ledger_cases()


def fill(value, ctx):
    if isinstance(value, str):
        return value.format(**ctx)
    if isinstance(value, dict):
        return {k: (int(fill(v, ctx)) if isinstance(v, str) and v.startswith("{") else v) for k, v in value.items()}
    return value


@pytest.mark.parametrize("role", ["admin", "clinician", "nurse", "frontdesk", "patient", "anonymous"])
@pytest.mark.parametrize("case", LEDGER_CASES, ids=lambda c: c[0])
def test_ledger_permission_matrix(staff, ledger_context, api, own_patient, case, role):
    """Front desk: 403 everywhere; patients: 404 on an object route, else 403; anonymous: 401.
    The destroy case names one witness twice, so past the permission a rule answers 409."""
    name, method, path, body, allowed, object_route = case
    client = api(None if role == "anonymous" else staff[role])
    response = getattr(client, method)(fill(path, ledger_context), fill(body, ledger_context), format="json")
    if role == "anonymous":
        assert response.status_code == 401
    elif role in allowed:
        assert response.status_code in (200, 201, 409), (response.status_code, response.content[:300])
    elif role == "patient" and object_route:
        assert response.status_code == 404
    else:
        assert response.status_code == 403
