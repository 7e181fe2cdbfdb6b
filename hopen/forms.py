from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.db.models import Exists, F, OuterRef, Value

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
        choices = _filter_choices(regions, visible_establishments)
        self.fields["region"].choices = [("", "Toutes les régions"), *choices[_REGION]]
        self.fields["category"].choices = [("", "Toutes les catégories")] + [
            (code, f"{code} — {label}") for code, label in choices[_CATEGORY]
        ]
        self.fields["ght"].choices = [("", "Tous les GHT")] + [(code, f"{code} — {name}") for code, name in choices[_GHT]]


_REGION, _CATEGORY, _GHT = 0, 1, 2


def _filter_choices(regions, visible_establishments) -> dict[int, list[tuple[str, str]]]:
    """{kind: [(code, label)]} for the regions (a Region queryset), the categories and the GHTs of the visible
    establishments — one statement for the three lists (issue 17: they cost a round trip each on every list page),
    each sorted by PostgreSQL as before (regions by name, categories and GHTs by code). A GHT is offered when one of
    its members is visible: EXISTS on the members' index, not a DISTINCT over the join."""
    def part(queryset, kind, code, label, sort):
        return queryset.order_by().annotate(kind=Value(kind), sort=F(sort)).values_list("kind", code, label, "sort")

    members = visible_establishments.filter(ght=OuterRef("pk"))
    rows = (
        part(regions, _REGION, "code", "name", "name")
        .union(
            part(visible_establishments, _CATEGORY, "category_code", "category_label", "category_code").distinct(),
            part(Ght.objects.filter(Exists(members)), _GHT, "code", "name", "code"),
            all=True,
        )
        .order_by("kind", "sort", "name")
    )
    choices = {_REGION: [], _CATEGORY: [], _GHT: []}
    for kind, code, label, _ in rows:
        choices[kind].append((code, label))
    return choices


class GhtMembershipForm(forms.ModelForm):
    class Meta:
        model = Establishment
        fields = ["ght"]


__all__ = ["EmailAuthenticationForm", "EstablishmentFilterForm", "GhtMembershipForm", "Region"]
