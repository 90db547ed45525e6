"""Forms of the booking, approval and portal pages: input shape only; every booking rule
lives in infusions.scheduling.services (409 `{detail, rule}` refusals become messages on the page)."""

from datetime import datetime
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from clinic.models import Chair, Site
from infusions.protocols.models import Protocol
from infusions.sessions.models import Indication


class ApproveForm(forms.Form):
    reason = forms.CharField(
        label="Reason for approving this dose",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Recorded with the session.",
    )


def slot_value(chair: Chair, starts_at: datetime) -> str:
    """How a proposed slot travels through a form: `<chair id>|<ISO start with offset>`."""
    return f"{chair.pk}|{starts_at.isoformat()}"


def _parse_slots(values: list[str]) -> list[tuple[Chair, datetime]]:
    parsed: list[tuple[int, datetime]] = []
    for value in values:
        chair_id, _, iso = str(value).partition("|")
        try:
            starts_at = datetime.fromisoformat(iso)
            parsed.append((int(chair_id), starts_at))
        except ValueError as error:
            raise ValidationError("Choose a time from the list.") from error
        if timezone.is_naive(starts_at):
            raise ValidationError("Choose a time from the list.")
    chairs = Chair.objects.in_bulk({chair_id for chair_id, _ in parsed})
    if any(chair_id not in chairs for chair_id, _ in parsed):
        raise ValidationError("That chair no longer exists.")
    return [(chairs[chair_id], starts_at) for chair_id, starts_at in parsed]


class SlotSearchForm(forms.Form):
    MODES = (("single", "One appointment"), ("series", "Induction series"))

    site = forms.ModelChoiceField(label="Site", queryset=Site.objects.order_by("name"))
    protocol = forms.ModelChoiceField(label="Protocol", queryset=Protocol.objects.filter(is_active=True))
    start_date = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    mode = forms.ChoiceField(label="Book", choices=MODES, initial="series", widget=forms.RadioSelect)


class BookForm(forms.Form):
    protocol = forms.ModelChoiceField(queryset=Protocol.objects.filter(is_active=True), widget=forms.HiddenInput)
    slot = forms.CharField(label="Time")
    override_reason = forms.CharField(
        label="Override reason (relative contraindication; clinicians only)",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def clean_slot(self) -> tuple[Chair, datetime]:
        return _parse_slots([self.cleaned_data["slot"]])[0]


class SlotListField(forms.Field):
    """Several `slot_value` strings (the checked sessions of a proposed series)."""

    widget = forms.CheckboxSelectMultiple

    def to_python(self, value: Any) -> list[str]:
        if not value:
            return []
        return [str(v) for v in (value if isinstance(value, list | tuple) else [value])]

    def validate(self, value: Any) -> None:
        if self.required and not value:
            raise ValidationError("Keep at least one session.", code="required")


class SeriesForm(forms.Form):
    protocol = forms.ModelChoiceField(queryset=Protocol.objects.filter(is_active=True), widget=forms.HiddenInput)
    slots = SlotListField(label="Sessions")
    override_reason = forms.CharField(
        label="Override reason (relative contraindication; clinicians only)",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def clean_slots(self) -> list[tuple[Chair, datetime]]:
        return _parse_slots(self.cleaned_data["slots"])


class MoveForm(forms.Form):
    slot = forms.CharField(label="New time")
    reason = forms.CharField(label="Why it moves", max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))

    def clean_slot(self) -> tuple[Chair, datetime]:
        return _parse_slots([self.cleaned_data["slot"]])[0]


class MoveSearchForm(forms.Form):
    start_date = forms.DateField(
        label="Look for times from", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(label="Why it is cancelled", max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class OptionalReasonForm(forms.Form):
    reason = forms.CharField(label="Note", required=False, max_length=2000)


class CourseForm(forms.Form):
    protocol = forms.ModelChoiceField(label="Protocol", queryset=Protocol.objects.filter(is_active=True))
    indication = forms.ChoiceField(label="Indication", choices=Indication.choices)
    notes = forms.CharField(label="Notes", required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class SessionPlanForm(forms.Form):
    """Plan a session: the service computes every figure and checks every limit."""

    course = forms.IntegerField(widget=forms.HiddenInput)
    dose = forms.DecimalField(
        label="Dose",
        max_digits=8,
        decimal_places=3,
        min_value=Decimal("0.001"),
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "any"}),
    )
    concentration_mg_per_ml = forms.DecimalField(
        label="Concentration (mg/mL)",
        required=False,
        max_digits=8,
        decimal_places=3,
        min_value=Decimal("0.001"),
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "any"}),
        help_text="Empty: the protocol's default.",
    )
    appointment = forms.TypedChoiceField(label="Appointment", required=False, coerce=int, empty_value=None)
    override_reason = forms.CharField(
        label="Reason (a dose outside the soft range; prescribers only)",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, appointments: list[tuple[int, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["appointment"]
        assert isinstance(field, forms.TypedChoiceField)  # noqa: S101 - declared above
        field.choices = [("", "None")] + [(str(pk), label) for pk, label in appointments or []]
