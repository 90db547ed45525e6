"""Forms of the nurse's and clinician's pages: input shape only; the services hold the rules
(impossible values, alerts, NEWS2 are all decided in monitoring.vitals.services / vitals.py)."""

from django import forms

from clinic.models import OnCallLevel, User
from monitoring.alerts.models import ResolutionAction
from monitoring.bedside.models import ConsentMethod, SideEffectKind, SideEffectSeverity
from monitoring.vitals.models import Consciousness


def _number(label: str, **attrs: object) -> forms.IntegerField:
    return forms.IntegerField(
        label=label,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "autocomplete": "off", **attrs}),
    )


class VitalsForm(forms.Form):
    systolic = _number("Systolic (mmHg)")
    diastolic = _number("Diastolic (mmHg)")
    heart_rate = _number("Heart rate (/min)")
    spo2 = _number("SpO₂ (%)")
    respiratory_rate = _number("Resp. rate (/min)")
    temperature_c = forms.DecimalField(
        label="Temp. (°C)",
        required=False,
        max_digits=3,
        decimal_places=1,
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "0.1", "autocomplete": "off"}),
    )
    consciousness = forms.ChoiceField(label="ACVPU", choices=Consciousness.choices, initial="A")
    moaas = forms.TypedChoiceField(
        label="MOAA/S",
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", "—"), *[(str(n), str(n)) for n in range(5, -1, -1)]],
    )
    on_oxygen = forms.BooleanField(label="On oxygen", required=False)


class AcceptForm(forms.Form):
    recommendation = forms.IntegerField(widget=forms.HiddenInput)
    override_reason = forms.CharField(
        label="Booking override reason (relative contraindication only)",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class ChangeForm(forms.Form):
    recommendation = forms.IntegerField(widget=forms.HiddenInput)
    interval_days = forms.IntegerField(label="Interval (days)", min_value=1, max_value=365)
    next_due = forms.DateField(
        label="Next due",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="Empty: the interval after the last session.",
    )
    reason = forms.CharField(label="Why you change it", max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class RejectForm(forms.Form):
    recommendation = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.CharField(label="Why you reject it", max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class FollowUpCompleteForm(forms.Form):
    followup = forms.IntegerField(widget=forms.HiddenInput)
    outcome = forms.CharField(label="What was done", max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class FollowUpSnoozeForm(forms.Form):
    followup = forms.IntegerField(widget=forms.HiddenInput)
    until = forms.DateTimeField(
        label="Remind me again at",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M"],
    )
    reason = forms.CharField(label="Why later", max_length=2000)


# ---- the bedside page (monitoring.bedside.services services) --------------------------------------------


class ConsentForm(forms.Form):
    method = forms.ChoiceField(label="Consent", choices=ConsentMethod.choices, initial=ConsentMethod.WRITTEN)
    document_reference = forms.CharField(label="Document reference", required=False, max_length=120)


class EscortForm(forms.Form):
    name = forms.CharField(label="Escort's name", max_length=120)
    phone = forms.CharField(
        label="Escort's phone", max_length=32, widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"})
    )
    relationship = forms.CharField(label="Relationship", required=False, max_length=60)


class ReasonStepForm(forms.Form):
    reason = forms.CharField(label="Reason", required=False, max_length=2000)


class CompleteForm(forms.Form):
    actual_dose_mg = forms.DecimalField(
        label="Dose given (mg)",
        max_digits=9,
        decimal_places=1,
        min_value=0,
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "0.1"}),
    )
    note = forms.CharField(label="Note", required=False, max_length=2000)


class StopForm(forms.Form):
    actual_dose_mg = CompleteForm.base_fields["actual_dose_mg"]
    reason = forms.CharField(label="Why it stops early", max_length=2000)


class DischargeForm(forms.Form):
    note = forms.CharField(label="Discharge note", required=False, max_length=2000)


class SideEffectForm(forms.Form):
    kind = forms.ChoiceField(label="Side effect", choices=SideEffectKind.choices, widget=forms.RadioSelect)
    severity = forms.ChoiceField(
        label="Severity", choices=SideEffectSeverity.choices, initial=SideEffectSeverity.MILD, widget=forms.RadioSelect
    )
    note = forms.CharField(label="Note", required=False, max_length=2000)


class AlertForm(forms.Form):
    alert = forms.IntegerField(widget=forms.HiddenInput)
    action = forms.ChoiceField(
        label="Action taken", required=False, choices=[("", "— choose —"), *ResolutionAction.choices]
    )
    note = forms.CharField(label="What was done", required=False, max_length=2000)


class OnCallShiftForm(forms.Form):
    """A shift of the on-call roster (clinic.oncall.on_call_shift_add); times in the site's zone."""

    clinician = forms.ModelChoiceField(label="Clinician", queryset=User.objects.none())
    level = forms.TypedChoiceField(label="Level", choices=OnCallLevel.choices, coerce=int, initial=OnCallLevel.FIRST)
    starts_at = forms.DateTimeField(
        label="From", widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    )
    ends_at = forms.DateTimeField(
        label="Until", widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    )

    def __init__(self, *args: object, clinicians: object = None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["clinician"].queryset = clinicians  # type: ignore[attr-defined]
        self.fields["clinician"].label_from_instance = lambda u: u.get_full_name() or u.username  # type: ignore[attr-defined]


class OnCallCancelForm(forms.Form):
    shift = forms.IntegerField(widget=forms.HiddenInput)
