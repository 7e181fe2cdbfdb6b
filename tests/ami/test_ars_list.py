"""The AMI list /ami/region/ (ami/views_ars.py `ars_list`) and its cached figures: the estimates per domain and year,
the envelope and the balance are one section rendered once per write version, programme, scope and filters
(`{% cached_figures "ami-figures" %}`, hopen/figure_cache.py). A write through the services shows at the next
request; two scopes or two filter sets never read each other's entry; the figures are not computed when the section
is served from the cache; the page's queries stay few and constant."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ami.models import Decision
from ami.services import DomainChoice, pre_candidature_decide
from tests.ami.test_ars import LIST, ami_world, bulk_filed, domain_of, file_pre_candidature  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db

FIGURES_SQL = "json_build_object"  # the one statement of `selectors.domain_totals`


@pytest.fixture
def cached(settings):
    settings.FIGURE_CACHE_ENABLED = True
    return settings


def requested(content: str) -> str:
    """The total requested, as printed (« 450 000,00 € »)."""
    match = re.search(r'id="total-demande">([^<]*)<', content)
    assert match, "total-demande absent"
    return match.group(1).replace("\xa0", " ")


def preselected(content: str) -> str:
    match = re.search(r'id="total-preselectionne">([^<]*)<', content)
    assert match, "total-preselectionne absent"
    return match.group(1).replace("\xa0", " ")


def get(client, **params):
    """(page HTML, whether the figures were computed for it)."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(LIST, params)
    assert response.status_code == 200
    computed = any(FIGURES_SQL in query["sql"] for query in queries.captured_queries)
    return response.content.decode(), computed


def test_cached_figures_show_a_new_pre_candidature_and_a_decision_at_the_next_request(
    client, cached, ami_world, ami_input
):
    t = ami_world
    member = file_pre_candidature(t.member, ami_input(), editor=t.editor, director=t.director)
    client.force_login(t.ars_a)
    content, computed = get(client)
    assert computed and requested(content) == "450 000,00 €"  # D2 250 k€ + D3 200 k€ (category B)
    content, computed = get(client)
    assert not computed and requested(content) == "450 000,00 €"  # served from the cache, not recomputed

    file_pre_candidature(t.clinic, ami_input(domains=[DomainChoice("D4", "2022 S2", 1)]))
    content, computed = get(client)
    assert computed and requested(content) == "650 000,00 €"
    assert 'data-domain="D4"' in content.split('id="tableau-totaux"')[1].split("</table>")[0]
    assert '<tr data-key="private">' in content and preselected(content) == "0,00 €"

    pre_candidature_decide(domain=domain_of(member, "D2"), decision=Decision.PRESELECTED, reason="", by=t.ars_a)
    content, computed = get(client)
    assert computed and preselected(content) == "250 000,00 €"
    assert 'id="tableau-totaux-preselectionnes"' in content


def test_two_regions_never_share_an_entry(client, cached, ami_world, ami_input):
    t = ami_world
    file_pre_candidature(t.member, ami_input(), editor=t.editor, director=t.director)
    file_pre_candidature(t.foreign, ami_input(domains=[DomainChoice("D2", "2020 S2", 1)]))
    for _ in range(2):  # the second round reads every entry from the cache
        client.force_login(t.ars_a)
        content_a, _ = get(client)
        client.force_login(t.ars_b)
        content_b, _ = get(client)
        client.force_login(t.dgos)
        nation, _ = get(client)
        bretagne, _ = get(client, region=t.region_b.code)
        assert requested(content_a) == "450 000,00 €" and "Hauts-de-France" in content_a
        assert requested(content_b) == "250 000,00 €" and "Enveloppe régionale — Bretagne" in content_b
        assert requested(nation) == "700 000,00 €" and "Total national (annexe 2)" in nation
        assert requested(bretagne) == "250 000,00 €" and "Enveloppe régionale — Bretagne" in bretagne
    client.force_login(t.ars_a)
    keys = {tuple(client.get(LIST).context["figures_key"])}
    client.force_login(t.ars_b)
    keys.add(tuple(client.get(LIST).context["figures_key"]))
    client.force_login(t.dgos)
    keys.add(tuple(client.get(LIST).context["figures_key"]))
    keys.add(tuple(client.get(LIST, {"region": t.region_b.code}).context["figures_key"]))
    assert len(keys) == 4


