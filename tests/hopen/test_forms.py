"""The choices of the establishment filter bar (hopen.forms.EstablishmentFilterForm): what the user may read, read in
one statement (issue 17)."""

import pytest

from hopen import selectors
from hopen.forms import EstablishmentFilterForm
from hopen.models import Role
from hopen.permissions import scope_of
from tests.factories import EstablishmentFactory, GhtFactory, RegionFactory, user_with_role

pytestmark = pytest.mark.django_db


def filter_form(user):
    return EstablishmentFilterForm(
        None,
        regions=selectors.regions_visible_to(user),
        visible_establishments=selectors.establishments_visible_to(user),
    )


def codes(form, name):
    return [code for code, _ in form.fields[name].choices]


@pytest.fixture
def nation(tenants):
    """Beyond the tenants: a region without any establishment, a GHT without any member, a second category twice."""
    RegionFactory(code="94", name="Corse")
    GhtFactory(region=tenants.region_b, code="BR-01")
    for _ in range(2):
        EstablishmentFactory(region=tenants.region_b, category_code="131", category_label="CLCC")
    return tenants


def test_national_scope_offers_every_region_the_listed_categories_and_the_ghts_with_members(
    nation, django_assert_num_queries
):
    scope_of(nation.dgos)  # the user's roles, read once per request by the permission policy
    with django_assert_num_queries(1):
        form = filter_form(nation.dgos)
    assert form.fields["region"].choices == [
        ("", "Toutes les régions"), ("53", "Bretagne"), ("94", "Corse"), ("32", "Hauts-de-France"),
    ]
    assert form.fields["category"].choices == [
        ("", "Toutes les catégories"), ("131", "131 — CLCC"), ("355", "355 — Centre hospitalier (CH)"),
    ]
    assert codes(form, "ght") == ["", "HF-99"]  # BR-01 has no member to list


def test_regional_scope_offers_its_region_and_what_it_may_read(nation, django_assert_num_queries):
    scope_of(nation.ars_b)
    with django_assert_num_queries(1):
        form = filter_form(nation.ars_b)
    assert codes(form, "region") == ["", "53"]
    assert codes(form, "category") == ["", "131", "355"]
    assert codes(form, "ght") == [""]

    lonely_ars = user_with_role(Role.ARS_OFFICER, region=RegionFactory(code="01", name="Guadeloupe"))
    form = filter_form(lonely_ars)  # its region has no establishment yet: still offered, nothing else
    assert [codes(form, name) for name in ("region", "category", "ght")] == [["", "01"], [""], [""]]


def test_establishment_scope_offers_the_region_category_and_ght_of_its_establishment(nation):
    form = filter_form(nation.editor)
    assert [codes(form, name) for name in ("region", "category", "ght")] == [["", "32"], ["", "355"], ["", "HF-99"]]
    form = filter_form(user_with_role(Role.ESTABLISHMENT_EDITOR, establishment=nation.foreign))
    assert [codes(form, name) for name in ("region", "category", "ght")] == [["", "53"], ["", "355"], [""]]


def test_no_scope_offers_nothing(nation, django_user_model):
    form = filter_form(django_user_model.objects.create_user(email="personne@example.org", password="x" * 12))
    assert [codes(form, name) for name in ("region", "category", "ght")] == [[""], [""], [""]]
