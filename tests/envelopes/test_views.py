"""Pages of the envelopes: the DGOS's national table, a region's balances and ledger, the ARS's ceiling and quota
forms, the DGOS's redeployment; French amounts (« 1 234 567,89 € »), scope and query counts."""

from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils.html import escape

from envelopes.models import Envelope, LedgerEntry, SectorQuota
from envelopes.services import seed_commit

pytestmark = pytest.mark.django_db
D = Decimal
NBSP = "\u00a0"


def logged(client, user):
    client.force_login(user)
    return client


def test_euros_filter_formats_french_amounts():
    rendered = Template("{% load money %}{{ a|euros }}|{{ b|euros:0 }}|{{ c|euros }}").render(
        Context({"a": D("1234567.891"), "b": D("40000"), "c": None})
    )
    assert rendered == f"1{NBSP}234{NBSP}567,89{NBSP}€|40{NBSP}000{NBSP}€|"


def test_dgos_sees_the_18_regions_and_the_national_total(client, all_envelopes, django_assert_max_num_queries):
    logged(client, all_envelopes.dgos)
    with django_assert_max_num_queries(12):
        response = client.get("/enveloppes/")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('<tr data-region="') == 19
    assert "Total national" in html
    # Annex 2 §1: Ile-de-France 73 878 k€; the printed regional amounts add up to 419 999 k€.
    assert f"73{NBSP}878{NBSP}000,00{NBSP}€" in html
    assert f"419{NBSP}999{NBSP}000,00{NBSP}€" in html
    assert 'href="/enveloppes/redeploiement/"' in html
    assert 'href="/enveloppes/"' in html and ">Enveloppes</a>" in html  # the header navigation


def test_ars_goes_to_its_region(client, tenants, envelope_a):
    response = logged(client, tenants.ars_a).get("/enveloppes/")
    assert response.status_code == 302 and response.url == "/enveloppes/32/"


@pytest.mark.parametrize("role", ["editor", "director", "ght_director"])
def test_establishments_have_no_envelope_pages(client, tenants, envelope_a, role):
    logged(client, getattr(tenants, role))
    assert client.get("/enveloppes/").status_code == 403
    assert client.get("/enveloppes/32/").status_code == 403
    assert client.get("/enveloppes/redeploiement/").status_code == 403
    assert ">Enveloppes</a>" not in client.get("/").content.decode()


def test_anonymous_goes_to_login(client, tenants, envelope_a):
    response = client.get("/enveloppes/32/")
    assert response.status_code == 302 and "/compte/connexion/" in response.url


