"""API v1 `GET /api/v1/funding/estimate/`: category and amounts per domain for a combined activity or an establishment.

Sources (../shared/reference/000_eb8a7a77b11ba617.txt): annex 3 §3 — categories A 0–7 000, B 7 000–22 500,
C 22 500–230 000, D 230 000 and more; min–max per domain, the advanced rate of D1 and D6 « intègre un bonus de
+20 % du forfait standard »; « Pour les établissements d'activité combinée supérieure à 1 000 000 unités, le
montant du soutien financier est fixe, égal au montant maximum (« cap ») ». Annex 5, first section: the estimate
per domain of the identified establishment.
"""

from decimal import ROUND_HALF_UP, Decimal

import pytest
from knox.models import AuthToken
from rest_framework.test import APIClient

from funding.services import combined_activity_override, combined_activity_refresh
from tests.factories import ActivityFiguresFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/funding/estimate/"
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

ESTIMATE_615000 = {
    "combined_activity": "615000.00",
    "category": "D",
    "domains": {
        "D1": {"standard": "500000.00", "advanced": "600000.00"},
        "D2": {"standard": "600000.00"},
        "D3": {"standard": "525000.00"},
        "D4": {"standard": "475000.00"},
        "D5": {"standard": "325000.00"},
        "D6": {"standard": "325000.00", "advanced": "390000.00"},
        "D7": {"standard": "287500.00"},
    },
}


def session_client(user):
    client = APIClient()
    client.force_login(user)
    return client


def token_client(user):
    client = APIClient()
    _, key = AuthToken.objects.create(user)  # knox: only the digest is stored, the key is shown once
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


@pytest.fixture
def activity(tenants, grid):
    ActivityFiguresFactory(establishment=tenants.member, mco_full_days=600_000, mco_sessions=30_000)  # 615 000
    ActivityFiguresFactory(establishment=tenants.support, mco_full_days=200_000)
    ActivityFiguresFactory(establishment=tenants.clinic, mco_full_days=5_000)
    ActivityFiguresFactory(establishment=tenants.foreign, mco_full_days=180_000)
    combined_activity_refresh()
    return tenants


# --- A typed combined activity ---------------------------------------------------------------------------------------


def test_anonymous_caller_is_refused(tenants, grid):
    assert APIClient().get(URL, {"combined_activity": "615000"}).status_code in (401, 403)


@pytest.mark.parametrize("role", ROLES)
def test_any_authenticated_user_gets_the_estimate(tenants, grid, role):
    """615 000 → category D; D1 standard = 425 000 + (575 000 − 425 000) × (615 000 − 230 000) / 770 000."""
    response = token_client(getattr(tenants, role)).get(URL, {"combined_activity": "615000"})
    assert response.status_code == 200, response.content
    assert response.json() == ESTIMATE_615000


@pytest.mark.parametrize(
    "value, category, d1_standard, d1_advanced, d7_standard",
    [
        ("0", "A", "50000.00", "60000.00", "40000.00"),
        ("3500", "A", "110000.00", "132000.00", "50000.00"),
        ("7000", "B", "170000.00", "204000.00", "60000.00"),  # boundary: upper category, continuous amount
        ("22500", "C", "275000.00", "330000.00", "105000.00"),
        ("229999.99", "C", "424999.99", "509999.99", "224999.99"),
        ("230000", "D", "425000.00", "510000.00", "225000.00"),
        ("1000000", "D", "575000.00", "690000.00", "350000.00"),
        ("2500000.5", "D", "575000.00", "690000.00", "350000.00"),  # cap
    ],
)
def test_categories_bounds_and_cap(tenants, grid, value, category, d1_standard, d1_advanced, d7_standard):
    data = session_client(tenants.editor).get(URL, {"combined_activity": value}).json()
    assert data["category"] == category
    assert data["domains"]["D1"] == {"standard": d1_standard, "advanced": d1_advanced}
    assert data["domains"]["D7"] == {"standard": d7_standard}


