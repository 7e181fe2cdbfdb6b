"""The whole AMI flow in a real browser (instruction §5.3.2 « Etape 1 », annex 5): the editor of a GHT member fills
the tab, its director validates, the GHT support establishment's director validates, the ARS pre-selects two
domains and rejects one with a reason, and the establishment sees the decisions. Screenshots in test-artifacts/.

The services read the clock through `django.utils.timezone.now`; the live server runs in this process, so patching
it freezes the clock before the AMI deadline (30/06/2019) for the whole flow (sessions included).

Then, today: HOP'EN's AMI is closed (31/12/2021) and the tab says so before any typing; the editor switches to the
demonstration campaign in the header, files there, and the director validates it — no clock frozen.
"""

import datetime
import re
from decimal import Decimal
from unittest import mock

import pytest

from ami.models import Decision, FilingStatus, PreCandidature
from funding.loading import load_amount_grid
from funding.models import CombinedActivity
from django.utils import timezone

from hopen.models import Notification, Role
from indicators.loading import load_calendar, load_catalogue
from indicators.models import Programme
from indicators.periods import semester_of
from indicators.programme_file import PROGRAMME_FILES, load_programme_file
from tests.browser.session import log_in
from tests.factories import (
    EstablishmentFactory,
    GhtFactory,
    RegionFactory,
    user_with_role,
)

FROZEN = datetime.datetime(2019, 5, 15, 10, 0, tzinfo=datetime.timezone.utc)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PDF = (
    b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
    b"2 0 obj\n<< /Type /Pages /Kids [4 0 R] /Count 1 >>\nendobj\n"
    b"4 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
)


@pytest.fixture
def flow(db, settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path), "base_url": None}},
    }
    settings.CLAMD_SOCKET = settings.CLAMD_HOST = ""
    load_calendar()
    load_catalogue()
    load_amount_grid()
    region = RegionFactory(code="32", name="Hauts-de-France", ars_name="ARS Hauts-de-France")
    ght = GhtFactory(region=region, code="HF-01", name="GHT Aisne Nord")
    support = EstablishmentFactory(region=region, ght=ght, name="CH de Saint-Quentin", city="Saint-Quentin")
    member = EstablishmentFactory(region=region, ght=ght, name="CH de Guise", city="Guise")
    ght.support = support
    ght.save()
    CombinedActivity.objects.create(establishment=member, source_year=2023, computed=Decimal("41250"))

    class Flow:
        pass

    f = Flow()
    f.member, f.support = member, support
    f.editor = user_with_role(Role.ESTABLISHMENT_EDITOR, establishment=member)
    f.director = user_with_role(Role.ESTABLISHMENT_DIRECTOR, establishment=member)
    f.ght_director = user_with_role(Role.GHT_SUPPORT_DIRECTOR, ght=ght)
    f.ars = user_with_role(Role.ARS_OFFICER, region=region)
    return f


def shot(page, artifacts_dir, name):
    page.screenshot(path=str(artifacts_dir / f"ami-{name}.png"), full_page=True)


