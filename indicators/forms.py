from django import forms
from django.utils import timezone

from hopen.validation import validate_sane_date

from .models import ValueKind
from .services import ValueInput, value_input_errors

EXISTS_CHOICES = [("", "—"), ("yes", "Oui"), ("no", "Non")]


class ValueForm(forms.Form):
    """The fields of one value; validation is the service's (`value_input_errors`), shown field by field."""

    measured_on = forms.DateField(
        label="Date de mesure", validators=[validate_sane_date], widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="La valeur est rattachée au semestre de cette date (par exemple « 2020 S1 »).",
    )
    kind = forms.ChoiceField(label="Nature de la valeur", choices=ValueKind.choices, widget=forms.RadioSelect)
    numerator = forms.IntegerField(label="Numérateur", required=False, min_value=0)
    denominator = forms.IntegerField(label="Dénominateur", required=False, min_value=0)
    exists = forms.ChoiceField(label="Existe ?", required=False, choices=EXISTS_CHOICES)
    description = forms.CharField(label="Description", required=False, widget=forms.Textarea(attrs={"rows": 3}))
    not_applicable_reason = forms.CharField(
        label="Motif de non-applicabilité", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    comment = forms.CharField(label="Commentaire", required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, indicator, **kwargs):
        super().__init__(*args, **kwargs)
        self.indicator = indicator
        allowed = [indicator.target_kind] + (["not_applicable"] if indicator.not_applicable_allowed else [])
        self.fields["kind"].choices = [(k, label) for k, label in ValueKind.choices if k in allowed]
        if not self.is_bound and "kind" not in self.initial:
            self.initial["kind"] = indicator.target_kind
        if not self.is_bound and "measured_on" not in self.initial:
            self.initial["measured_on"] = timezone.localdate()

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        self.value_input = self.to_input(cleaned)
        for field, message in value_input_errors(self.indicator, self.value_input).items():
            self.add_error(field if field in self.fields else None, message)
        return cleaned

    @staticmethod
    def to_input(cleaned) -> ValueInput:
        exists = {"yes": True, "no": False}.get(cleaned.get("exists") or "")
        return ValueInput(
            measured_on=cleaned["measured_on"],
            kind=cleaned["kind"],
            numerator=cleaned.get("numerator"),
            denominator=cleaned.get("denominator"),
            exists=exists,
            description=cleaned.get("description", ""),
            not_applicable_reason=cleaned.get("not_applicable_reason", ""),
            comment=cleaned.get("comment", ""),
        )

    @classmethod
    def initial_from(cls, value) -> dict:
        return {
            "measured_on": value.measured_on,
            "kind": value.kind,
            "numerator": value.numerator,
            "denominator": value.denominator,
            "exists": {True: "yes", False: "no"}.get(value.exists, ""),
            "description": value.description,
            "not_applicable_reason": value.not_applicable_reason,
            "comment": value.comment,
        }


class CorrectionForm(ValueForm):
    """A correction keeps the date of measurement of the value it corrects."""

    correction_reason = forms.CharField(label="Motif de la correction", widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["measured_on"].widget.attrs["readonly"] = True
