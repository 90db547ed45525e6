"""The controlled-substance ledger API (`/api/v1/ledger/...`, CLINICAL.md §8).

Nurses and clinicians record what happens at the chair (open, administer, waste) and
reconcile sessions; admins receive, destroy, transfer, report losses, count and adjust, and
export for an inspector. Front desk and patients have no access.
"""

from collections.abc import Callable
from decimal import Decimal
from typing import Any, ClassVar

from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from clinic.core import exports
from clinic.core.api import actor, validated
from clinic.core.permissions import RolePermission
from clinic.core.roles import ADMIN, CLINICAL, LEDGER, PRESCRIBER
from clinic.core.schema import StringListField
from clinic.models import Site, User
from clinic.selectors import user_get
from infusions.ledger import selectors as ledger_selectors
from infusions.ledger import services as ledger
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
)
from infusions.sessions.models import InfusionSession

# --- output -----------------------------------------------------------------------------------


class ContainerSerializer(serializers.ModelSerializer):
    content_mg = serializers.DecimalField(max_digits=11, decimal_places=3, read_only=True)
    stock_mg = serializers.DecimalField(max_digits=11, decimal_places=3, read_only=True)

    class Meta:
        model = ControlledContainer
        fields = (
            "id",
            "site",
            "drug",
            "kind",
            "ndc",
            "lot",
            "expires_on",
            "strength_mg_per_ml",
            "volume_ml",
            "content_mg",
            "stock_mg",
            "received_by",
            "created_at",
        )


class EntrySerializer(serializers.ModelSerializer):
    amount_ml = serializers.DecimalField(max_digits=11, decimal_places=3, read_only=True)
    reversed = serializers.BooleanField(read_only=True, default=False)
    dea_notice_due_by = serializers.SerializerMethodField()
    dea_form_106_due_by = serializers.SerializerMethodField()

    class Meta:
        model = LedgerEntry
        fields = (
            "id",
            "container",
            "kind",
            "amount_mg",
            "amount_ml",
            "stock_change_mg",
            "session_change_mg",
            "session",
            "occurred_at",
            "recorded_by",
            "witness",
            "second_witness",
            "reverses",
            "reversed",
            "reason",
            "supplier",
            "supplier_dea_number",
            "invoice_number",
            "recipient",
            "recipient_dea_number",
            "loss_kind",
            "count_kind",
            "count_method",
            "expected_mg",
            "dea_notice_due_by",
            "dea_form_106_due_by",
            "created_at",
        )

    def _deadline(self, obj: LedgerEntry, key: str) -> Any:
        return ledger.loss_deadlines(obj, obj.container.site.policy).get(key)

    @extend_schema_field(serializers.DateField(allow_null=True))
    def get_dea_notice_due_by(self, obj: LedgerEntry) -> Any:
        return self._deadline(obj, "dea_notice_due_by")

    @extend_schema_field(serializers.DateField(allow_null=True))
    def get_dea_form_106_due_by(self, obj: LedgerEntry) -> Any:
        return self._deadline(obj, "dea_form_106_due_by")


class ReconciliationSerializer(serializers.ModelSerializer):
    reasons = StringListField(read_only=True)

    class Meta:
        model = LedgerReconciliation
        fields = (
            "id",
            "session",
            "status",
            "opened_mg",
            "administered_mg",
            "wasted_mg",
            "lost_mg",
            "difference_mg",
            "charted_dose_mg",
            "reasons",
            "reconciled_by",
            "witness",
            "note",
            "resolves",
            "created_at",
        )


class SessionLedgerSerializer(serializers.Serializer):
    session = serializers.IntegerField()
    drug = serializers.CharField()
    opened_mg = serializers.DecimalField(max_digits=11, decimal_places=3)
    administered_mg = serializers.DecimalField(max_digits=11, decimal_places=3)
    wasted_mg = serializers.DecimalField(max_digits=11, decimal_places=3)
    lost_mg = serializers.DecimalField(max_digits=11, decimal_places=3)
    difference_mg = serializers.DecimalField(max_digits=11, decimal_places=3)
    status = serializers.CharField(allow_null=True, help_text="The latest reconciliation's status, if any.")
    entries = EntrySerializer(many=True)
    reconciliations = ReconciliationSerializer(many=True)


class BalanceSerializer(serializers.Serializer):
    site = serializers.IntegerField()
    site_code = serializers.CharField()
    drug = serializers.CharField()
    stock_mg = serializers.DecimalField(max_digits=11, decimal_places=3)
    received_mg = serializers.DecimalField(max_digits=11, decimal_places=3)


