"""Forms of the GHT governance page (French labels; the services re-check everything)."""

from django import forms

from hopen.validation import validate_sane_date
from indicators.evidence import ACCEPT_ATTRIBUTE, ACCEPTED_FORMATS_LABEL
from indicators.models import ValueKind

from .models import GHT_VALUE_KINDS

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class MasterPlanForm(forms.Form):
    file = forms.FileField(
        label="Schéma directeur du SI (SDSI)",
        help_text=f"Formats acceptés : {ACCEPTED_FORMATS_LABEL}.",
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPT_ATTRIBUTE}),
    )
    validated_on = forms.DateField(
        label="Validé par le GHT le", required=False, widget=DATE_INPUT, validators=[validate_sane_date],
        help_text="Date de validation du SDSI par les instances du GHT (à renseigner dès qu'elle est connue).",
    )


class MasterPlanValidationForm(forms.Form):
    validated_on = forms.DateField(label="Validé par le GHT le", widget=DATE_INPUT, validators=[validate_sane_date])


class CioForm(forms.Form):
    name = forms.CharField(label="Nom du DSI de GHT", max_length=200)
    email = forms.EmailField(label="Courriel du DSI de GHT", required=False)


class GhtValueForm(forms.Form):
    kind = forms.ChoiceField(label="Nature de la valeur", choices=GHT_VALUE_KINDS, widget=forms.RadioSelect)
    exists = forms.TypedChoiceField(
        label="Exigence GHT satisfaite", required=False, choices=[("", "—"), ("yes", "Oui"), ("no", "Non")],
        coerce=lambda value: {"yes": True, "no": False}.get(value), empty_value=None,
    )
    description = forms.CharField(label="Description", required=False, widget=forms.Textarea(attrs={"rows": 2}))
    not_applicable_reason = forms.CharField(
        label="Motif de non-applicabilité", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    comment = forms.CharField(label="Commentaire", required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def clean(self):
        data = super().clean()
        if data.get("kind") == ValueKind.EXISTENCE and data.get("exists") is None:
            self.add_error("exists", "Indiquez si l'exigence GHT est satisfaite (oui ou non).")
        if data.get("kind") == ValueKind.NOT_APPLICABLE and not (data.get("not_applicable_reason") or "").strip():
            self.add_error("not_applicable_reason", "Le motif de non-applicabilité est obligatoire.")
        return data


class CorrectionForm(forms.Form):
    reason = forms.CharField(label="Motif de la correction", widget=forms.Textarea(attrs={"rows": 2}))
