"""What each role reads through the API v1, by session or by token; the token endpoint; the schema and docs."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from knox.models import AuthToken
from rest_framework.test import APIClient

from tests.factories import (
    ActivityFiguresFactory,
    EstablishmentFactory,
    GhtFactory,
    RegionFactory,
    UserFactory,
    make_finess,
)

pytestmark = pytest.mark.django_db

PASSWORD = "mot-de-passe-solide-2019"
LIST_URL = "/api/v1/establishments/"
TOKEN_URL = "/api/v1/auth/token/"
ALL = {"support", "member", "clinic", "foreign"}
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


@pytest.fixture
def api():
    return APIClient()


def finess_of(tenants, keys):
    return {getattr(tenants, key).finess for key in keys}


def listed(response):
    assert response.status_code == 200, response.content
    return {row["finess"] for row in response.json()["results"]}


def token_client(user):
    client = APIClient()
    _, key = AuthToken.objects.create(user)  # knox: only the digest is stored, the key is shown once
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def session_client(user):
    client = APIClient()
    client.force_login(user)
    return client


AUTH_MODES = {"session": session_client, "token": token_client}


# --- Unauthenticated ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [LIST_URL, "detail"])
def test_unauthenticated_request_is_refused(api, tenants, path):
    if path == "detail":
        path = f"{LIST_URL}{tenants.member.finess}/"
    response = api.get(path)
    assert response.status_code in (401, 403)
    assert "results" not in response.json()
    assert tenants.member.name not in response.content.decode()


def test_unknown_or_malformed_token_is_refused(api, tenants):
    api.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    assert api.get(LIST_URL).status_code in (401, 403)
    api.credentials(HTTP_AUTHORIZATION="Token")
    assert api.get(LIST_URL).status_code in (401, 403)


def test_token_of_inactive_user_is_refused(tenants):
    client = token_client(tenants.ars_a)
    tenants.ars_a.is_active = False
    tenants.ars_a.save()
    assert client.get(LIST_URL).status_code in (401, 403)


# --- List and detail by role, by session and by token -------------------------------------------------------------


@pytest.mark.parametrize("auth", AUTH_MODES)
@pytest.mark.parametrize("role", ROLES)
def test_list_returns_exactly_the_scope(tenants, role, auth):
    client = AUTH_MODES[auth](getattr(tenants, role))
    response = client.get(LIST_URL)
    expected = finess_of(tenants, VISIBLE[role])
    assert listed(response) == expected
    assert response.json()["count"] == len(expected)
    for key in ALL - VISIBLE[role]:
        assert getattr(tenants, key).name not in response.content.decode()


@pytest.mark.parametrize("auth", AUTH_MODES)
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("target", sorted(ALL))
def test_detail_only_inside_the_scope(tenants, role, auth, target):
    client = AUTH_MODES[auth](getattr(tenants, role))
    establishment = getattr(tenants, target)
    response = client.get(f"{LIST_URL}{establishment.finess}/")
    if target in VISIBLE[role]:
        assert response.status_code == 200
        assert response.json()["finess"] == establishment.finess
        assert response.json()["name"] == establishment.name
    else:
        assert response.status_code == 404
        assert establishment.name not in response.content.decode()


def test_detail_content(tenants):
    ActivityFiguresFactory(establishment=tenants.member, source_year=2023, mco_full_days=12_345)
    response = session_client(tenants.ars_a).get(f"{LIST_URL}{tenants.member.finess}/")
    body = response.json()
    assert body["region"] == "32"
    assert body["region_name"] == "Hauts-de-France"
    assert body["ght"] == "HF-99"
    assert body["legal_entity_finess"] == tenants.member.legal_entity.finess
    assert body["activities"] == ["MCO"]
    assert body["ght_membership_source"] == "inferred"
    assert [(f["source_year"], f["mco_full_days"]) for f in body["activity_figures"]] == [(2023, 12_345)]


def test_list_row_content(tenants):
    response = session_client(tenants.dgos).get(LIST_URL, {"search": tenants.clinic.finess})
    (row,) = response.json()["results"]
    assert row["status"] == "private_for_profit"
    assert row["ght"] is None
    assert row["region"] == "32"
    assert "activity_figures" not in row


def test_detail_unknown_finess_is_404(tenants):
    assert session_client(tenants.dgos).get(f"{LIST_URL}{make_finess()}/").status_code == 404


@pytest.mark.parametrize("bad", ["999999999", "12345", "2C0000024"])
def test_detail_malformed_finess_is_a_400_with_the_reason(tenants, bad):
    response = session_client(tenants.dgos).get(f"{LIST_URL}{bad}/")
    assert response.status_code == 400
    assert "FINESS" in response.json()["finess"][0]


def test_espic_filter_matches_the_pages(tenants):
    espic = EstablishmentFactory(region=tenants.region_a, status="private_non_profit", is_espic=True)
    EstablishmentFactory(region=tenants.region_a, status="private_non_profit", is_espic=False)
    assert listed(session_client(tenants.dgos).get(LIST_URL, {"status": "espic"})) == {espic.finess}


def test_token_endpoint_is_throttled(api, tenants, settings):
    from django.core.cache import cache

    # The throttle reads its rates at each request (hopen/accounts/throttling.py): a settings change is obeyed.
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"token": "3/minute"}}
    cache.clear()
    statuses = [
        api.post(TOKEN_URL, {"email": tenants.dgos.email, "password": "devine"}, format="json").status_code
        for _ in range(4)
    ]
    assert statuses == [400, 400, 400, 429]


def test_api_is_read_only(tenants):
    client = session_client(tenants.admin)
    assert client.post(LIST_URL, {"finess": "990000000"}, format="json").status_code == 405
    assert client.delete(f"{LIST_URL}{tenants.member.finess}/").status_code == 405
    assert client.patch(f"{LIST_URL}{tenants.member.finess}/", {"name": "X"}, format="json").status_code == 405


# --- Filters ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"region": "32"}, {"support", "member", "clinic"}),
        ({"region": "53"}, {"foreign"}),
        ({"status": "private_for_profit"}, {"clinic"}),
        ({"status": "public"}, {"support", "member", "foreign"}),
        ({"ght": "HF-99"}, {"support", "member"}),
        ({"search": "clinique"}, {"clinic"}),
        ({"search": "bretagne"}, {"foreign"}),
        ({"region": "32", "status": "public"}, {"support", "member"}),
        ({"region": "53", "ght": "HF-99"}, set()),
    ],
)
def test_filters_for_national_user(tenants, params, expected):
    assert listed(session_client(tenants.dgos).get(LIST_URL, params)) == finess_of(tenants, expected)


def test_filter_category_and_search_by_finess(tenants):
    clcc = EstablishmentFactory(region=tenants.region_b, status="clcc", category_code="131", category_label="CLCC")
    client = session_client(tenants.dgos)
    assert listed(client.get(LIST_URL, {"category": "131"})) == {clcc.finess}
    assert listed(client.get(LIST_URL, {"status": "clcc"})) == {clcc.finess}
    assert listed(client.get(LIST_URL, {"search": tenants.member.finess})) == {tenants.member.finess}
    assert listed(client.get(LIST_URL, {"search": tenants.member.legal_entity.finess})) == {tenants.member.finess}


def test_invalid_status_filter_is_a_400(tenants):
    response = session_client(tenants.dgos).get(LIST_URL, {"status": "n-importe-quoi"})
    assert response.status_code == 400
    assert "status" in response.json()


@pytest.mark.parametrize("auth", AUTH_MODES)
@pytest.mark.parametrize(
    "params", [{"region": "53"}, {"search": "Bretagne"}, {"status": "public", "region": "53"}, {"search": "finess"}]
)
def test_filters_never_reach_outside_the_scope(tenants, auth, params):
    if params == {"search": "finess"}:
        params = {"search": tenants.foreign.finess}
    response = AUTH_MODES[auth](tenants.ars_a).get(LIST_URL, params)
    assert listed(response) == set()
    assert response.json()["count"] == 0


def test_editor_filter_on_own_ght_shows_only_own_establishment(tenants):
    assert listed(session_client(tenants.editor).get(LIST_URL, {"ght": "HF-99"})) == {tenants.member.finess}


def test_pagination_by_50(tenants):
    for _ in range(55):
        EstablishmentFactory(region=tenants.region_a)
    client = session_client(tenants.ars_a)
    first = client.get(LIST_URL).json()
    assert first["count"] == 58
    assert len(first["results"]) == 50
    assert first["next"].endswith("?page=2")
    second = client.get(first["next"]).json()
    assert len(second["results"]) == 8
    assert second["next"] is None


# --- Query count --------------------------------------------------------------------------------------------------


def _add_establishments(region, count):
    ght = GhtFactory(region=region)
    for i in range(count):
        establishment = EstablishmentFactory(region=region, ght=ght if i % 2 else None)
        ActivityFiguresFactory(establishment=establishment)


def _count_queries(client, params=None):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(LIST_URL, params or {})
    assert response.status_code == 200
    return len(queries), len(response.json()["results"])


@pytest.mark.parametrize("auth", AUTH_MODES)
@pytest.mark.parametrize("role", ["ars_a", "editor", "dgos"])
def test_list_query_count_does_not_depend_on_the_number_of_rows(tenants, role, auth, django_assert_max_num_queries):
    client = AUTH_MODES[auth](getattr(tenants, role))
    _add_establishments(tenants.region_a, 5)
    _count_queries(client)  # the session's first request after login refreshes its expiry (hopen.session_expiry)
    few, few_rows = _count_queries(client)
    _add_establishments(tenants.region_a, 60)
    _add_establishments(RegionFactory(), 5)
    many, many_rows = _count_queries(client)
    if role != "editor":
        assert few_rows < many_rows == 50
    assert many == few
    # Session: load of the session and the user (no save: the expiry is refreshed at most every five minutes);
    # token: one join, then knox's look for the user's expired tokens. Then roles, count, page.
    with django_assert_max_num_queries({"session": 5, "token": 5}[auth]):
        client.get(LIST_URL, {"status": "public", "ght": "HF-99", "search": "CH"})


def test_detail_query_count_is_bounded(tenants, django_assert_max_num_queries):
    for year in (2021, 2022, 2023):
        ActivityFiguresFactory(establishment=tenants.member, source_year=year)
    client = token_client(tenants.ars_a)
    with django_assert_max_num_queries(6):
        response = client.get(f"{LIST_URL}{tenants.member.finess}/")
    assert [f["source_year"] for f in response.json()["activity_figures"]] == [2023, 2022, 2021]


# --- Token endpoint -----------------------------------------------------------------------------------------------


def test_token_obtained_with_email_and_password_works(api, tenants):
    response = api.post(TOKEN_URL, {"email": tenants.ars_a.email.upper(), "password": PASSWORD}, format="json")
    assert response.status_code == 200
    key = response.json()["token"]
    # Stored hashed (knox): the key itself is nowhere in the table, only its digest and a short lookup prefix.
    stored = AuthToken.objects.get(user=tenants.ars_a)
    assert key not in (stored.digest, stored.token_key) and key.startswith(stored.token_key)
    assert response.json()["expires"]
    # Asking again gives another token; both work until they expire.
    again = api.post(TOKEN_URL, {"email": tenants.ars_a.email, "password": PASSWORD}, format="json")
    assert again.json()["token"] != key
    assert AuthToken.objects.filter(user=tenants.ars_a).count() == 2

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert listed(client.get(LIST_URL)) == finess_of(tenants, VISIBLE["ars_a"])
    assert client.get(f"{LIST_URL}{tenants.foreign.finess}/").status_code == 404


def test_token_with_form_encoded_body(api, tenants):
    response = api.post(TOKEN_URL, {"email": tenants.dgos.email, "password": PASSWORD})
    assert response.status_code == 200
    assert len(response.json()["token"]) == 64


@pytest.mark.parametrize(
    "email, password",
    [("right", "mauvais-mot-de-passe"), ("personne@test.hopen.fr", PASSWORD), ("right", "")],
)
def test_token_refused_with_wrong_credentials(api, tenants, email, password):
    email = tenants.ars_a.email if email == "right" else email
    response = api.post(TOKEN_URL, {"email": email, "password": password}, format="json")
    assert response.status_code == 400
    assert "token" not in response.json()
    assert not AuthToken.objects.filter(user=tenants.ars_a).exists()
    if password:
        assert "Adresse électronique ou mot de passe incorrect." in str(response.json())


def test_token_refused_for_inactive_user(api, db):
    user = UserFactory(is_active=False)
    response = api.post(TOKEN_URL, {"email": user.email, "password": PASSWORD}, format="json")
    assert response.status_code == 400
    assert "Adresse électronique ou mot de passe incorrect." in str(response.json())


def test_token_endpoint_rejects_get(api, db):
    assert api.get(TOKEN_URL).status_code == 405


# --- Schema and documentation -------------------------------------------------------------------------------------


def test_openapi_schema(api, tenants):
    """The schema is for the API's users: anonymous answers 401/403 (issue 15, item 6)."""
    assert api.get("/api/schema/").status_code in (401, 403)
    api.force_login(tenants.dgos)
    response = api.get("/api/schema/")
    assert response.status_code == 200
    text = response.content.decode()
    assert "/api/v1/establishments/" in text
    assert "/api/v1/establishments/{finess}/" in text
    assert "/api/v1/auth/token/" in text
    assert "API HOP'EN" in text


def test_openapi_schema_as_json(api, tenants):
    api.force_login(tenants.editor)
    response = api.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    assert "/api/v1/establishments/" in schema["paths"]
    parameters = {p["name"] for p in schema["paths"]["/api/v1/establishments/"]["get"]["parameters"]}
    assert {"region", "status", "category", "ght", "search", "page"} <= parameters


def test_swagger_docs_page(client, tenants):
    anonymous = client.get("/api/docs/")
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/compte/connexion/")
    client.force_login(tenants.dgos)
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<div id="swagger-ui"></div>' in html
    # The split view serves its init script from our origin (no inline script: CSP).
    assert "/api/docs/?script=" in html
    script = client.get("/api/docs/", {"script": ""})
    assert script.status_code == 200
    assert "/api/schema/" in script.content.decode()


def test_user_without_any_role_reads_nothing(tenants):
    client = token_client(UserFactory())
    assert listed(client.get(LIST_URL)) == set()
    for key in ALL:
        assert client.get(f"{LIST_URL}{getattr(tenants, key).finess}/").status_code == 404