# --- input ------------------------------------------------------------------------------------


def _mg(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=10, decimal_places=3, **kwargs)


class ReceiveSerializer(serializers.Serializer):
    site = serializers.PrimaryKeyRelatedField(queryset=Site.objects.all())
    drug = serializers.ChoiceField(choices=LedgerDrug.choices)
    kind = serializers.ChoiceField(choices=ContainerKind.choices, default=ContainerKind.VIAL)
    ndc = serializers.CharField(max_length=13)
    lot = serializers.CharField(max_length=40)
    expires_on = serializers.DateField()
    strength_mg_per_ml = serializers.DecimalField(max_digits=8, decimal_places=3, min_value=Decimal("0.001"))
    volume_ml = serializers.DecimalField(max_digits=8, decimal_places=3, min_value=Decimal("0.001"))
    quantity = serializers.IntegerField(min_value=1, max_value=ledger.MAX_CONTAINERS_PER_RECEIPT, default=1)
    supplier = serializers.CharField(max_length=120)
    supplier_dea_number = serializers.CharField(max_length=9)
    invoice_number = serializers.CharField(max_length=60)
    received_at = serializers.DateTimeField(required=False)


class _ContainerInput(serializers.Serializer):
    container = serializers.IntegerField(min_value=1)
    occurred_at = serializers.DateTimeField(required=False)


class _SessionInput(_ContainerInput):
    session = serializers.IntegerField(min_value=1)
    amount_mg = _mg(min_value=Decimal("0.001"))


class WasteSerializer(_SessionInput):
    witness = serializers.IntegerField(min_value=1, help_text="The witnessing staff account (not you).")
    witness_password = serializers.CharField(
        write_only=True, trim_whitespace=False, max_length=128, help_text="The witness confirms with their password."
    )
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class DestroySerializer(_ContainerInput):
    amount_mg = _mg(min_value=Decimal("0.001"))
    witness = serializers.IntegerField(min_value=1)
    witness_password = serializers.CharField(write_only=True, trim_whitespace=False, max_length=128)
    second_witness = serializers.IntegerField(min_value=1)
    second_witness_password = serializers.CharField(write_only=True, trim_whitespace=False, max_length=128)
    reason = serializers.CharField(max_length=2000)


class TransferOutSerializer(_ContainerInput):
    amount_mg = _mg(min_value=Decimal("0.001"))
    recipient = serializers.CharField(max_length=120)
    recipient_dea_number = serializers.CharField(max_length=9)
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class LossSerializer(_ContainerInput):
    amount_mg = _mg(min_value=Decimal("0.001"))
    loss_kind = serializers.ChoiceField(choices=LossKind.choices)
    session = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    reason = serializers.CharField(max_length=2000)


class CountSerializer(_ContainerInput):
    counted_mg = _mg(min_value=Decimal("0"))
    count_kind = serializers.ChoiceField(choices=CountKind.choices)
    count_method = serializers.ChoiceField(choices=CountMethod.choices)
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class AdjustmentSerializer(_ContainerInput):
    change_mg = serializers.DecimalField(max_digits=10, decimal_places=3, help_text="Signed: + adds, - removes.")
    reason = serializers.CharField(max_length=2000)


class ReverseSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class ReconcileSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class ResolveSerializer(serializers.Serializer):
    witness = serializers.IntegerField(min_value=1, help_text="The witnessing staff account (not you).")
    witness_password = serializers.CharField(
        write_only=True, trim_whitespace=False, max_length=128, help_text="The witness confirms with their password."
    )
    note = serializers.CharField(max_length=2000, help_text="What happened to the drug not accounted for.")


class EntryQuerySerializer(serializers.Serializer):
    container = serializers.IntegerField(required=False, min_value=1)
    session = serializers.IntegerField(required=False, min_value=1)
    kind = serializers.ChoiceField(choices=EntryKind.choices, required=False)
    site = serializers.IntegerField(required=False, min_value=1)
    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)


class ContainerQuerySerializer(serializers.Serializer):
    site = serializers.IntegerField(required=False, min_value=1)
    drug = serializers.ChoiceField(choices=LedgerDrug.choices, required=False)
    in_stock = serializers.BooleanField(required=False, allow_null=True, default=None)


class ExportQuerySerializer(serializers.Serializer):
    site = serializers.IntegerField(required=False, min_value=1)
    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)


