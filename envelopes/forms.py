"""Forms of the envelope pages: types and labels only; the programme's limits are the services' (§5.1, 004,
annex 4 §1)."""

from decimal import Decimal

from django import forms

from hopen.validation import validate_sane_date

from .models import Pot, Sector

REASON_WIDGET = forms.Textarea(attrs={"rows": 3})


class DerogatoryCeilingForm(forms.Form):
    """§5.1: « jusqu'à 50% si le nombre d'établissements ayant atteint les prérequis HOP'EN est insuffisant »."""

    reason = forms.CharField(
        label="Motif",
        max_length=2000,
        widget=REASON_WIDGET,
        help_text="Pourquoi trop peu d'établissements de la région ont atteint les prérequis HOP'EN.",
        error_messages={"required": "Le motif est obligatoire pour porter le plafond à 50 %."},
    )


class SectorQuotasForm(forms.Form):
    """004: « Répartition identique entre les secteurs public, privé et Espic » — a share of the seed credits per
    sector; left empty, the sector has no quota."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for sector, label in Sector.choices:
            self.fields[sector] = forms.DecimalField(
                label=f"Secteur {label} (%)",
                required=False,
                min_value=Decimal("0"),
                max_value=Decimal("100"),
                max_digits=5,
                decimal_places=2,
                localize=True,
                help_text="Part des crédits d'amorçage de la région ; vide : pas de quota.",
            )

    def quotas(self) -> dict:
        return {sector: self.cleaned_data.get(sector) for sector, _ in Sector.choices}


class RedeploymentForm(forms.Form):
    """Annex 4 §1: the DGOS moves credits from one region's envelope to another's."""

    from_region = forms.ChoiceField(label="Région cédante")
    to_region = forms.ChoiceField(label="Région bénéficiaire")
    pot = forms.ChoiceField(label="Part", choices=Pot.choices, widget=forms.RadioSelect)
    amount = forms.DecimalField(
        label="Montant (€)", min_value=Decimal("0.01"), max_digits=14, decimal_places=2, localize=True,
        help_text="En euros, par exemple 150 000 ou 150 000,50.",
    )
    reason = forms.CharField(label="Motif", max_length=2000, widget=REASON_WIDGET)

    def __init__(self, *args, regions=(), **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", "Choisissez une région")] + [(region.code, region.name) for region in regions]
        self.fields["from_region"].choices = choices
        self.fields["to_region"].choices = choices

    def clean(self):
        data = super().clean()
        if data.get("from_region") and data.get("from_region") == data.get("to_region"):
            self.add_error("to_region", "Choisissez une région différente de la région cédante.")
        return data


class DelegationForm(forms.Form):
    """Annex 2 §3: the DGOS records a delegation of credits to the region (budget circular)."""

    year = forms.IntegerField(label="Exercice", min_value=2000, max_value=2100)
    pot = forms.ChoiceField(label="Part", choices=Pot.choices)
    amount = forms.DecimalField(
        label="Montant délégué (€)", min_value=Decimal("0.01"), max_digits=14, decimal_places=2, localize=True,
        help_text="En euros, par exemple 1 500 000 ou 1 500 000,50.",
    )
    reference = forms.CharField(label="Référence de la circulaire budgétaire", max_length=200)
    delegated_on = forms.DateField(
        label="Date de la délégation", required=False, validators=[validate_sane_date], widget=forms.DateInput(attrs={"type": "date"}),
        help_text="La date de la circulaire, dans l'exercice ; vide : aujourd'hui.",
    )
