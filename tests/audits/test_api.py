"""API v1 of the audits — the issue's « Done when »: as the DGOS, two campaigns with the same population, size and
seed draw the same dossiers, another seed another sample of the same size; ARS 403; an establishment sees only its
own audits (from the draft findings on); bad input answers a French message and writes nothing."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from audits.models import Audit, AuditCampaign
from funding.models import DossierStatus

from .factories import audit_ready_for_decision, funded_dossier

pytestmark = pytest.mark.django_db
URL = "/api/v1/audit-campaigns/"


def client_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def body(seed, size=3, **extra):
    return {"programme": "HOPEN", "name": f"Campagne {seed}", "sample_size": size, "seed": seed,
            "filters": {"regions": ["32", "53"]}, "strata": ["region", "sector"], **extra}


@pytest.fixture
def population(world):
    t = world
    for establishment in (t.clinic, t.support, t.member, t.foreign, t.clinic, t.foreign, t.member):
        funded_dossier(establishment, "D2")
    funded_dossier(t.clinic, "D3", status=DossierStatus.DRAFT)  # not funded: outside the population
    return t


def test_same_population_size_and_seed_draw_the_same_dossiers_another_seed_another_sample(population):
    dgos = client_for(population.dgos)
    first = dgos.post(URL, body(2026), format="json")
    second = dgos.post(URL, body(2026), format="json")
    other = dgos.post(URL, body(7), format="json")
    assert first.status_code == second.status_code == other.status_code == 201, first.json()
    a, b, c = first.json(), second.json(), other.json()
    assert a["population_count"] == 7 and a["id"] != b["id"]
    assert a["sample"] == b["sample"] and len(a["sample"]) == 3
    assert c["sample"] != a["sample"] and len(c["sample"]) == 3
    assert a["population_fingerprint"] == c["population_fingerprint"]
    assert sum(row["population"] for row in a["strata_table"]) == 7
    assert sum(row["drawn"] for row in a["strata_table"]) == 3
    assert {tuple(row["key"]) for row in a["strata_table"]} >= {("32", "private"), ("53", "public")}
    listed = dgos.get(URL)
    assert listed.status_code == 200 and len(listed.json()) == 3


def test_ars_and_establishments_cannot_create_nor_list_campaigns(population):
    t = population
    for user in (t.ars_a, t.director, t.clinic_director):
        client = client_for(user)
        assert client.post(URL, body(1), format="json").status_code == 403
        assert client.get(URL).status_code == 403
    assert AuditCampaign.objects.count() == 0


@pytest.mark.parametrize("payload, message", [
    (body(1, size=8), "dépasse la population"),
    (body(1, filters={"regions": ["11"]}), "population est vide"),
    (body(1, programme="NOPE"), "Programme inconnu"),
])
def test_bad_input_answers_in_french_and_writes_nothing(population, payload, message):
    response = client_for(population.dgos).post(URL, payload, format="json")
    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert (AuditCampaign.objects.count(), Audit.objects.count()) == (0, 0)


def test_an_establishment_sees_its_own_audits_only_from_the_draft_findings_on(population):
    t = population
    created = client_for(t.dgos).post(URL, body(5, size=7), format="json").json()
    clinic_audits = Audit.objects.filter(dossier__establishment=t.clinic).order_by("pk")
    foreign_audit = Audit.objects.filter(dossier__establishment=t.foreign).first()
    assert len(created["sample"]) == 7 and clinic_audits.count() == 2
    clinic = client_for(t.clinic_director)
    assert clinic.get("/api/v1/audits/").json()["count"] == 0  # the draw is not announced
    assert clinic.get(f"/api/v1/audits/{clinic_audits[0].pk}/").status_code == 404
    audit_ready_for_decision(clinic_audits[0], auditor=t.auditor)
    listed = clinic.get("/api/v1/audits/").json()
    assert [row["id"] for row in listed["results"]] == [clinic_audits[0].pk]
    assert clinic.get(f"/api/v1/audits/{clinic_audits[0].pk}/").status_code == 200
    assert clinic.get(f"/api/v1/audits/{foreign_audit.pk}/").status_code == 404
    assert clinic.post(f"/api/v1/audits/{foreign_audit.pk}/response/", {"text": "x"}, format="json").status_code == 404
    # The ARS reads its region's audits (never writes); another region's answer 404.
    ars = client_for(t.ars_a)
    assert ars.get(f"/api/v1/audits/{clinic_audits[1].pk}/").status_code == 200
    assert ars.get(f"/api/v1/audits/{foreign_audit.pk}/").status_code == 404
    assert ars.post(f"/api/v1/audits/{clinic_audits[0].pk}/decision/", {"decision": "conform", "reason": "x"}, format="json").status_code == 403


def test_findings_response_and_decision_through_the_api(population):
    t = population
    client_for(t.dgos).post(URL, body(5, size=1, filters={"regions": ["53"]}), format="json")
    audit = Audit.objects.get()
    auditor = client_for(t.auditor)
    lines = auditor.get(f"/api/v1/audits/{audit.pk}/").json()["lines"]
    assert lines and all(line["finding"] == "pending" for line in lines)
    decided = auditor.post(f"/api/v1/audits/{audit.pk}/decision/", {"decision": "non_conform", "reason": "x"}, format="json")
    assert decided.status_code == 400 and "Aucun constat" in decided.json()["detail"]
    payload = {"lines": [{"id": line["id"], "finding": "conform"} for line in lines], "send": True}
    response = auditor.post(f"/api/v1/audits/{audit.pk}/findings/", payload, format="json")
    assert response.status_code == 200 and response.json()["status"] == "awaiting_response"
    answer = client_for(t.foreign_director).post(f"/api/v1/audits/{audit.pk}/response/", {"text": "Nos pièces"}, format="json")
    assert answer.status_code == 200 and answer.json()["response_late"] is False
    done = auditor.post(f"/api/v1/audits/{audit.pk}/decision/", {"decision": "conform", "reason": "Conforme"}, format="json")
    assert done.status_code == 200 and done.json()["status"] == "concluded"
    late = client_for(t.foreign_director).post(f"/api/v1/audits/{audit.pk}/response/", {"text": "Encore"}, format="json")
    assert late.status_code == 400 and "conclu" in late.json()["detail"]


def test_the_lists_cost_a_constant_number_of_queries(population, django_assert_max_num_queries):
    t = population
    dgos = client_for(t.dgos)
    for seed in range(3):
        dgos.post(URL, body(seed, size=5), format="json")
    with django_assert_max_num_queries(8):
        campaigns = dgos.get(URL)
    assert len(campaigns.json()) == 3 and all(len(c["sample"]) == 5 for c in campaigns.json())
    with django_assert_max_num_queries(8):
        audits = dgos.get("/api/v1/audits/")
    assert audits.json()["count"] == 15
    page = Client()
    page.force_login(t.ars_a)
    with django_assert_max_num_queries(15):
        listed = page.get("/controles/")
    assert listed.status_code == 200
