"""API v1 of the dossiers (funding.dossiers.api): scoped reads (404 out of scope), creation, transmission and the
decisions per domain; an impossible transition answers 409 with {"detail": message}, never a 500; a programme rule
400; a reader's write 403."""

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from funding.dossiers import services
from funding.models import DomainStatus, Dossier, DossierStatus
from tests.factories_dossiers import DossierFactory, hopen_programme
from tests.funding.dossier_scene import (  # noqa: F401  (fixtures)
    NOW,
    domain_of,
    domains,
    reach,
    reviewed_dossier,
    transmitted_dossier,
    world,
)

# Flows filed today on HOP'EN (whose dossier window closed on 31/12/2021, §5.3.2): its windows moved around today.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("hopen_filing_open")]

LIST = "/api/v1/dossiers/"


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def url(dossier, tail=""):
    return f"{LIST}{dossier.reference}/{tail}"


def decision(dossier, code):
    return url(dossier, f"domains/{code}/decision/")


def test_list_is_scoped_and_paginated(world):
    t = world
    own = transmitted_dossier(t, "D2")
    foreign = DossierFactory(establishment=t.foreign)
    for user, expected in ((t.clinic_director, {own.reference}), (t.ars_b, {foreign.reference}), (t.dgos, {own.reference, foreign.reference})):
        body = api(user).get(LIST).json()
        assert {d["reference"] for d in body["results"]} == expected
        assert body["count"] == len(expected)
    (row,) = api(t.ars_a).get(LIST, {"domain": "D2"}).json()["results"]
    assert (row["status"], row["region"], row["members"]) == ("transmitted", "32", [t.clinic.finess])
    assert row["domains"] == [{"domain_code": "D2", "status": "pending", "total_amount": "250000.00", "seed_amount": "0.00", "usage_amount": None}]
    assert api(t.ars_a).get(LIST, {"status": "draft"}).json()["count"] == 0


def test_list_query_count_is_constant(world, django_assert_max_num_queries):
    t = world
    for _ in range(3):
        DossierFactory(establishment=t.clinic)
    client = api(t.ars_a)
    client.get(LIST)
    with django_assert_max_num_queries(10):
        assert client.get(LIST).status_code == 200
    for _ in range(20):
        DossierFactory(establishment=t.clinic)
    with django_assert_max_num_queries(10):
        assert client.get(LIST).json()["count"] == 23


def test_create_an_establishment_dossier(world):
    t = world
    response = api(t.clinic_director).post(LIST, {
        "establishment": t.clinic.finess, "comment": "DPI",
        "domains": [{"domain_code": "D2", "target_deadline": "2028-06-30", "vendors": [t.vendor.pk]}],
    }, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["status"], body["establishment"], body["ght"], body["total_amount"]) == ("draft", t.clinic.finess, None, "250000.00")
    (domain,) = body["domains"]
    assert (domain["domain_code"], domain["total_amount"], domain["vendors"]) == ("D2", "250000.00", ["Éditeur RELIMS"])
    assert domain["shares"] == [{
        "establishment": t.clinic.finess, "establishment_name": "Clinique du Nord", "combined_activity": "7000.00",
        "amount": "250000.00", "seed_part": "0.00", "usage_amount": None, "stage": "waiting",  # annex 2 §2 per share
        "targets_reached_at": None, "usage_notified_at": None, "paid_at": None,
    }]


def test_create_a_ght_dossier_sums_the_members(world):
    t = world
    response = api(t.ght_director).post(LIST, {
        "establishment": t.support.finess, "ght_members": [t.support.finess, t.member.finess],
        "domains": [{"domain_code": "D2", "target_deadline": "2028-06-30"}],
    }, format="json")
    assert response.status_code == 201, response.json()
    (domain,) = response.json()["domains"]
    assert Decimal(domain["total_amount"]) == sum(Decimal(s["amount"]) for s in domain["shares"]) == Decimal("600000.00")


def test_create_refusals(world):
    t = world
    client = api(t.clinic_director)
    response = client.post(LIST, {"establishment": t.clinic.finess, "domains": []}, format="json")
    assert response.status_code == 400 and "au moins un domaine" in response.json()["detail"]
    response = client.post(LIST, {"establishment": t.foreign.finess, "domains": []}, format="json")
    assert response.status_code == 404
    response = api(t.ars_a).post(LIST, {"establishment": t.clinic.finess, "domains": []}, format="json")
    assert response.status_code == 403
    assert not Dossier.objects.exists()


def test_read_one_dossier_and_404_out_of_scope(world):
    t = world
    dossier = transmitted_dossier(t, "D2")
    assert api(t.ars_a).get(url(dossier)).json()["reference"] == dossier.reference
    for user in (t.ars_b, t.foreign_director):
        assert api(user).get(url(dossier)).status_code == 404
    assert api(t.ars_a).get(f"{LIST}HOPEN-00-0000-99999/").status_code == 404


