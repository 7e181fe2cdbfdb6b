"""What each role sees on the HTML pages: home, establishment list and detail, audit trail.

The `tenants` fixture (tests/conftest.py) gives two regions: A (32, Hauts-de-France) with a GHT
(support + member) and a private clinic, B (53, Bretagne) with one hospital; and one user per role.
"""

import re
from urllib.parse import quote

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import EstablishmentFactory, GhtFactory, RegionFactory, make_finess

pytestmark = pytest.mark.django_db

ALL = {"support", "member", "clinic", "foreign"}

# Establishments (by fixture attribute) each role may read.
VISIBLE = {
    "editor": {"member"},
    "director": {"member"},
    "ght_director": {"support", "member"},
    "ars_a": {"support", "member", "clinic"},
    "ars_b": {"foreign"},
    "dgos": ALL,
    "auditor": ALL,
    "admin": ALL,
}
ROLES = list(VISIBLE)
NAMES = {"support": "CH Support", "member": "CH Membre", "clinic": "Clinique du Nord", "foreign": "CH de Bretagne"}

LIST_URL = "/etablissements/"
ROW_FINESS = re.compile(r'<td class="hopen-nowrap">(\d{2}[0-9AB]\d{6})</td>')


def listed_finess(response):
    """FINESS numbers of the rows of the rendered establishment table."""
    html = response.content.decode()
    tbody = html.split('id="liste-etablissements"', 1)[1].split("</tbody>", 1)[0]
    return set(ROW_FINESS.findall(tbody))


def finess_of(tenants, keys):
    return {getattr(tenants, key).finess for key in keys}


# --- Anonymous users ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", LIST_URL, "detail", "/piste-audit/"])
def test_anonymous_user_is_sent_to_login_page(client, tenants, path):
    if path == "detail":
        path = f"/etablissements/{tenants.member.finess}/"
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == f"/compte/connexion/?next={quote(path)}"


# --- Home page ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "role, heading, absent",
    [
        ("editor", "<h1>Mes établissements</h1>", ["Vue nationale", "CH Support", "Clinique du Nord", "Bretagne"]),
        ("director", "<h1>Mes établissements</h1>", ["Vue nationale", "CH Support", "Clinique du Nord", "Bretagne"]),
        ("ght_director", "<h1>Mes établissements</h1>", ["Vue nationale", "Clinique du Nord", "CH de Bretagne"]),
        ("ars_a", "<h1>Hauts-de-France — établissements de la région</h1>", ["Vue nationale", "Bretagne"]),
        ("ars_b", "<h1>Bretagne — établissements de la région</h1>", ["Vue nationale", "Hauts-de-France"]),
        ("dgos", "<h1>Vue nationale du programme HOP'EN</h1>", ["Mes établissements"]),
        ("auditor", "<h1>Vue nationale du programme HOP'EN</h1>", ["Mes établissements"]),
        ("admin", "<h1>Vue nationale du programme HOP'EN</h1>", ["Mes établissements"]),
    ],
)
def test_home_page_matches_the_role(client, tenants, role, heading, absent):
    client.force_login(getattr(tenants, role))
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert heading in html
    for text in absent:
        assert text not in html


@pytest.mark.parametrize("role", ["editor", "director"])
def test_establishment_home_lists_exactly_the_own_establishments(client, tenants, role):
    client.force_login(getattr(tenants, role))
    response = client.get("/")
    assert {e.finess for e in response.context["establishments"]} == finess_of(tenants, VISIBLE[role])
    html = response.content.decode()
    for key in VISIBLE[role]:
        assert NAMES[key] in html


def test_ght_director_home_lists_the_ght_members_apart_from_own_establishments(client, tenants):
    client.force_login(tenants.ght_director)
    response = client.get("/")
    assert list(response.context["establishments"]) == []  # holds no establishment role itself
    [ght] = response.context["support_ghts"]
    assert {e.finess for e in ght.members.all()} == finess_of(tenants, VISIBLE["ght_director"])
    html = response.content.decode()
    assert NAMES["support"] in html and NAMES["member"] in html


def test_ght_director_home_links_to_the_ght_members(client, tenants):
    client.force_login(tenants.ght_director)
    html = client.get("/").content.decode()
    assert f'href="{LIST_URL}?ght=HF-99"' in html


@pytest.mark.parametrize(
    "role, regions",
    [("ars_a", {"Hauts-de-France": 3}), ("ars_b", {"Bretagne": 1}), ("dgos", {"Hauts-de-France": 3, "Bretagne": 1})],
)
def test_region_and_national_home_count_only_the_scope(client, tenants, role, regions):
    client.force_login(getattr(tenants, role))
    response = client.get("/")
    assert {row.name: row.total for row in response.context["region_counts"]} == regions
    assert response.context["total"] == sum(regions.values())