def test_two_filter_sets_never_share_an_entry_the_page_number_does_not_split_one(
    client, cached, ami_world, ami_input
):
    t = ami_world
    file_pre_candidature(t.member, ami_input(), editor=t.editor, director=t.director)
    file_pre_candidature(
        t.clinic, ami_input(position="planned", domains=[DomainChoice("D4", "2022 S2", 1)])
    )
    client.force_login(t.ars_a)
    expected = [
        ({}, "650 000,00 €"),
        ({"domain": "D3"}, "200 000,00 €"),
        ({"domain": "D2"}, "250 000,00 €"),
        ({"position": "planned"}, "200 000,00 €"),
        ({"sector": "public"}, "450 000,00 €"),
        ({"filing": "draft"}, "0,00 €"),
    ]
    for params, total in expected:
        content, computed = get(client, **params)
        assert computed and requested(content) == total, params
    for params, total in expected:
        content, computed = get(client, **params)
        assert not computed and requested(content) == total, params
    # « filed » is the default filing filter and the page number never changes the figures: the same entries
    content, computed = get(client, filing="filed", page="2")
    assert not computed and requested(content) == "650 000,00 €"
    # a foreign region is dropped from the filters (the ARS's scope never widens): the region's figures
    content, _ = get(client, region=t.region_b.code)
    assert requested(content) == "650 000,00 €"


def test_the_rows_are_the_filtered_page(client, cached, ami_world, ami_input):
    """The rows are outside the cached section: they follow the page and the filters at every request."""
    t = ami_world
    file_pre_candidature(t.member, ami_input(), editor=t.editor, director=t.director)
    file_pre_candidature(t.clinic, ami_input(domains=[DomainChoice("D4", "2022 S2", 1)]))
    client.force_login(t.ars_a)
    get(client)
    response = client.get(LIST, {"domain": "D4"})
    assert [row["finess"] for row in response.context["rows"]] == [t.clinic.finess]
    row = response.content.decode().split(f'<tr data-finess="{t.clinic.finess}">')[1].split("</tr>")[0]
    assert "Clinique du Nord" in row and "GHT" not in row and "Bretagne" not in row
    badge = '<span class="fr-badge fr-badge--sm fr-badge--info">En attente</span>'
    assert f"<strong>D4</strong> 2022 S2, priorité 1, 200\xa0000,00\xa0€ {badge}" in row
    member_row = client.get(LIST).content.decode().split(f'<tr data-finess="{t.member.finess}">')[1].split("</tr>")[0]
    assert f"GHT {t.ght.code}" in member_row and "15/05/2019" in member_row


@pytest.mark.parametrize("figure_cache, most", [(False, 14), (True, 11)])
def test_list_queries_are_few_and_constant(
    client, settings, ami_world, django_assert_max_num_queries, figure_cache, most
):
    """Cold (the figures computed: one statement for the estimates and the balance; 15 queries before) and warm
    (served from the cache: neither the figures, the region nor the envelope are read), for the ARS and the DGOS,
    whatever the number of pre-candidatures."""
    settings.FIGURE_CACHE_ENABLED = figure_cache
    t = ami_world
    for user in (t.ars_a, t.dgos):
        client.force_login(user)
        bulk_filed(t.region_a, 3, ght=t.ght)
        client.get(LIST)  # the session's expiry refresh and, warm, the cache's entry
        with django_assert_max_num_queries(most):
            client.get(LIST)
        bulk_filed(t.region_a, 40, ght=t.ght, decision=Decision.PRESELECTED)
        client.get(LIST, {"page": 2})
        with django_assert_max_num_queries(most):
            client.get(LIST, {"page": 2})