def test_transmit_then_an_impossible_second_transmission_is_409(world):
    t = world
    dossier = services.dossier_create(programme=hopen_programme(), establishment=t.clinic, domains=domains("D2"), by=t.clinic_director, now=NOW)
    client = api(t.clinic_director)
    response = client.post(url(dossier, "transmit/"))
    assert response.status_code == 200 and response.json()["status"] == "transmitted"
    response = client.post(url(dossier, "transmit/"))
    assert response.status_code == 409
    assert response.json() == {"detail": "Impossible de transmettre le dossier : le dossier est « Transmis à l'ARS »."}


def test_transmit_refused_for_eligibility_is_400_with_the_reasons(world):
    t = world
    from hopen.models import Role
    from tests.factories import user_with_role

    director = user_with_role(Role.ESTABLISHMENT_DIRECTOR, establishment=t.foreign)
    dossier = services.dossier_create(programme=hopen_programme(), establishment=t.foreign, domains=domains("D2"), by=director, now=NOW)
    response = api(director).post(url(dossier, "transmit/"))
    assert response.status_code == 400
    body = response.json()
    assert "conditions d'éligibilité non remplies" in body["detail"]
    assert any("Hôpital numérique" in reason for reason in body["reasons"])


def test_decisions_per_domain(world):
    t = world
    dossier = reviewed_dossier(t, "D2", "D3")
    client = api(t.ars_a)
    response = client.post(decision(dossier, "D2"), {"decision": "selected", "seed_amount": "50000.00"}, format="json")
    assert response.status_code == 200, response.json()
    assert (response.json()["status"], response.json()["seed_amount"]) == ("selected", "50000.00")
    response = client.post(decision(dossier, "D3"), {"decision": "refused", "reason": "Enveloppe consommée", "refusal_kind": "financial"}, format="json")
    assert response.status_code == 200 and response.json()["refusal_kind"] == "financial"
    assert client.get(url(dossier)).json()["status"] == "in_progress"
    response = client.post(decision(dossier, "D3"), {"decision": "selected"}, format="json")
    assert response.status_code == 409 and "le dossier est « Sélectionné — projet en cours »" in response.json()["detail"]


def test_decision_refusals_400_403_404(world):
    t = world
    dossier = reviewed_dossier(t, "D2")
    response = api(t.ars_a).post(decision(dossier, "D2"), {"decision": "refused", "reason": "", "refusal_kind": "financial"}, format="json")
    assert response.status_code == 400 and "motif du refus est obligatoire" in response.json()["detail"]
    response = api(t.ars_a).post(decision(dossier, "D2"), {"decision": "maybe"}, format="json")
    assert response.status_code == 400
    response = api(t.ars_a).post(decision(dossier, "D2"), {"decision": "selected", "seed_amount": "300000"}, format="json")
    assert response.status_code == 400 and "ne peut pas dépasser" in response.json()["detail"]
    assert api(t.dgos).post(decision(dossier, "D2"), {"decision": "selected"}, format="json").status_code == 403
    assert api(t.clinic_director).post(decision(dossier, "D2"), {"decision": "selected"}, format="json").status_code == 403
    assert api(t.ars_b).post(decision(dossier, "D2"), {"decision": "selected"}, format="json").status_code == 404
    assert api(t.ars_a).post(decision(dossier, "D7"), {"decision": "selected"}, format="json").status_code == 404
    assert domain_of(dossier, "D2").status == DomainStatus.PENDING


def test_targets_reached_and_usage_notification(world):
    t = world
    dossier = reviewed_dossier(t, "D2")
    assert api(t.ars_a).post(url(dossier, "domains/D2/notify-usage/")).status_code == 409
    services.domain_select(domain=domain_of(dossier, "D2"), seed_amount="50000", by=t.ars_a)
    response = api(t.clinic_director).post(url(dossier, "domains/D2/targets-reached/"))
    assert response.status_code == 400 and "non atteintes" in response.json()["detail"]
    reach(t.clinic, "D2", by=t.clinic_director)
    assert api(t.clinic_director).post(url(dossier, "domains/D2/targets-reached/")).json()["status"] == "targets_reached"
    assert api(t.clinic_director).post(url(dossier, "domains/D2/notify-usage/")).status_code == 403
    body = api(t.ars_a).post(url(dossier, "domains/D2/notify-usage/")).json()
    assert (body["status"], body["usage_amount"]) == ("usage_notified", "200000.00")


def test_start_review(world):
    t = world
    dossier = transmitted_dossier(t, "D2")
    assert api(t.ars_a).post(url(dossier, "start-review/")).json()["status"] == DossierStatus.UNDER_REVIEW
    assert api(t.ars_a).post(url(dossier, "start-review/")).status_code == 409


def test_the_schema_documents_the_dossier_endpoints(world):
    response = api(world.dgos).get("/api/schema/", {"format": "json"})
    paths = response.json()["paths"]
    assert "/api/v1/dossiers/{reference}/domains/{code}/decision/" in paths
    assert "409" in paths["/api/v1/dossiers/{reference}/transmit/"]["post"]["responses"]
