"""Pages of the audits: the DGOS's campaign page (strata table, progress counts, dashboard), the audit page per role,
the letter download."""

import pytest
from django.test import Client

from audits import services
from audits.letters import generate_audit_letter
from audits.models import AuditLetter
from tests.factories_dossiers import hopen_programme

from .factories import audit_ready_for_decision, campaign_input, funded_dossier

pytestmark = pytest.mark.django_db


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def campaign(world):
    t = world
    for establishment in (t.clinic, t.clinic, t.member, t.foreign):
        funded_dossier(establishment, "D2")
    campaign = services.campaign_create(
        programme=hopen_programme(), data=campaign_input(name="Campagne pages", size=3, strata=["region"]), by=t.dgos
    )
    audits = list(campaign.audits.order_by("pk"))
    services.findings_record(audit=audits[0], by=t.auditor, findings=[
        services.FindingInput(audits[0].lines.first().pk, "conform")
    ])
    t.sent = audit_ready_for_decision(audits[1], auditor=t.auditor)
    t.drawn = audits[2]
    return campaign


def test_the_campaign_page_shows_the_strata_table_and_the_progress(world, campaign, django_assert_max_num_queries):
    client = client_for(world.dgos)
    with django_assert_max_num_queries(25):  # whatever the number of audits and lines
        page = client.get(f"/controles/campagnes/{campaign.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="population-count">4 dossiers' in html
    for row in campaign.strata_table:
        assert f'data-stratum="{row["label"]}"' in html
    assert '<tr data-stratum="32"><th scope="row">32</th><td class="hopen-number">3</td><td class="hopen-number">2</td></tr>' in html
    assert 'data-testid="progress-drawn">1<' in html
    assert 'data-testid="progress-under_review">1<' in html
    assert 'data-testid="progress-awaiting_response">1<' in html
    assert 'data-testid="progress-concluded">0<' in html
    assert campaign.population_fingerprint in html


def test_campaign_pages_are_the_dgoss(world, campaign):
    t = world
    assert client_for(t.ars_a).get(f"/controles/campagnes/{campaign.pk}/").status_code == 403
    assert client_for(t.clinic_director).get("/controles/campagnes/").status_code == 403
    assert client_for(t.auditor).get("/controles/campagnes/").status_code == 200


def test_a_campaign_drawn_from_the_page(world):
    t = world
    funded_dossier(t.clinic, "D2")
    client = client_for(t.dgos)
    refused = client.post("/controles/campagnes/", {"name": "Trop", "sample_size": "5", "seed": "3"})
    assert refused.status_code == 400 and "dépasse la population" in refused.content.decode()
    response = client.post("/controles/campagnes/", {"name": "Page", "sample_size": "1", "seed": "3"})
    assert response.status_code == 302


def test_the_audit_page_by_role(world, campaign):
    t = world
    sent, drawn = t.sent, t.drawn
    auditor = client_for(t.auditor).get(f"/controles/{sent.pk}/").content.decode()
    assert 'id="formulaire-decision"' in auditor and 'id="grille-controle"' in auditor
    assert "/pieces-justificatives/" in auditor  # the declared values' documents, one click away
    owner = client_for(t.clinic_director if sent.dossier.establishment_id == t.clinic.pk else t.director)
    page = owner.get(f"/controles/{sent.pk}/")
    assert page.status_code == 200 and 'id="formulaire-reponse"' in page.content.decode()
    assert 'id="formulaire-decision"' not in page.content.decode()
    assert client_for(t.ars_b).get(f"/controles/{sent.pk}/").status_code == 404
    ars = client_for(t.ars_a).get(f"/controles/{sent.pk}/")
    assert ars.status_code == 200 and 'id="formulaire-reponse"' not in ars.content.decode()
    if drawn.dossier.establishment_id == t.clinic.pk:
        assert client_for(t.clinic_director).get(f"/controles/{drawn.pk}/").status_code == 404


def test_the_draft_findings_letter_downloads_for_the_establishment_only(world, campaign):
    t = world
    letter = AuditLetter.objects.get(audit=t.sent, kind="draft_findings")
    generate_audit_letter(letter.pk)
    url = f"/controles/{t.sent.pk}/courriers/{letter.pk}/"
    owner = t.clinic_director if t.sent.dossier.establishment_id == t.clinic.pk else t.director
    response = client_for(owner).get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert client_for(t.foreign_director).get(url).status_code == 404


def test_the_establishment_answers_with_a_document_from_the_page(world, campaign):
    from audits.models import AuditResponseDocument
    from tests.funding.ght.scene import pdf_file

    t = world
    owner = t.clinic_director if t.sent.dossier.establishment_id == t.clinic.pk else t.director
    response = client_for(owner).post(
        f"/controles/{t.sent.pk}/reponse/", {"text": "Voici la pièce manquante.", "documents": [pdf_file("piece.pdf")]}
    )
    assert response.status_code == 302
    document = AuditResponseDocument.objects.get(audit=t.sent)
    assert (document.original_name, document.uploaded_by) == ("piece.pdf", owner)
    url = f"/controles/{t.sent.pk}/pieces/{document.pk}/"
    assert client_for(t.auditor).get(url).status_code == 200
    assert client_for(t.foreign_director).get(url).status_code == 404
    empty = client_for(owner).post(f"/controles/{t.sent.pk}/reponse/", {"text": " "})
    assert empty.status_code == 400 and "Rédigez votre réponse" in empty.content.decode()