def _container(user: User, container_id: int) -> ControlledContainer:
    try:
        return ledger_selectors.container_get(user=user, container_id=container_id)
    except Http404 as error:
        raise serializers.ValidationError({"container": ["No such container."]}) from error


def _session(user: User, session_id: int) -> InfusionSession:
    try:
        return ledger_selectors.ledger_session_get(user=user, session_id=session_id)
    except Http404 as error:
        raise serializers.ValidationError({"session": ["No such session."]}) from error


def _user(user_id: int, field: str) -> User:
    found = user_get(user_id=user_id)
    if found is None:
        raise serializers.ValidationError({field: ["No such staff account."]})
    return found


# --- views ------------------------------------------------------------------------------------


class ContainerViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Vials and devices with their balance. `POST` receives new stock (admin)."""

    permission_classes = (RolePermission,)
    roles: ClassVar[dict[str, Any]] = {"list": LEDGER, "retrieve": LEDGER, "create": ADMIN}
    serializer_class = ContainerSerializer
    queryset = ControlledContainer.objects.none()

    def get_queryset(self) -> QuerySet[ControlledContainer]:
        params = validated(ContainerQuerySerializer, self.request.query_params) if self.action == "list" else {}
        return ledger_selectors.container_list(
            user=actor(self.request),
            site_id=params.get("site"),
            drug=params.get("drug"),
            in_stock=params.get("in_stock"),
        )

    def get_object(self) -> ControlledContainer:
        return ledger_selectors.container_get(user=actor(self.request), container_id=self.kwargs["pk"])

    @extend_schema(parameters=[ContainerQuerySerializer])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(request=ReceiveSerializer, responses={201: ContainerSerializer(many=True)})
    def create(self, request: Request) -> Response:
        data = validated(ReceiveSerializer, request.data)
        containers = ledger.ledger_receive(actor=actor(request), **data)
        rows = ledger_selectors.container_list(user=actor(request), ids=[c.pk for c in containers])
        return Response(ContainerSerializer(rows, many=True).data, status=status.HTTP_201_CREATED)


class EntryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Ledger entries in time order. Each kind is recorded by its own action."""

    permission_classes = (RolePermission,)
    roles: ClassVar[dict[str, Any]] = {
        "list": LEDGER,
        "retrieve": LEDGER,
        "open": CLINICAL,
        "administer": CLINICAL,
        "waste": CLINICAL,
        "destroy_stock": ADMIN,
        "transfer_out": ADMIN,
        "loss": ADMIN,
        "count": ADMIN,
        "adjustment": ADMIN,
        "reverse": LEDGER,
    }
    serializer_class = EntrySerializer
    queryset = LedgerEntry.objects.none()

    def get_queryset(self) -> QuerySet[LedgerEntry]:
        params = validated(EntryQuerySerializer, self.request.query_params) if self.action == "list" else {}
        return ledger_selectors.entry_list(
            user=actor(self.request),
            container_id=params.get("container"),
            session_id=params.get("session"),
            kind=params.get("kind"),
            site_id=params.get("site"),
            since=params.get("since"),
            until=params.get("until"),
        )

    def get_object(self) -> LedgerEntry:
        return ledger_selectors.entry_get(user=actor(self.request), entry_id=self.kwargs["pk"])

    @extend_schema(parameters=[EntryQuerySerializer])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    def _answer(self, entry: LedgerEntry) -> Response:
        entry = ledger_selectors.entry_get(user=actor(self.request), entry_id=entry.pk)
        return Response(EntrySerializer(entry).data, status=status.HTTP_201_CREATED)

    def _record(self, serializer_class: type[serializers.Serializer], service: Callable[..., LedgerEntry]) -> Response:
        """Validate the input, look up what its ids name (a session, a container, witnesses:
        400 when there is no such one), call the ledger service with the same field names."""
        user = actor(self.request)
        values = dict(validated(serializer_class, self.request.data))
        if "session" in values:
            values["session"] = _session(user, values["session"]) if values["session"] else None
        if "container" in values:
            values["container"] = _container(user, values["container"])
        for field in ("witness", "second_witness"):
            if field in values:
                values[field] = _user(values[field], field)
        return self._answer(service(actor=user, **values))

    @extend_schema(request=_SessionInput, responses={201: EntrySerializer})
    @action(detail=False, methods=["post"])
    def open(self, request: Request) -> Response:
        """Draw drug from a container for a session (it leaves stock)."""
        return self._record(_SessionInput, ledger.ledger_open)

    @extend_schema(request=_SessionInput, responses={201: EntrySerializer})
    @action(detail=False, methods=["post"])
    def administer(self, request: Request) -> Response:
        """Record drug given to the patient of the session."""
        return self._record(_SessionInput, ledger.ledger_administer)

    @extend_schema(request=WasteSerializer, responses={201: EntrySerializer})
    @action(detail=False, methods=["post"])
    def waste(self, request: Request) -> Response:
        """Waste drawn drug before a witness (another staff account, confirming with their password)."""
        return self._record(WasteSerializer, ledger.ledger_waste)

    @extend_schema(request=DestroySerializer, responses={201: EntrySerializer})
    @action(detail=False, methods=["post"], url_path="destroy")
    def destroy_stock(self, request: Request) -> Response:
        """Destroy stock before two witnesses (both other staff accounts)."""
        return self._record(DestroySerializer, ledger.ledger_destroy)

    @extend_schema(request=TransferOutSerializer, responses={201: EntrySerializer})
    @action(detail=False, methods=["post"], url_path="transfer-out")
    def transfer_out(self, request: Request) -> Response:
        """Transfer stock out to another registrant."""
        return self._record(TransferOutSerializer, ledger.ledger_transfer_out)

    @extend_schema(request=LossSerializer, responses={201: EntrySerializer})
    @action(detail=False, methods=["post"])
    def loss(self, request: Request) -> Response:
        """A loss or theft; the answer shows the DEA deadlines."""
        return self._record(LossSerializer, ledger.ledger_loss)

    @extend_schema(request=CountSerializer, responses={201: EntrySerializer})
    @action(detail=False, methods=["post"])
    def count(self, request: Request) -> Response:
        """An inventory count (initial, biennial, other; exact or estimated)."""
        return self._record(CountSerializer, ledger.ledger_count)

    @extend_schema(request=AdjustmentSerializer, responses={201: EntrySerializer})
    @action(detail=False, methods=["post"])
    def adjustment(self, request: Request) -> Response:
        """Bring the book balance to what is there (after a count), with a reason."""
        return self._record(AdjustmentSerializer, ledger.ledger_adjust)

    @extend_schema(request=ReverseSerializer, responses={201: EntrySerializer})
    @action(detail=True, methods=["post"])
    def reverse(self, request: Request, pk: str) -> Response:
        """Cancel this entry with a reversing one (the original stays)."""
        v = dict(validated(ReverseSerializer, self.request.data))
        entry = ledger.ledger_reverse(actor=actor(request), entry=self.get_object(), reason=v["reason"])
        return self._answer(entry)


