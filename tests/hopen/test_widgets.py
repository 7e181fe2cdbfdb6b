"""hopen.widgets.Select writes, byte for byte, what Django's select templates write."""

import pytest
from django import forms

from hopen.forms import EstablishmentFilterForm
from hopen.models import Establishment, Region
from hopen.widgets import Select

CHOICES = [
    ("", "Tous les GHT"),
    ("GHT-1", "GHT-1 — Cœur & « Val » <d'Oise>"),
    (7, "sept"),
    ("x\"y", "guillemet"),
]
GROUPED = [("", "Aucun"), ("Groupe <A>", [("a1", "A 1"), ("a2", "A 2")]), ("b", "B")]


class _Form(forms.Form):
    plain = forms.ChoiceField(required=False, choices=CHOICES, help_text="aide")
    grouped = forms.ChoiceField(required=False, choices=GROUPED)
    many = forms.MultipleChoiceField(required=False, choices=CHOICES)


class _FastForm(_Form):
    plain = forms.ChoiceField(required=False, choices=CHOICES, help_text="aide", widget=Select)
    grouped = forms.ChoiceField(required=False, choices=GROUPED, widget=Select)
    many = forms.MultipleChoiceField(required=False, choices=CHOICES, widget=forms.SelectMultiple)


@pytest.mark.parametrize(
    "data",
    [None, {"plain": "GHT-1", "grouped": "a2"}, {"plain": "7", "grouped": ""}, {"plain": "x\"y", "grouped": "b"}],
)
@pytest.mark.parametrize("attrs", [{"class": "fr-select"}, {"class": "a<b", "disabled": True, "data-x": False}])
def test_same_html_as_django_select(data, attrs):
    django_form, fast_form = _Form(data), _FastForm(data)
    for name in ("plain", "grouped"):
        expected = django_form[name].as_widget(attrs=attrs)
        assert fast_form[name].as_widget(attrs=attrs) == expected


def test_selected_option_marked():
    html = _FastForm({"plain": "GHT-1"})["plain"].as_widget()
    assert '<option value="GHT-1" selected>GHT-1 — Cœur &amp; « Val » &lt;d&#x27;Oise&gt;</option>' in html
    assert '<option value="" selected>' not in html


@pytest.mark.django_db
def test_filter_form_selects_render_in_python():
    form = EstablishmentFilterForm(
        {"region": "", "sector": ""}, regions=Region.objects.all(), visible_establishments=Establishment.objects.all()
    )
    assert all(type(form.fields[name].widget) is Select for name in ("region", "sector", "category", "ght"))
