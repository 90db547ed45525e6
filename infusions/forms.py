"""Forms of the booking, approval and portal pages: input shape only."""

from django import forms


class ApproveForm(forms.Form):
    reason = forms.CharField(
        label="Reason for approving this dose",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Recorded with the session.",
    )
