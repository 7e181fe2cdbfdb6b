from django import forms
from django.contrib.auth.forms import AuthenticationForm

from .models import Establishment, Ght, Region
from .sectors import SECTOR_CHOICES
from .widgets import Select

# The sectors of the ledger and of the dashboards (hopen.sectors): one breakdown on every page.
SECTOR_FILTER_CHOICES = [("", "Tous les secteurs"), *SECTOR_CHOICES]


class EmailAuthenticationForm(AuthenticationForm):
    username = forms.EmailField(
        label="Adresse électronique",
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )
    error_messages = {
        "invalid_login": "Adresse électronique ou mot de passe incorrect.",
        "inactive": "Ce compte est désactivé.",
    }


class EstablishmentFilterForm(forms.Form):
    """Filters of the establishment list; choices limited to what the user can see."""

    q = forms.CharField(label="Nom, commune ou numéro FINESS", required=False, max_length=100)
    region = forms.ChoiceField(label="Région", required=False)
    sector = forms.ChoiceField(
        label="Secteur", required=False, choices=SECTOR_FILTER_CHOICES,
        help_text="Les CLCC et les établissements ESPIC forment le secteur ESPIC (004, §5.1).",
    )
    category = forms.ChoiceField(label="Catégorie", required=False)
    ght = forms.ChoiceField(label="GHT", required=False)

    def __init__(self, *args, regions, visible_establishments, **kwargs):
        super().__init__(*args, **kwargs)
        # Every select of the bar (subclasses' too) renders in Python: same HTML, no template per option.
        for field in self.fields.values():
            if type(field.widget) is forms.Select:
                widget = Select(attrs=field.widget.attrs, choices=field.widget.choices)
                widget.is_required = field.widget.is_required
                field.widget = widget
        self.fields["region"].choices = [("", "Toutes les régions")] + [(r.code, r.name) for r in regions]
        categories = (
            visible_establishments.order_by("category_code")
            .values_list("category_code", "category_label")
            .distinct()
        )
        self.fields["category"].choices = [("", "Toutes les catégories")] + [
            (code, f"{code} — {label}") for code, label in categories
        ]
        ghts = (
            Ght.objects.filter(members__in=visible_establishments).distinct().order_by("code").values_list("code", "name")
        )
        self.fields["ght"].choices = [("", "Tous les GHT")] + [(code, f"{code} — {name}") for code, name in ghts]


class GhtMembershipForm(forms.ModelForm):
    class Meta:
        model = Establishment
        fields = ["ght"]


__all__ = ["EmailAuthenticationForm", "EstablishmentFilterForm", "GhtMembershipForm", "Region"]
