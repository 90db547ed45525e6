"""Forms of the nurse's and clinician's pages: input shape only; the services hold the rules
(impossible values, alerts, NEWS2 are all decided in monitoring.services / vitals.py)."""

from django import forms

from monitoring.models import Consciousness


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