@pytest.mark.parametrize("value", ["1175", "15000", "100000", "615000", "999999.99"])
def test_advanced_rate_is_the_standard_plus_twenty_percent(tenants, grid, value):
    """Annex 3 §3: « Un forfait avancé qui intègre un bonus de +20% du forfait standard » (D1 and D6)."""
    domains = session_client(tenants.editor).get(URL, {"combined_activity": value}).json()["domains"]
    for domain in ("D1", "D6"):
        standard, advanced = Decimal(domains[domain]["standard"]), Decimal(domains[domain]["advanced"])
        assert advanced == (standard * Decimal("1.2")).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP), domain
    assert all("advanced" not in domains[d] for d in ("D2", "D3", "D4", "D5", "D7"))


@pytest.mark.parametrize(
    "query, field, message",
    [
        ({"combined_activity": "-1"}, "combined_activity", "L'activité combinée ne peut pas être négative."),
        ({"combined_activity": "abc"}, "combined_activity", "« abc » n'est pas un nombre"),
        ({"combined_activity": "1e9"}, "combined_activity", "« 1e9 » n'est pas un nombre"),
        ({"combined_activity": "Infinity"}, "combined_activity", "« Infinity » n'est pas un nombre"),
        ({"combined_activity": "9" * 20}, "combined_activity", "Ce nombre est trop grand."),
        ({}, "detail", "Indiquez l'activité combinée (paramètre combined_activity"),
        ({"combined_activity": ""}, "detail", "Indiquez l'activité combinée (paramètre combined_activity"),
        ({"combined_activity": "615000", "finess": "020000162"}, "detail", "pas les deux"),
        ({"finess": "12345"}, "finess", "doit comporter 9 caractères"),
    ],
)
def test_bad_queries_answer_400_in_french(tenants, grid, query, field, message):
    response = session_client(tenants.dgos).get(URL, query)
    assert response.status_code == 400
    body = response.json()[field]
    text = body if isinstance(body, str) else " ".join(body)
    assert message in text


def test_french_number_formats_are_accepted(tenants, grid):
    data = session_client(tenants.editor).get(URL, {"combined_activity": "615 000,00"}).json()
    assert data["combined_activity"] == "615000.00"
    assert data["domains"]["D1"]["standard"] == "500000.00"


# --- An establishment ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("key", sorted(ALL))
def test_establishment_estimate_follows_the_reading_scope(activity, role, key):
    response = token_client(getattr(activity, role)).get(URL, {"finess": getattr(activity, key).finess})
    assert response.status_code == (200 if key in VISIBLE[role] else 404), response.content


def test_establishment_estimate_uses_its_combined_activity(activity):
    response = session_client(activity.director).get(URL, {"finess": activity.member.finess})
    assert response.json() == ESTIMATE_615000


def test_establishment_estimate_uses_the_administrator_override(activity):
    combined_activity_override(
        establishment=activity.clinic, value=Decimal("7000"), reason="Activité 2017 de l'ATIH", by=activity.admin
    )
    data = session_client(activity.ars_a).get(URL, {"finess": activity.clinic.finess.lower()}).json()
    assert data["combined_activity"] == "7000.00"
    assert data["category"] == "B"
    assert data["domains"]["D2"] == {"standard": "250000.00"}


def test_establishment_without_combined_activity_answers_404_with_a_reason(tenants, grid):
    response = session_client(tenants.dgos).get(URL, {"finess": tenants.foreign.finess})
    assert response.status_code == 404
    assert "Aucune activité combinée" in response.json()["detail"]


def test_out_of_scope_404_does_not_reveal_the_establishment(activity):
    response = session_client(activity.ars_b).get(URL, {"finess": activity.member.finess})
    assert response.status_code == 404
    assert response.json()["detail"] == "Établissement introuvable."


def test_missing_grid_is_a_clear_503(tenants, catalogue):
    response = session_client(tenants.dgos).get(URL, {"combined_activity": "1000"})
    assert response.status_code == 503
    assert "grille des montants" in response.json()["detail"]


def test_schema_documents_the_endpoint(tenants):
    response = session_client(tenants.dgos).get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = response.json()
    operation = schema["paths"]["/api/v1/funding/estimate/"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {"combined_activity", "finess"}
    estimate = schema["components"]["schemas"]["Estimate"]
    assert set(estimate["properties"]) == {"combined_activity", "category", "domains"}
    domains = schema["components"]["schemas"]["DomainAmounts"]["properties"]
    assert set(domains) == {"D1", "D2", "D3", "D4", "D5", "D6", "D7"}