def test_ami_flow_from_the_editor_to_the_ars_decision(page, live_server, flow, artifacts_dir, sent_tasks):
    base = live_server.url
    tab = f"/etablissements/{flow.member.finess}/ami/"
    page.on("dialog", lambda dialog: dialog.accept())  # the confirmations of validation

    # E-mail copies leave after commit through Celery: recorded (`sent_tasks`), so that no message is left in the
    # test queue.
    with mock.patch("ami.services.timezone.now", return_value=FROZEN):
        # 1. The editor of the GHT member fills the tab.
        log_in(page, base, flow.editor, tab)
        assert page.locator("h1").inner_text() == (
            "Hôpital numérique ouvert sur son environnement, appel à manifestation d'intérêt"
        )
        assert page.locator("#fenetre-depot").get_attribute("data-state") == "on_time"
        assert page.locator("#categorie").inner_text() == "C"
        assert page.locator("#statut-pre-candidature").get_attribute("data-status") == "draft"
        shot(page, artifacts_dir, "01-onglet-vide")

        page.locator("label", has_text="Définitive").click()  # DSFR radios: the label is what one clicks
        page.select_option("#ami-hn_prerequisites_reached", "no")
        page.select_option("#ami-hn_prerequisites_forecast", "2020 S1")
        page.select_option("#ami-hopen_prerequisites_forecast", "2020 S2")
        page.select_option("#ami-D2_semester", "2021 S1")
        page.select_option("#ami-D2_priority", "1")
        page.fill("#ami-D2_planning", "DPI déployé sur 4 pôles en 2020 ; observation d'octobre à décembre 2020")
        page.select_option("#ami-D3_semester", "2022 S1")
        page.select_option("#ami-D3_priority", "1")  # a mistake: the same rank as D2
        page.select_option("#ami-D5_semester", "2021 S2")
        page.select_option("#ami-D5_priority", "3")
        page.fill("#ami-referent_name", "Claire Martin")
        page.fill("#ami-referent_function", "Directrice des systèmes d'information")
        page.fill("#ami-referent_email", "claire.martin@ch-guise.fr")
        page.fill("#ami-referent_phone", "03 23 00 00 00")
        page.fill("#ami-legal_representative_name", "Jean Dupont")
        page.fill("#ami-legal_representative_function", "Directeur")
        page.fill("#ami-comment", "Intéressés par D6 sans pouvoir nous engager sur un semestre.")
        page.fill("#ami-investment_amount", "1 250 000")
        page.fill("#ami-business_stakes", "Partage du dossier patient avec le CH support ; moins de doublons d'examens.")
        with page.expect_navigation():
            page.click("#enregistrer")
        assert "Le rang 1 est déjà donné à D2" in page.locator("#erreurs-formulaire").inner_text()
        # Nothing typed is lost.
        assert page.input_value("#ami-referent_name") == "Claire Martin"
        assert page.input_value("#ami-D3_semester") == "2022 S1"
        shot(page, artifacts_dir, "02-erreur-priorite")

        page.select_option("#ami-D3_priority", "2")
        with page.expect_navigation():
            page.click("#enregistrer")
        assert "Pré-candidature enregistrée." in page.locator(".fr-alert--success").first.inner_text()
        assert page.input_value("#ami-D5_priority") == "3"

        page.set_input_files("#ami-pieces", files=[{"name": "Schéma directeur SI GHT.pdf", "mimeType": "application/pdf", "buffer": PDF}])
        with page.expect_navigation():
            page.click("#deposer-pieces")
        assert "Schéma directeur SI GHT.pdf" in page.locator("#liste-pieces").inner_text()

        page.fill("#message-body", "Pouvez-vous nous confirmer le calendrier de présélection ?")
        with page.expect_navigation():
            page.click("#envoyer-message")
        assert "calendrier de présélection" in page.locator("#fil-messages").inner_text()
        assert "La validation revient à la direction" in page.locator("#validation").inner_text()
        shot(page, artifacts_dir, "03-onglet-rempli-editeur")

        # 2. The director validates: the member now waits for its support establishment.
        log_in(page, base, flow.director, tab)
        with page.expect_navigation():
            page.click("#valider")
        assert page.locator("#statut-pre-candidature").get_attribute("data-status") == "awaiting_support"
        assert "en attente de l'établissement support" in page.locator("#statut-pre-candidature").inner_text()
        assert page.locator("#formulaire-ami").count() == 0
        assert PreCandidature.objects.get().status == FilingStatus.AWAITING_SUPPORT
        shot(page, artifacts_dir, "04-attente-support")

        # 3. The GHT support director finds it through the menu and validates it.
        log_in(page, base, flow.ght_director, "/")
        assert "(1 non lue)" in page.locator("#lien-notifications").inner_text()
        with page.expect_navigation():
            page.get_by_role("link", name="AMI", exact=True).click()
        assert page.url == f"{base}/ami/validations-ght/"
        assert flow.member.name in page.locator("#en-attente").inner_text()
        shot(page, artifacts_dir, "05-file-support")
        with page.expect_navigation():
            page.locator("#en-attente").get_by_role("button", name="Valider").click()
        assert "elle est déposée auprès de l'ARS" in page.locator(".fr-alert--success").first.inner_text()
        assert PreCandidature.objects.get().status == FilingStatus.FILED
        shot(page, artifacts_dir, "06-support-valide")

        # 4. The ARS pre-selects D2 and D3 and rejects D5 with a reason.
        log_in(page, base, flow.ars, "/ami/region/")
        with page.expect_navigation():
            page.get_by_role("link", name=flow.member.name).first.click()
        assert re.search(r"/ami/pre-candidatures/\d+/$", page.url)
        for code, decision, reason in (
            ("D2", "Présélectionner", ""),
            ("D3", "Présélectionner", ""),
            ("D5", "Ne pas retenir", "Enveloppe régionale 2021 déjà engagée sur ce domaine."),
        ):
            block = page.locator(f"#domaine-{code}")
            block.get_by_text(decision, exact=True).click()
            if reason:
                block.get_by_label("Motif").fill(reason)
            with page.expect_navigation():
                block.get_by_role("button", name=f"Enregistrer la décision sur {code}").click()
        shot(page, artifacts_dir, "07-decisions-ars")
        decisions = dict(PreCandidature.objects.get().domains.values_list("domain_code", "decision"))
        assert decisions == {"D2": Decision.PRESELECTED, "D3": Decision.PRESELECTED, "D5": Decision.REJECTED}

        # 5. The establishment is notified and sees the decisions with the reason.
        log_in(page, base, flow.editor, "/")
        assert "(4 non lues)" in page.locator("#lien-notifications").inner_text()
        with page.expect_navigation():
            page.click("#lien-notifications")
        assert "D5 de CH de Guise : non retenu (Enveloppe régionale 2021 déjà engagée" in page.locator("#liste-notifications").inner_text()
        shot(page, artifacts_dir, "08-notifications")
        with page.expect_navigation():
            page.get_by_role("link", name=re.compile("domaine D5")).first.click()
        assert page.url == f"{base}{tab}"
        rows = page.locator("#domaines-choisis")
        assert "Présélectionné par l'ARS" in rows.locator("tr[data-domain=D2]").text_content()
        assert "Présélectionné par l'ARS" in rows.locator("tr[data-domain=D3]").text_content()
        d5 = " ".join(rows.locator("tr[data-domain=D5]").text_content().split())  # badges are upper-cased by CSS
        assert "Non retenu par l'ARS" in d5 and "Enveloppe régionale 2021 déjà engagée sur ce domaine." in d5
        assert "Pré-candidature déposée le 15/05/2019" in page.locator("#statut-pre-candidature").inner_text()
        shot(page, artifacts_dir, "09-etablissement-voit-decisions")

    assert Notification.objects.filter(recipient=flow.editor).count() == 4
    mailed = sent_tasks.of("hopen.tasks.send_email")
    assert any(
        "non retenu (Enveloppe régionale 2021" in m["body"] and flow.editor.email in m["recipients"] for m in mailed
    )
    assert any(m["recipients"] == [flow.ght_director.email] and "attend la validation" in m["body"] for m in mailed)
    assert page.recorder.csp_violations() == []
    assert page.recorder.page_errors == []
    # The only error answer is the refused save (duplicate rank), a 400 that shows the form again.
    assert page.recorder.failed_responses == [(400, f"{base}{tab}")]