def _session_ledger(session: InfusionSession, user: User) -> dict[str, Any]:
    account = ledger.session_account(session)
    reconciliations = list(ledger_selectors.reconciliation_list(session=session))
    return {
        "session": session.pk,
        "drug": session.course.protocol.drug,
        **account,
        "status": reconciliations[-1].status if reconciliations else None,
        "entries": ledger_selectors.entry_list(user=user, session_id=session.pk),
        "reconciliations": reconciliations,
    }


class SessionLedgerApi(APIView):
    """A session's ledger: its entries, opened − administered − wasted, and reconciliations."""

    permission_classes = (RolePermission,)
    roles: ClassVar[dict[str, Any]] = {"get": LEDGER}

    @extend_schema(responses={200: SessionLedgerSerializer})
    def get(self, request: Request, session_pk: int) -> Response:
        user = actor(request)
        session = ledger_selectors.ledger_session_get(user=user, session_id=session_pk)
        return Response(SessionLedgerSerializer(_session_ledger(session, user)).data)


class SessionReconcileApi(APIView):
    """Reconcile the session now: balanced, or a discrepancy that must be resolved (a later
    balanced reconciliation with a note resolves it)."""

    permission_classes = (RolePermission,)
    roles: ClassVar[dict[str, Any]] = {"post": LEDGER}

    @extend_schema(request=ReconcileSerializer, responses={201: ReconciliationSerializer})
    def post(self, request: Request, session_pk: int) -> Response:
        user = actor(request)
        session = ledger_selectors.ledger_session_get(user=user, session_id=session_pk)
        data = validated(ReconcileSerializer, request.data)
        reconciliation = ledger.ledger_reconcile(actor=user, session=session, note=data["note"])
        return Response(ReconciliationSerializer(reconciliation).data, status=status.HTTP_201_CREATED)