def test_region_page_for_its_ars(client, tenants, envelope_a, make_domain, django_assert_max_num_queries):
    for establishment in (tenants.member, tenants.support, tenants.clinic):
        seed_commit(dossier_domain=make_domain(establishment), amount=D("1234.56"), is_derogatory=True, by=tenants.ars_a)
    logged(client, tenants.ars_a)
    with django_assert_max_num_queries(16):
        response = client.get("/enveloppes/32/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Enveloppe régionale — Hauts-de-France" in html
    assert f"3{NBSP}703,68{NBSP}€" in html  # seed committed
    assert f"96{NBSP}296,32{NBSP}€" in html  # seed available
    assert f"<strong>3{NBSP}703,68{NBSP}€</strong> engagés sur un plafond de <strong>30{NBSP}000,00{NBSP}€</strong>" in html
    assert 'id="formulaire-plafond"' in html and 'id="formulaire-quotas"' in html
    assert 'id="sans-quota"' in html
    sequences = [int(part.split('"')[0]) for part in html.split('data-sequence="')[1:]]
    assert sequences == [7, 6, 5, 4, 3, 2, 1]


def test_other_regions_page_is_not_found_and_dgos_reads_without_forms(client, tenants, envelope_a, envelope_b):
    assert logged(client, tenants.ars_b).get("/enveloppes/32/").status_code == 404
    assert client.get("/enveloppes/99/").status_code == 404
    html = logged(client, tenants.dgos).get("/enveloppes/32/").content.decode()
    assert "formulaire-plafond" not in html and "formulaire-quotas" not in html
    forbidden = client.post("/enveloppes/32/", {"action": "raise_ceiling", "plafond-reason": "x"})
    assert forbidden.status_code == 403
    assert not Envelope.objects.get(pk=envelope_a.pk).derogatory_ceiling_raised


def test_ars_raises_the_derogatory_ceiling(client, tenants, envelope_a):
    logged(client, tenants.ars_a)
    missing = client.post("/enveloppes/32/", {"action": "raise_ceiling", "plafond-reason": ""})
    assert missing.status_code == 200
    assert "Le motif est obligatoire pour porter le plafond à 50 %." in missing.content.decode()
    response = client.post("/enveloppes/32/", {"action": "raise_ceiling", "plafond-reason": "15 % des établissements aux prérequis"})
    assert response.status_code == 302
    html = client.get("/enveloppes/32/").content.decode()
    assert 'id="plafond-releve"' in html and "15 % des établissements aux prérequis" in html
    assert f"plafond de <strong>50{NBSP}000,00{NBSP}€</strong> (50 %" in html
    assert "formulaire-plafond" not in html


def test_ars_sets_sector_quotas_and_sees_the_balance_per_sector(client, tenants, envelope_a, make_domain):
    seed_commit(dossier_domain=make_domain(tenants.clinic), amount=D("10000"), is_derogatory=False, by=tenants.ars_a)
    logged(client, tenants.ars_a)
    too_much = client.post(
        "/enveloppes/32/", {"action": "set_quotas", "quotas-public": "60", "quotas-private": "50", "quotas-espic": ""}
    )
    assert too_much.status_code == 200
    assert "ne peuvent dépasser 100 %" in too_much.content.decode()
    assert not SectorQuota.objects.exists()
    response = client.post(
        "/enveloppes/32/",
        {"action": "set_quotas", "quotas-public": "33,33", "quotas-private": "33.33", "quotas-espic": "33,34"},
    )
    assert response.status_code == 302
    html = client.get("/enveloppes/32/").content.decode()
    assert 'id="tableau-secteurs"' in html
    private_row = html.split('data-sector="private"')[1].split("</tr>")[0]
    assert f"33{NBSP}330,00{NBSP}€" in private_row and f"23{NBSP}330,00{NBSP}€" in private_row


def test_dgos_redeploys_from_the_page(client, tenants, undelegated_a, undelegated_b):
    envelope_a, envelope_b = undelegated_a, undelegated_b
    logged(client, tenants.dgos)
    page = client.get("/enveloppes/redeploiement/")
    assert page.status_code == 200 and 'id="formulaire-redeploiement"' in page.content.decode()
    refused = client.post(
        "/enveloppes/redeploiement/",
        {"from_region": "53", "to_region": "32", "pot": "seed", "amount": "50000,01", "reason": "Besoin en Hauts-de-France"},
    )
    assert refused.status_code == 200
    assert escape("Crédits d'amorçage insuffisants dans l'enveloppe Bretagne") in refused.content.decode()
    movement = {"from_region": "53", "to_region": "32", "pot": "seed", "amount": "20 000,50", "reason": "Besoin en Hauts-de-France"}
    # Issue 12: the modal restates the amount and both regions; nothing is written before « Confirmer ».
    asked = client.post("/enveloppes/redeploiement/", movement)
    html = asked.content.decode()
    assert asked.status_code == 200 and 'id="confirmation-redeploiement"' in html and "fr-modal--opened" in html
    assert "20\u00a0000,50\u00a0€" in html and "Bretagne → Hauts-de-France" in html
    assert not LedgerEntry.objects.filter(kind__startswith="redeployment").exists()
    done = client.post("/enveloppes/redeploiement/", {**movement, "confirmed": "1"})
    assert done.status_code == 302 and done.url == "/enveloppes/"
    given = LedgerEntry.objects.get(kind="redeployment_out")
    received = LedgerEntry.objects.get(kind="redeployment_in")
    assert (given.envelope_id, received.envelope_id, received.counterpart_id, given.amount) == (
        envelope_b.pk, envelope_a.pk, given.pk, D("20000.50"),
    )


@pytest.mark.parametrize("role", ["ars_a", "auditor", "admin"])
def test_redeployment_page_is_for_the_dgos_officer_only(client, tenants, envelope_a, envelope_b, role):
    logged(client, getattr(tenants, role))
    assert client.get("/enveloppes/redeploiement/").status_code == 403
    payload = {"from_region": "53", "to_region": "32", "pot": "seed", "amount": "1", "reason": "x"}
    assert client.post("/enveloppes/redeploiement/", payload).status_code == 403
    assert not LedgerEntry.objects.filter(kind__startswith="redeployment").exists()