def test_ami_today_closed_on_hopen_then_filed_on_the_demonstration_campaign(page, live_server, flow, artifacts_dir, sent_tasks):
    """Today (no frozen clock): HOP'EN's tab shows its AMI closed since 31/12/2021 (§5.3.2) with its actions disabled
    before any typing; the editor switches to the demonstration campaign in the header and files on it."""
    load_programme_file(PROGRAMME_FILES / "demo-2026.json")
    base = live_server.url
    clinic = EstablishmentFactory(region=flow.member.region, name="CH de Vervins", city="Vervins")
    editor = user_with_role(Role.ESTABLISHMENT_EDITOR, establishment=clinic)
    director = user_with_role(Role.ESTABLISHMENT_DIRECTOR, establishment=clinic)
    tab = f"/etablissements/{clinic.finess}/ami/"
    page.on("dialog", lambda dialog: dialog.accept())
    current = semester_of(timezone.localdate())

    log_in(page, base, editor, tab)
    banner = page.locator("#fenetre-depot")
    assert banner.get_attribute("data-state") == "closed"
    assert "clos depuis le 31/12/2021 (Instruction, §5.3.2)" in banner.inner_text()
    assert page.locator("#enregistrer").is_disabled()
    assert page.locator("#ami-referent_name").is_disabled()
    shot(page, artifacts_dir, "10-hopen-clos")

    page.select_option("#programme-choisi", "DEMO2026")
    with page.expect_navigation():
        page.locator("#selecteur-programme").get_by_role("button", name="Changer").click()
    assert "Campagne de démonstration 2026–2028 (fictive)" in page.locator("h1").inner_text()
    assert page.locator("#fenetre-depot").get_attribute("data-state") == "on_time"
    assert "ouvert jusqu'au 31/03/2027 inclus" in page.locator("#fenetre-depot").inner_text()
    assert page.locator("#ami-D2_semester option").nth(1).get_attribute("value") == current
    page.locator("label", has_text="Définitive").click()
    page.select_option("#ami-hn_prerequisites_reached", "yes")
    page.select_option("#ami-hopen_prerequisites_forecast", current)
    page.select_option("#ami-D2_semester", current)
    page.select_option("#ami-D2_priority", "1")
    page.fill("#ami-referent_name", "Paul Lefèvre")
    with page.expect_navigation():
        page.click("#enregistrer")
    assert "Pré-candidature enregistrée." in page.locator(".fr-alert--success").first.inner_text()
    shot(page, artifacts_dir, "11-demo-enregistree")

    log_in(page, base, director, f"{tab}?programme=DEMO2026")
    with page.expect_navigation():
        page.click("#valider")
    assert page.locator("#statut-pre-candidature").get_attribute("data-status") == "filed"
    shot(page, artifacts_dir, "12-demo-deposee")
    filed = PreCandidature.objects.get(establishment=clinic)
    assert (filed.programme, filed.status, filed.is_late) == (
        Programme.objects.get(code="DEMO2026"), FilingStatus.FILED, False,
    )
    assert page.recorder.csp_violations() == []
    assert page.recorder.page_errors == []
    assert page.recorder.failed_responses == []