class SessionResolveApi(APIView):
    """A clinician, before a witness, accepts a discrepancy that entries cannot balance, with
    what happened (CLINICAL.md §8). The session can then be signed while its numbers stay as
    they were accepted. 409 `ledger_no_discrepancy` when the ledger reconciles."""

    permission_classes = (RolePermission,)
    roles: ClassVar[dict[str, Any]] = {"post": PRESCRIBER}

    @extend_schema(request=ResolveSerializer, responses={201: ReconciliationSerializer})
    def post(self, request: Request, session_pk: int) -> Response:
        user = actor(request)
        session = ledger_selectors.ledger_session_get(user=user, session_id=session_pk)
        v = validated(ResolveSerializer, request.data)
        reconciliation = ledger.ledger_discrepancy_resolve(
            actor=user,
            session=session,
            witness=_user(v["witness"], "witness"),
            witness_password=v["witness_password"],
            note=v["note"],
        )
        return Response(ReconciliationSerializer(reconciliation).data, status=status.HTTP_201_CREATED)


class DiscrepancyQuerySerializer(serializers.Serializer):
    open = serializers.BooleanField(required=False, default=True, help_text="Only unresolved discrepancies.")


class DiscrepancyListApi(APIView):
    permission_classes = (RolePermission,)
    roles: ClassVar[dict[str, Any]] = {"get": LEDGER}

    @extend_schema(parameters=[DiscrepancyQuerySerializer], responses={200: ReconciliationSerializer(many=True)})
    def get(self, request: Request) -> Response:
        params = validated(DiscrepancyQuerySerializer, request.query_params)
        rows = ledger_selectors.discrepancy_list(user=actor(request), open_only=params["open"])
        return Response(ReconciliationSerializer(rows, many=True).data)


class BalanceQuerySerializer(serializers.Serializer):
    site = serializers.IntegerField(required=False, min_value=1)


class BalanceApi(APIView):
    """Stock on hand per site and drug."""

    permission_classes = (RolePermission,)
    roles: ClassVar[dict[str, Any]] = {"get": LEDGER}

    @extend_schema(parameters=[BalanceQuerySerializer], responses={200: BalanceSerializer(many=True)})
    def get(self, request: Request) -> Response:
        params = validated(BalanceQuerySerializer, request.query_params)
        rows = ledger_selectors.balance_summary(user=actor(request), site_id=params.get("site"))
        return Response(BalanceSerializer(rows, many=True).data)


def _export_row_serializer() -> type[serializers.Serializer]:
    """One exported entry (EXPORT_COLUMNS): numbers, times and text."""
    numbers = {"entry_id", "container"}
    nullable_numbers = {"reversal_of", "session"}
    decimals = {"strength_mg_per_ml", "container_volume_ml", "amount_mg", "amount_ml", "stock_change_mg"}
    attrs: dict[str, Any] = {}
    for name in ledger_selectors.EXPORT_COLUMNS:
        if name in numbers:
            attrs[name] = serializers.IntegerField()
        elif name in nullable_numbers:
            attrs[name] = serializers.IntegerField(allow_null=True)
        elif name in decimals:
            attrs[name] = serializers.DecimalField(max_digits=12, decimal_places=3)
        elif name == "expected_mg":
            attrs[name] = serializers.DecimalField(max_digits=12, decimal_places=3, allow_null=True)
        elif name in ("occurred_at", "recorded_at"):
            attrs[name] = serializers.DateTimeField()
        else:
            attrs[name] = serializers.CharField(allow_blank=True)
    return type("LedgerExportRowSerializer", (serializers.Serializer,), attrs)


LedgerExportRowSerializer = _export_row_serializer()


class ExportApi(exports.ExportApi):
    """Every ledger entry in time order for an inspector: CSV (the default) or JSON, by
    `Accept` or `format=` (admin)."""

    permission_classes = (RolePermission,)
    roles: ClassVar[dict[str, Any]] = {"get": ADMIN}
    export_name = "controlled-substance-ledger"
    csv_columns = ledger_selectors.EXPORT_COLUMNS

    @extend_schema(
        parameters=[ExportQuerySerializer, exports.export_format_parameter("csv")],
        responses=exports.export_responses(LedgerExportRowSerializer(many=True), "One row per entry"),
    )
    def get(self, request: Request) -> Response:
        params = validated(ExportQuerySerializer, request.query_params)
        rows = ledger_selectors.export_rows(
            user=actor(request), site_id=params.get("site"), since=params.get("since"), until=params.get("until")
        )
        return self.export(rows)