# --- Establishment list -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_list_shows_exactly_the_scope(client, tenants, role):
    client.force_login(getattr(tenants, role))
    response = client.get(LIST_URL)
    assert response.status_code == 200
    expected = finess_of(tenants, VISIBLE[role])
    assert {e.finess for e in response.context["page"].object_list} == expected
    assert listed_finess(response) == expected
    html = response.content.decode()
    for key in ALL - VISIBLE[role]:
        assert NAMES[key] not in html
        assert getattr(tenants, key).finess not in html


def test_list_never_offers_a_foreign_region_in_the_filters(client, tenants):
    client.force_login(tenants.ars_a)
    response = client.get(LIST_URL)
    assert [code for code, _ in response.context["form"].fields["region"].choices] == ["", "32"]
    assert "Bretagne" not in response.content.decode()


@pytest.mark.parametrize("role", ["ars_a", "editor", "ght_director"])
def test_list_region_filter_on_a_foreign_region_shows_nothing_foreign(client, tenants, role):
    client.force_login(getattr(tenants, role))
    response = client.get(LIST_URL, {"region": "53"})
    assert response.status_code == 200
    assert tenants.foreign.finess not in listed_finess(response)
    assert "CH de Bretagne" not in response.content.decode()
    assert all(e.region_id == tenants.region_a.pk for e in response.context["page"].object_list)


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"q": "clinique"}, {"clinic"}),
        ({"q": "CH "}, {"support", "member", "foreign"}),
        ({"q": "Bretagne"}, {"foreign"}),
        ({"region": "32"}, {"support", "member", "clinic"}),
        ({"region": "53"}, {"foreign"}),
        ({"sector": "private"}, {"clinic"}),
        ({"sector": "public"}, {"support", "member", "foreign"}),
        ({"ght": "HF-99"}, {"support", "member"}),
        ({"region": "32", "sector": "public"}, {"support", "member"}),
    ],
)
def test_list_filters_for_national_user(client, tenants, params, expected):
    client.force_login(tenants.dgos)
    response = client.get(LIST_URL, params)
    assert response.context["form"].is_valid(), response.context["form"].errors
    assert listed_finess(response) == finess_of(tenants, expected)


def test_list_search_by_exact_finess(client, tenants):
    client.force_login(tenants.dgos)
    response = client.get(LIST_URL, {"q": tenants.clinic.finess})
    assert listed_finess(response) == {tenants.clinic.finess}
    # A FINESS fragment is not a FINESS: no match on the number, only on names and cities.
    response = client.get(LIST_URL, {"q": tenants.clinic.finess[:-1]})
    assert listed_finess(response) == set()


def test_list_search_by_legal_entity_finess(client, tenants):
    client.force_login(tenants.dgos)
    response = client.get(LIST_URL, {"q": tenants.member.legal_entity.finess})
    assert listed_finess(response) == {tenants.member.finess}


def test_list_search_by_foreign_finess_finds_nothing_for_ars(client, tenants):
    client.force_login(tenants.ars_a)
    response = client.get(LIST_URL, {"q": tenants.foreign.finess})
    assert listed_finess(response) == set()
    assert "Aucun établissement ne correspond à ces critères." in response.content.decode()


def test_list_filter_espic_and_category(client, tenants):
    espic = EstablishmentFactory(
        region=tenants.region_a, status="private_non_profit", is_espic=True, name="Hôpital ESPIC du Nord"
    )
    non_profit = EstablishmentFactory(region=tenants.region_a, status="private_non_profit", name="Association du Nord")
    clcc = EstablishmentFactory(
        region=tenants.region_b, status="clcc", category_code="131", category_label="Centre de lutte contre le cancer"
    )
    client.force_login(tenants.dgos)

    # One sector rule (hopen.sectors, the ledger's): ESPIC = ESPIC-qualified establishments and the CLCCs;
    # privé = every other private establishment, non-profit or not.
    response = client.get(LIST_URL, {"sector": "espic"})
    assert listed_finess(response) == {espic.finess, clcc.finess}
    assert "Privé non lucratif (ESPIC)" in response.content.decode()

    response = client.get(LIST_URL, {"sector": "private"})
    assert listed_finess(response) == {tenants.clinic.finess, non_profit.finess}

    response = client.get(LIST_URL, {"category": "131"})
    assert listed_finess(response) == {clcc.finess}


