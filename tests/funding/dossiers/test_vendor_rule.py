"""Issue 13 item 2, §5.3.1 « Les éditeurs des applications mises en œuvre dans le cadre du projet sont référencés
dans la base RELIMS […] et doivent être engagés dans la démarche […] QHN »: the rule applies to the vendors each
domain names, so a dossier naming none for a domain is not transmitted (`gates.vendors_named_gate`, code
`vendors_not_named`); a draft may be saved without vendors."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from funding.dossiers import gates, services
from funding.models import Dossier, DossierStatus
from hopen.models import AuditRecord
from tests.factories_dossiers import hopen_programme
from tests.funding.dossier_scene import NOW, domains, world  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("hopen_filing_open")]


# --- The gate (pure) -------------------------------------------------------------------------------------------------


def test_gate_passes_when_every_domain_names_a_vendor():
    assert gates.vendors_named_gate([("D2", 1), ("D3", 2)]) == []


def test_gate_refuses_naming_only_the_domains_without_vendor():
    (refusal,) = gates.vendors_named_gate([("D2", 1), ("D3", 0)])
    assert (refusal.code, refusal.section) == ("vendors_not_named", "5.3.1")
    assert "le domaine D3" in refusal.message and "D2" not in refusal.message
    assert "RELIMS" in refusal.message and "QHN" in refusal.message


def test_gate_names_every_domain_without_vendor_once():
    (refusal,) = gates.vendors_named_gate([("D5", 0), ("D2", 1), ("d3", 0)])
    assert "les domaines D3, D5" in refusal.message


# --- The transmission service --------------------------------------------------------------------------------------


def _draft(t):
    """D2 names the scene's RELIMS vendor, D3 names none: the draft is saved (a draft may lack vendors)."""
    return services.dossier_create(
        programme=hopen_programme(), establishment=t.clinic, by=t.clinic_director, now=NOW,
        domains=domains("D2", vendors=[t.vendor.pk]) + domains("D3", vendors=()),
    )


def _transmit_records(dossier):
    return AuditRecord.objects.filter(action="dossier.transmit", object_id=str(dossier.pk)).count()


def test_transmission_refused_while_a_domain_names_no_vendor_then_transmitted_once_it_does(world):
    t = world
    dossier = _draft(t)
    assert dossier.status == DossierStatus.DRAFT

    with pytest.raises(gates.GateRefused) as refused:
        services.dossier_transmit(dossier=dossier, by=t.clinic_director, now=NOW)

    assert [(r.code, r.section) for r in refused.value.refusals] == [("vendors_not_named", "5.3.1")]
    message = refused.value.refusals[0].message
    assert "D3" in message and "D2" not in message
    assert refused.value.message.startswith("Envoi du dossier à l'ARS refusé : ")
    dossier.refresh_from_db()  # nothing written: status unchanged, no audit record
    assert dossier.status == DossierStatus.DRAFT and dossier.transmitted_at is None
    assert _transmit_records(dossier) == 0

    services.dossier_update(
        dossier=dossier, by=t.clinic_director, now=NOW, domains=domains("D2", "D3", vendors=[t.vendor.pk])
    )
    dossier = services.dossier_transmit(dossier=dossier, by=t.clinic_director, now=NOW)
    assert dossier.status == DossierStatus.TRANSMITTED
    assert _transmit_records(dossier) == 1


def test_api_answers_400_with_the_cited_reason(world):
    t = world
    dossier = _draft(t)
    client = APIClient()
    client.force_authenticate(t.clinic_director)

    response = client.post(f"/api/v1/dossiers/{dossier.reference}/transmit/")

    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"detail", "reasons"}
    assert [(r["code"], r["section"]) for r in body["reasons"]] == [("vendors_not_named", "5.3.1")]
    assert set(body["reasons"][0]) == {"code", "section", "message"} and "D3" in body["reasons"][0]["message"]
    assert Dossier.objects.get(pk=dossier.pk).status == DossierStatus.DRAFT


def test_page_disables_the_transmit_button_with_the_reason(client, world):
    t = world
    dossier = _draft(t)
    client.force_login(t.clinic_director)

    page = client.get(reverse("funding:dossier_detail", args=[dossier.reference])).content.decode()

    assert 'data-testid="transmit-dossier" disabled' in page
    reason = page.split('data-testid="transmit-dossier-disabled-reason">', 1)[1].split("</p>", 1)[0]
    assert "D3" in reason and "(5.3.1)" in reason and "éditeur" in reason
