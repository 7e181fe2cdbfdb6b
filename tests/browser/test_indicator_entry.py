"""An establishment enters a rate, uploads a PDF, declares it, and sees its dashboard turn (issue 3)."""

import pytest

from hopen.models import Role
from indicators.loading import load_calendar, load_catalogue
from tests.factories import EstablishmentFactory, RegionFactory, user_with_role

PASSWORD = "mot-de-passe-solide-2019"
MINIMAL_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def hospital(db, settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}}}
    load_calendar()
    load_catalogue()
    region = RegionFactory(code="32", name="Hauts-de-France", ars_name="ARS Hauts-de-France")
    establishment = EstablishmentFactory(region=region, name="CH de Saint-Omer-Test")
    editor = user_with_role(Role.ESTABLISHMENT_EDITOR, establishment=establishment)
    director = user_with_role(Role.ESTABLISHMENT_DIRECTOR, establishment=establishment)
    return establishment, editor, director


def log_in(page, base, user):
    page.goto(f"{base}/compte/connexion/")
    page.get_by_label("Adresse électronique").fill(user.email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{base}/")


def log_out(page):
    page.get_by_role("button", name="Se déconnecter").click()


def test_enter_upload_declare_and_the_grid_turns(page, live_server, hospital, artifacts_dir, tmp_path):
    establishment, editor, director = hospital
    base = live_server.url
    dashboard = f"{base}/etablissements/{establishment.finess}/indicateurs/"
    row = page.locator("#indicateur-D1\\.1")

    log_in(page, base, editor)
    page.goto(dashboard)
    assert row.get_attribute("data-attainment") == "missing"

    page.goto(f"{base}/etablissements/{establishment.finess}/indicateurs/D1.1/")
    # Issue 11: the page names the programme whose catalogue the values belong to (the default one, HOP'EN).
    assert "Hôpital numérique ouvert sur son environnement" in page.locator("#programme-valeurs").inner_text()
    page.fill("#saisie-measured_on", "2020-03-15")
    page.fill("#saisie-numerator", "95")
    page.fill("#saisie-denominator", "100")
    page.fill("#saisie-comment", "Extraction du système d'imagerie")
    page.locator("#formulaire-saisie").get_by_role("button", name="Enregistrer le brouillon").click()
    page.get_by_text("Brouillon enregistré. Ajoutez les pièces justificatives").wait_for()

    pdf = tmp_path / "compte-rendu-imagerie.pdf"
    pdf.write_bytes(MINIMAL_PDF)
    page.locator("input[type=file][name=file]").set_input_files(str(pdf))
    page.locator("[data-evidence-section] form").filter(has=page.locator("input[type=file]")).get_by_role(
        "button", name="Déposer"
    ).click()
    page.get_by_role("link", name="compte-rendu-imagerie.pdf").wait_for()
    assert "La déclaration revient à la direction" in page.content()
    log_out(page)

    log_in(page, base, director)
    page.goto(f"{base}/etablissements/{establishment.finess}/indicateurs/D1.1/")
    page.get_by_role("button", name="Déclarer cette valeur").click()
    page.get_by_text("déclarée : elle est désormais verrouillée").wait_for()
    assert page.locator("#derniere-valeur").inner_text() == "95,0 % (95 / 100)"

    page.goto(dashboard)
    assert row.get_attribute("data-attainment") == "reached"
    assert "pièce justificative manquante" not in row.inner_text().lower()
    page.screenshot(path=str(artifacts_dir / "indicator-dashboard.png"), full_page=True)
    assert page.recorder.csp_violations() == []
    assert page.recorder.page_errors == []