def test_the_sector_filter_and_the_home_table_use_the_ledgers_rule(client, tenants):
    """004 / §5.1 « publics, privés, ESPIC »: the home's table splits each region by the sectors of the ledger and
    of the dashboards (`hopen.sectors.sector_of`), the establishment filter offers the same three values."""
    from hopen.sectors import sector_of

    EstablishmentFactory(region=tenants.region_a, status="private_non_profit", is_espic=True)
    EstablishmentFactory(region=tenants.region_a, status="clcc")
    EstablishmentFactory(region=tenants.region_a, status="private_non_profit")
    client.force_login(tenants.dgos)

    from hopen.models import Establishment
    from hopen.selectors import establishment_counts_by_region

    expected = {"public": 0, "private": 0, "espic": 0}
    for status, is_espic in Establishment.objects.filter(region=tenants.region_a).values_list("status", "is_espic"):
        expected[sector_of(status, is_espic)] += 1
    row = next(r for r in establishment_counts_by_region(tenants.dgos) if r.code == "32")
    assert {key: getattr(row, key) for key in expected} == expected == {"public": 2, "private": 2, "espic": 2}
    assert row.total == 6
    choices = [value for value, _ in client.get(LIST_URL).context["form"].fields["sector"].choices]
    assert choices == ["", "public", "private", "espic"]


def test_list_filter_choices_are_limited_to_the_scope(client, tenants):
    EstablishmentFactory(region=tenants.region_b, category_code="131", category_label="CLCC")
    GhtFactory(region=tenants.region_b, code="BR-01")
    client.force_login(tenants.ars_a)
    form = client.get(LIST_URL).context["form"]
    assert [code for code, _ in form.fields["category"].choices] == ["", "355"]
    assert [code for code, _ in form.fields["ght"].choices] == ["", "HF-99"]


def test_ght_director_filter_on_own_ght_lists_the_members(client, tenants):
    other_member = EstablishmentFactory(region=tenants.region_a, ght=tenants.ght, name="CH Autre membre")
    client.force_login(tenants.ght_director)
    response = client.get(LIST_URL, {"ght": "HF-99"})
    assert listed_finess(response) == {tenants.support.finess, tenants.member.finess, other_member.finess}


def test_list_pagination_by_25(client, tenants):
    extra = [EstablishmentFactory(region=tenants.region_a, name=f"Établissement paginé {i:02d}") for i in range(30)]
    client.force_login(tenants.ars_a)
    expected = {e.finess for e in extra} | finess_of(tenants, VISIBLE["ars_a"])

    first = client.get(LIST_URL)
    assert first.context["page"].paginator.count == 33
    assert first.context["page"].paginator.num_pages == 2
    assert "33\xa0établissements" in first.content.decode()
    first_rows = listed_finess(first)
    assert len(first_rows) == 25
    assert "?page=2" in first.content.decode()

    second = client.get(LIST_URL, {"page": 2})
    second_rows = listed_finess(second)
    assert len(second_rows) == 8
    assert first_rows.isdisjoint(second_rows)
    assert first_rows | second_rows == expected

    # Out-of-range and junk page numbers fall back to a valid page, never to an error.
    assert listed_finess(client.get(LIST_URL, {"page": 99})) == second_rows
    assert listed_finess(client.get(LIST_URL, {"page": "abc"})) == first_rows


def test_pagination_keeps_the_filters(client, tenants):
    for i in range(30):
        EstablishmentFactory(region=tenants.region_a, status="private_for_profit", name=f"Clinique {i:02d}")
    client.force_login(tenants.ars_a)
    response = client.get(LIST_URL, {"sector": "private", "page": 2})
    rows = listed_finess(response)
    assert len(rows) == 31 - 25
    assert "sector=private&amp;page=1" in response.content.decode() or (
        "sector=private&page=1" in response.content.decode()
    )


def _add_establishments(region, count):
    ght = GhtFactory(region=region)
    for i in range(count):
        EstablishmentFactory(region=region, ght=ght if i % 2 else None, status="public" if i % 3 else "clcc")


def _list_queries(client, params=None):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(LIST_URL, params or {})
    assert response.status_code == 200
    return len(queries), response


@pytest.mark.parametrize("role", ["ars_a", "editor", "dgos"])
def test_list_query_count_does_not_depend_on_the_number_of_rows(
    client, tenants, role, django_assert_max_num_queries
):
    client.force_login(getattr(tenants, role))
    _add_establishments(tenants.region_a, 5)
    _list_queries(client)  # the session's first request after login refreshes its expiry (hopen.session_expiry)
    few, response = _list_queries(client)
    few_rows = len(listed_finess(response))

    _add_establishments(tenants.region_a, 55)
    _add_establishments(RegionFactory(), 5)
    many, response = _list_queries(client)
    many_rows = len(listed_finess(response))
    if role != "editor":
        assert many_rows == 25 and few_rows < many_rows

    assert many == few
    # The programme switcher of the header reads the programmes offered (issue 11), once per page; the session is
    # read, not rewritten (hopen.session_expiry refreshes it at most every five minutes); the filter bar's regions,
    # categories and GHTs are one statement (issue 17).
    with django_assert_max_num_queries(8):
        client.get(LIST_URL)
    with django_assert_max_num_queries(8):
        client.get(LIST_URL, {"sector": "public", "page": 2, "q": "test"})


