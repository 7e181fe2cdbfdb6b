"""API v1 of the envelopes: balances per region as decimal strings (the issue's field list), scope, the read-only
ledger, the DGOS's redeployment."""

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from envelopes.models import LedgerEntry
from envelopes.services import refund_claims_for, seed_commit, seed_pay
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
D = Decimal
FIELDS = {
    "programme", "region", "region_name", "total", "seed_total", "usage_total", "seed_committed", "seed_paid", "usage_committed",
    "usage_paid", "refunds_claimed", "refunds_received", "available",
    # Annex 2 §2 (refunds deducted from the envelope) and §3 (credits delegated, the rest « à déléguer »).
    "refunds_deducted", "delegated", "to_delegate", "seed_delegated", "seed_to_delegate", "usage_delegated",
    "usage_to_delegate",
}


def client_for(user):
    client = APIClient()
    client.force_login(user)
    return client


def test_envelope_list_fields_are_decimal_strings_in_euros(tenants, envelope_a, make_domain):
    domain = make_domain(tenants.member)
    seed_commit(dossier_domain=domain, amount=D("30000"), is_derogatory=True, by=tenants.ars_a)
    seed_pay(dossier_domain=domain, by=tenants.ars_a)
    refund_claims_for(dossier_domains=[domain], pots={"seed"}, reason="Prérequis", key_prefix="p")
    response = client_for(tenants.ars_a).get("/api/v1/envelopes/")
    assert response.status_code == 200
    [row] = response.json()
    assert set(row) == FIELDS
    assert row == {
        "programme": "HOPEN", "region": "32", "region_name": "Hauts-de-France", "total": "500000.00", "seed_total": "100000.00",
        "usage_total": "400000.00", "seed_committed": "30000.00", "seed_paid": "30000.00", "usage_committed": "0.00",
        "usage_paid": "0.00", "refunds_claimed": "30000.00", "refunds_received": "0.00", "available": "470000.00",
        "refunds_deducted": "0.00", "delegated": "500000.00", "to_delegate": "0.00", "seed_delegated": "100000.00",
        "seed_to_delegate": "0.00", "usage_delegated": "400000.00", "usage_to_delegate": "0.00",
    }


def test_dgos_reads_the_18_regions_in_constant_queries(all_envelopes, django_assert_max_num_queries):
    client = client_for(all_envelopes.dgos)
    # Session, user, roles: 3; session save and its savepoint pair: 3; envelopes, then their balances: 2; the
    # request's programme (issue 11: the programmes offered): 1.
    with django_assert_max_num_queries(9):
        response = client.get("/api/v1/envelopes/")
    rows = response.json()
    assert len(rows) == 18
    by_region = {row["region"]: row for row in rows}
    # Annex 2 §1: Ile-de-France 73 878 k€, 20 % seed.
    assert by_region["11"]["total"] == "73878000.00"
    assert by_region["11"]["seed_total"] == "14775600.00"
    assert all(set(row) == FIELDS for row in rows)


@pytest.mark.parametrize("role", ["editor", "director", "ght_director"])
def test_establishment_roles_read_no_envelope(tenants, envelope_a, role):
    client = client_for(getattr(tenants, role))
    assert client.get("/api/v1/envelopes/").json() == []
    assert client.get("/api/v1/envelopes/32/").status_code == 404
    assert client.get("/api/v1/envelopes/32/entries/").status_code == 404


def test_anonymous_is_refused(tenants, envelope_a):
    assert APIClient().get("/api/v1/envelopes/").status_code in (401, 403)


def test_an_ars_reads_its_region_only(tenants, envelope_a, envelope_b):
    client = client_for(tenants.ars_b)
    assert [row["region"] for row in client.get("/api/v1/envelopes/").json()] == ["53"]
    assert client.get("/api/v1/envelopes/32/").status_code == 404
    assert client.get("/api/v1/envelopes/32/entries/").status_code == 404
    assert client.get("/api/v1/envelopes/53/").status_code == 200
    assert client.get("/api/v1/envelopes/99/").status_code == 404


def test_envelope_detail_adds_availables_derogatory_and_sectors(tenants, envelope_a, make_domain):
    seed_commit(dossier_domain=make_domain(tenants.clinic), amount=D("12000"), is_derogatory=True, by=tenants.ars_a)
    body = client_for(tenants.dgos).get("/api/v1/envelopes/32/").json()
    assert FIELDS <= set(body)
    assert (body["seed_available"], body["usage_available"]) == ("88000.00", "400000.00")
    assert body["derogatory"] == {
        "raised": False, "share_percent": 30, "ceiling": "30000.00", "used": "12000.00", "available": "18000.00", "reason": "",
    }
    assert [s["sector"] for s in body["sectors"]] == ["public", "private", "espic"]
    assert body["sectors"][1] == {
        "sector": "private", "label": "Privé", "share_percent": None, "ceiling": None, "used": "12000.00", "available": None,
    }


