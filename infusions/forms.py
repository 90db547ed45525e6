"""Forms of the booking, approval and portal pages: input shape only; every booking rule
lives in infusions.booking (409 `{detail, rule}` refusals become messages on the page)."""

from datetime import datetime
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from clinic.models import Chair, Site
from infusions.models import Protocol


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