def test_list_query_count_with_filters_is_constant(client, tenants, django_assert_num_queries):
    client.force_login(tenants.ars_a)
    _add_establishments(tenants.region_a, 5)
    _list_queries(client)  # the session's first request after login refreshes its expiry
    few, _ = _list_queries(client, {"sector": "public"})
    _add_establishments(tenants.region_a, 60)
    with django_assert_num_queries(few):
        client.get(LIST_URL, {"sector": "public"})


# --- Establishment detail -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("target", sorted(ALL))
def test_detail_only_inside_the_scope(client, tenants, role, target):
    client.force_login(getattr(tenants, role))
    establishment = getattr(tenants, target)
    response = client.get(f"/etablissements/{establishment.finess}/")
    if target in VISIBLE[role]:
        assert response.status_code == 200
        assert f"<h1>{NAMES[target]}</h1>" in response.content.decode()
    else:
        assert response.status_code == 404
        assert NAMES[target] not in response.content.decode()


def test_detail_of_unknown_finess_is_404(client, tenants):
    client.force_login(tenants.dgos)
    assert client.get("/etablissements/999999999/").status_code == 404


def test_detail_accepts_lowercase_corsican_finess(client, tenants):
    corsica = RegionFactory(code="94", name="Corse")
    establishment = EstablishmentFactory(region=corsica, finess=make_finess("2A"), name="CH de Corse")
    client.force_login(tenants.dgos)
    response = client.get(f"/etablissements/{establishment.finess.lower()}/")
    assert response.status_code == 200
    assert establishment.name in response.content.decode()


@pytest.mark.parametrize(
    "role, can_enter",
    [
        ("editor", True),
        ("director", True),
        ("ght_director", False),
        ("ars_a", False),
        ("dgos", False),
        ("auditor", False),
        ("admin", False),
    ],
)
def test_detail_tells_who_may_enter_data(client, tenants, role, can_enter):
    client.force_login(getattr(tenants, role))
    response = client.get(f"/etablissements/{tenants.member.finess}/")
    assert response.context["can_enter_data"] is can_enter
    assert ("Vous pouvez saisir les données de cet établissement." in response.content.decode()) is can_enter


# --- Audit trail --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_audit_trail_reserved_to_auditor_and_admin(client, tenants, role):
    client.force_login(getattr(tenants, role))
    response = client.get("/piste-audit/")
    allowed = role in {"auditor", "admin"}
    assert response.status_code == (200 if allowed else 403)
    home = client.get("/").content.decode()
    assert ('href="/piste-audit/"' in home) is allowed


def test_audit_trail_lists_and_searches_records(client, tenants):
    client.force_login(tenants.auditor)
    response = client.get("/piste-audit/")
    # The fixture's role assignments are audited.
    assert response.context["page"].paginator.count >= 8
    assert "Habilitation attribuée" in response.content.decode()
    response = client.get("/piste-audit/", {"q": tenants.ars_b.email})
    assert [record.action for record in response.context["page"]] == ["role.assign"]
    assert tenants.ars_b.email in response.content.decode()
    response = client.get("/piste-audit/", {"q": "role.assign"})
    assert all(record.action == "role.assign" for record in response.context["page"])


@pytest.mark.parametrize(
    "role, params, expected",
    [
        # Region 53 is not a choice offered to ARS A: that filter is dropped, the status filter still applies.
        ("ars_a", {"region": "53", "sector": "private"}, {"clinic"}),
        ("dgos", {"category": "999", "sector": "public", "region": "32"}, {"support", "member"}),
        ("dgos", {"q": "x" * 101, "ght": "HF-99"}, {"support", "member"}),
    ],
)
def test_an_invalid_filter_value_does_not_cancel_the_other_filters(client, tenants, role, params, expected):
    client.force_login(getattr(tenants, role))
    response = client.get(LIST_URL, params)
    assert response.status_code == 200
    assert listed_finess(response) == finess_of(tenants, expected)


def test_user_without_any_role_sees_nothing(client, tenants):
    from tests.factories import UserFactory

    client.force_login(UserFactory())
    home = client.get("/").content.decode()
    assert "Aucune habilitation" in home
    assert "Aucun établissement n&#x27;est rattaché à votre compte." in home or (
        "Aucun établissement n'est rattaché à votre compte." in home
    )
    response = client.get(LIST_URL)
    assert listed_finess(response) == set()
    assert response.context["form"].fields["region"].choices == [("", "Toutes les régions")]
    for key in ALL:
        assert client.get(f"/etablissements/{getattr(tenants, key).finess}/").status_code == 404
    assert client.get("/piste-audit/").status_code == 403