def test_ledger_entries_are_paginated_newest_first_and_read_only(tenants, envelope_a, make_domain, django_assert_max_num_queries):
    for establishment in (tenants.member, tenants.support, tenants.clinic):
        seed_commit(dossier_domain=make_domain(establishment), amount=D("1000"), is_derogatory=False, by=tenants.ars_a)
    client = client_for(tenants.ars_a)
    with django_assert_max_num_queries(10):  # 9 + 1: the request's programme (issue 11)
        response = client.get("/api/v1/envelopes/32/entries/")
    body = response.json()
    assert body["count"] == 7  # two allocations, two delegations, three commitments
    assert [e["sequence"] for e in body["results"]] == [7, 6, 5, 4, 3, 2, 1]
    newest = body["results"][0]
    assert newest["kind"] == "seed_commitment" and newest["amount"] == "1000.00"
    assert newest["establishment"] == tenants.clinic.finess and newest["sector"] == "private"
    assert newest["domain"] == "D2" and newest["dossier"].startswith("TEST-")
    assert newest["created_by"] == tenants.ars_a.email
    assert newest["seed_available_after"] == "97000.00"
    for method in ("post", "put", "patch", "delete"):
        assert getattr(client, method)("/api/v1/envelopes/32/entries/", {}, format="json").status_code == 405
    assert LedgerEntry.objects.count() == 7


def test_envelope_balances_are_read_only(tenants, envelope_a):
    client = client_for(tenants.dgos)
    for url in ("/api/v1/envelopes/", "/api/v1/envelopes/32/"):
        for method in ("post", "put", "patch", "delete"):
            assert getattr(client, method)(url, {}, format="json").status_code == 405


def test_dgos_redeploys_between_regions(tenants, undelegated_a, undelegated_b):
    client = client_for(tenants.dgos)
    response = client.post(
        "/api/v1/redeployments/",
        {"from_region": "32", "to_region": "53", "pot": "usage", "amount": "150000.50", "reason": "Sous-consommation"},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["given"]["kind"], body["given"]["amount"]) == ("redeployment_out", "150000.50")
    assert (body["received"]["kind"], body["received"]["counterpart"]) == ("redeployment_in", body["given"]["id"])
    rows = {row["region"]: row for row in client.get("/api/v1/envelopes/").json()}
    assert rows["32"]["usage_total"] == "249999.50"
    assert rows["53"]["usage_total"] == "350000.50"
    assert client.get("/api/v1/redeployments/").status_code == 405


def test_redeployment_refusals(tenants, envelope_a, envelope_b):
    payload = {"from_region": "32", "to_region": "53", "pot": "seed", "amount": "1000", "reason": "Test"}
    for role in ("ars_a", "ars_b", "auditor", "admin", "director"):
        response = client_for(getattr(tenants, role)).post("/api/v1/redeployments/", payload, format="json")
        assert response.status_code == 403
        assert "DGOS" in response.json()["detail"]
    client = client_for(tenants.dgos)
    too_much = client.post("/api/v1/redeployments/", {**payload, "amount": "100000.01"}, format="json")
    assert too_much.status_code == 400
    assert too_much.json()["detail"].startswith("Crédits d'amorçage insuffisants dans l'enveloppe Hauts-de-France")
    unknown = client.post("/api/v1/redeployments/", {**payload, "to_region": "99"}, format="json")
    assert unknown.status_code == 400 and "to_region" in unknown.json()
    same = client.post("/api/v1/redeployments/", {**payload, "to_region": "32"}, format="json")
    assert same.status_code == 400 and "différentes" in same.json()["detail"]
    assert not LedgerEntry.objects.filter(kind__startswith="redeployment").exists()
    assert client_for(UserFactory()).post("/api/v1/redeployments/", payload, format="json").status_code == 403


def test_schema_documents_the_envelope_endpoints(client, db):
    client.force_login(UserFactory())  # the schema is behind login (issue 15)
    schema = client.get("/api/schema/", {"format": "json"}).json()
    for path in ("/api/v1/envelopes/", "/api/v1/envelopes/{region_code}/", "/api/v1/envelopes/{region_code}/entries/", "/api/v1/redeployments/"):
        assert path in schema["paths"]
    assert set(schema["components"]["schemas"]["EnvelopeBalances"]["properties"]) == FIELDS
