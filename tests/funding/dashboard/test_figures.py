"""The dashboard read from the figure cache (funding/dashboard/figures.py, the `{% cached_figures %}` sections): a
second request without a write reads no figure from the database, a declaration or a ledger movement made through
its service shows at the next request, a region's entry is never served outside it, and a cache outage still
answers the page."""

import re

import pytest
from django.core.cache import cache
from django.db import transaction

from envelopes.services.commitments import seed_pay
from hopen.models import Role
from tests.factories import RegionFactory, user_with_role
from tests.funding.dashboard.test_views import HOME, figure, region_url, world  # noqa: F401 (fixture)
from tests.funding.helpers_dashboard import PREREQUISITE_CODES, bulk_region, declare_reached

pytestmark = pytest.mark.django_db
# Session, user, roles, write version, programme, region (scope), site configuration, unread notifications, and
# the region selector of the national roles: nothing that grows with the data, no figure.
CACHED_PAGE_QUERIES = 9


def page(client, url) -> str:
    """The page, without its CSRF token (a new one on every response, outside the cached sections)."""
    response = client.get(url)
    assert response.status_code == 200
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", response.content.decode())


@pytest.mark.parametrize("who, url", [("dgos", HOME), ("dgos", "/pilotage/32/"), ("ars_a", "/pilotage/32/")])
def test_a_second_request_without_write_reads_no_figure(client, world, who, url, django_assert_max_num_queries):
    client.force_login(getattr(world.tenants, who))
    first = page(client, url)
    with django_assert_max_num_queries(CACHED_PAGE_QUERIES):
        second = page(client, url)
    assert second == first
    cache.clear()
    assert page(client, url) == first  # the cached page is the computed page


def test_a_declaration_shows_at_the_next_request(client, world):
    t = world.tenants
    client.force_login(t.dgos)
    assert figure(page(client, HOME), "prerequisites-reached") == "0"
    assert figure(page(client, region_url("32")), "prerequisites-reached") == "0"
    declare_reached(t.member, PREREQUISITE_CODES)  # value_declare, through the indicator services
    assert figure(page(client, HOME), "prerequisites-reached") == "1"
    assert figure(page(client, region_url("32")), "prerequisites-reached") == "1"


def test_a_ledger_movement_shows_at_the_next_request(client, world):
    t = world.tenants
    client.force_login(t.ars_a)
    assert figure(page(client, region_url("32")), "seed-paid") == "60000.00"
    with transaction.atomic():
        seed_pay(dossier_domain=world.d5, by=t.ars_a)  # the 25 000 € committed for the clinic's D5
    assert figure(page(client, region_url("32")), "seed-paid") == "85000.00"


def test_regions_do_not_share_entries(client, tenants, catalogue):
    small, large = RegionFactory(code="11", name="Île-de-France"), RegionFactory(code="84", name="Auvergne")
    bulk_region(small, 3)
    bulk_region(large, 30)
    ars_11 = user_with_role(Role.ARS_OFFICER, region=small)
    ars_84 = user_with_role(Role.ARS_OFFICER, region=large)
    client.force_login(ars_84)
    committed_84 = figure(page(client, region_url("84")), "committed")
    client.force_login(ars_11)
    assert client.get(region_url("84")).status_code == 404  # the cached region is still out of its scope
    committed_11 = figure(page(client, region_url("11")), "committed")
    assert committed_11 != committed_84
    client.force_login(ars_84)
    assert figure(page(client, region_url("84")), "committed") == committed_84


def test_the_nation_is_not_served_to_an_ars(client, world):
    t = world.tenants
    client.force_login(t.dgos)
    national = page(client, HOME)
    assert 'data-scope="national"' in national
    client.force_login(t.ars_b)
    response = client.get(HOME)
    assert response.status_code == 302 and response.url == region_url("53")
    content = page(client, region_url("53"))
    assert 'data-scope="53"' in content
    assert figure(content, "seed-committed") == "10000.00"  # region B only (the nation: 95 000)
    assert figure(national, "seed-committed") == "95000.00"


def test_pages_of_selected_dossiers_are_cached_apart(client, tenants, catalogue):
    region = RegionFactory(code="84", name="Auvergne")
    bulk_region(region, 60)  # more than one page of selected dossiers
    client.force_login(user_with_role(Role.ARS_OFFICER, region=region))
    first, second = page(client, region_url("84")), page(client, region_url("84") + "?page=2")
    references = lambda content: re.findall(r'<tr data-reference="([^"]+)">\s*<th scope="row" class="fr-cell--multiline">[^<]*<br>', content)  # noqa: E731
    assert references(first) and references(second) and not set(references(first)) & set(references(second))
    assert page(client, region_url("84") + "?page=2") == second
    assert page(client, region_url("84") + "?page=999") == second  # the last page, under its own key
    assert page(client, region_url("84") + "?page=abc") == first


def test_cache_down_still_answers_the_page(client, world, settings):
    client.force_login(world.tenants.dgos)
    expected = page(client, HOME)
    settings.CACHES = {"default": {"BACKEND": "tests.hopen.test_figure_cache.BrokenCache"}}
    assert page(client, HOME) == expected
