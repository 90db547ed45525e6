"""Forms of the patient pages: input shape only; the services hold every rule."""

from typing import Any

from django import forms

from clinic.models import Site
from patients.models import Sex
from patients.questionnaires import Questionnaire
from patients.screening import ANSWER_KEYS


class PatientSearchForm(forms.Form):
    q = forms.CharField(
        label="Name or MRN",
        required=False,
        max_length=120,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )


class PatientForm(forms.Form):
    mrn = forms.CharField(label="MRN", max_length=32)
    given_name = forms.CharField(label="Given name", max_length=80)
    family_name = forms.CharField(label="Family name", max_length=80)
    birth_date = forms.DateField(
        label="Date of birth", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    sex = forms.ChoiceField(label="Sex", choices=Sex.choices)
    email = forms.EmailField(label="E-mail", required=False)
    phone = forms.CharField(label="Phone", required=False, max_length=32, widget=forms.TextInput(attrs={"type": "tel"}))
    site = forms.ModelChoiceField(label="Site", queryset=Site.objects.order_by("name"), required=False)


class PatientEditForm(PatientForm):
    """The same fields without the MRN, which never changes."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        del self.fields["mrn"]


class PortalAccountForm(forms.Form):
    username = forms.CharField(label="Portal username", max_length=150)
    password = forms.CharField(
        label="Initial password",
        max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="Give it to the patient in person.",
    )


class QuestionnaireForm(forms.Form):
    """One radio group per question (`item_1` ... `item_n`), each answer its item score."""

    def __init__(self, *args: Any, questionnaire: Questionnaire, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.questionnaire = questionnaire
        choices = [(str(value), label) for value, label in questionnaire.answers]
        for number, question in enumerate(questionnaire.questions, start=1):
            self.fields[f"item_{number}"] = forms.TypedChoiceField(
                label=f"{number}. {question}",
                choices=choices,
                coerce=int,
                widget=forms.RadioSelect,
                error_messages={"required": "Choose an answer."},
            )

    def items(self) -> list[int]:
        return [self.cleaned_data[f"item_{n}"] for n in range(1, len(self.questionnaire.questions) + 1)]


class MeasurementForm(forms.Form):
    weight_kg = forms.DecimalField(
        label="Weight (kg)",
        max_digits=5,
        decimal_places=1,
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "0.1"}),
    )
    height_cm = forms.DecimalField(
        label="Height (cm)",
        required=False,
        max_digits=4,
        decimal_places=1,
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "0.1"}),
    )
    confirm_change = forms.BooleanField(label="Confirm a large change from the previous weight", required=False)


# The screening questions (CLINICAL.md §2), in the words a nurse asks them.
SCREENING_QUESTIONS = {
    "pregnant_or_breastfeeding": "Pregnant or breastfeeding",
    "aneurysm_or_avm": "Aneurysmal vascular disease or arteriovenous malformation",
    "intracerebral_haemorrhage": "History of intracerebral haemorrhage",
    "ketamine_hypersensitivity": "Hypersensitivity to ketamine or esketamine",
    "active_psychosis_or_mania": "Active psychosis or mania",
    "uncontrolled_hypertension": "Uncontrolled hypertension",
    "substance_use_disorder": "History of substance use disorder",
    "severe_cardiovascular_disease": "Severe cardiovascular disease",
    "severe_liver_disease": "Severe liver disease",
    "raised_icp_or_iop": "Raised intracranial or intra-ocular pressure",
}


class ScreeningForm(forms.Form):
    """Every answer of `patients.screening.ANSWER_KEYS`; the service decides the outcome."""

    medications = forms.CharField(
        label="Current medications",
        required=False,
        max_length=2000,
        help_text="One per line or separated by commas.",
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for key in ANSWER_KEYS:
            self.fields[key] = forms.BooleanField(label=SCREENING_QUESTIONS.get(key, key), required=False)
        self.order_fields([*ANSWER_KEYS, "medications"])

    def answers(self) -> dict[str, Any]:
        raw = self.cleaned_data.get("medications") or ""
        medications = [m.strip() for m in raw.replace(",", "\n").splitlines() if m.strip()]
        return {**{key: bool(self.cleaned_data.get(key)) for key in ANSWER_KEYS}, "medications": medications}
