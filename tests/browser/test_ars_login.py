"""An ARS officer logs in through a real browser and sees only the establishments of the region."""

import re

import pytest

from hopen.models import Role
from tests.factories import EstablishmentFactory, GhtFactory, RegionFactory, user_with_role

PASSWORD = "mot-de-passe-solide-2019"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def two_regions(db):
    region_a = RegionFactory(code="32", name="Hauts-de-France", ars_name="ARS Hauts-de-France")
    region_b = RegionFactory(code="53", name="Bretagne", ars_name="ARS Bretagne")
    ght = GhtFactory(region=region_a, code="HF-99")
    in_a = [
        EstablishmentFactory(region=region_a, ght=ght, name="CH de Lille-Support", city="Lille"),
        EstablishmentFactory(region=region_a, ght=ght, name="CH d'Arras", city="Arras"),
        EstablishmentFactory(
            region=region_a, status="private_for_profit", name="Clinique des Flandres", city="Dunkerque"
        ),
    ]
    in_b = EstablishmentFactory(region=region_b, name="CHU de Rennes-Bretagne", city="Rennes")
    officer = user_with_role(Role.ARS_OFFICER, region=region_a)
    return region_a, region_b, in_a, in_b, officer


def test_ars_officer_logs_in_and_sees_only_the_region(page, live_server, two_regions, artifacts_dir):
    region_a, region_b, in_a, in_b, officer = two_regions

    page.goto(f"{live_server.url}/")
    assert page.url == f"{live_server.url}/compte/connexion/?next=/"
    assert page.locator("h1").inner_text() == "Connexion à HOP'EN"

    page.get_by_label("Adresse électronique").fill(officer.email.upper())
    page.get_by_label("Mot de passe").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Se connecter").click()

    assert page.url == f"{live_server.url}/"
    heading = page.locator("h1").inner_text()
    assert region_a.name in heading
    assert region_b.name not in page.content()
    assert page.locator("#utilisateur-connecte").inner_text().strip() == officer.get_full_name()

    page.get_by_role("link", name="Voir la liste des établissements").click()
    page.wait_for_url(f"{live_server.url}/etablissements/")
    assert page.locator("h1").inner_text() == "Établissements"
    # a no-break space binds the count to its noun (hopen.formatting.count, issue 16)
    assert page.locator("#nombre-resultats").inner_text() == f"{len(in_a)}\u00a0établissements"

    rows = page.locator("#liste-etablissements tbody tr")
    assert rows.count() == len(in_a)
    regions = rows.locator("td:nth-child(4)").all_inner_texts()
    assert regions == [region_a.name] * len(in_a)
    finess = set(rows.locator("td:nth-child(1)").all_inner_texts())
    assert finess == {e.finess for e in in_a}
    assert in_b.name not in page.content()
    assert in_b.finess not in page.content()
    region_options = page.locator("select[name=region] option").all_inner_texts()
    assert region_options == ["Toutes les régions", region_a.name]

    # The DSFR style sheet is served and applied (Marianne font, DSFR header).
    dsfr_css = [(status, url) for status, url in page.recorder.responses if re.search(r"/static/dsfr/.+\.css", url)]
    assert dsfr_css and all(status == 200 for status, _ in dsfr_css), dsfr_css
    assert "Marianne" in page.evaluate("getComputedStyle(document.body).fontFamily")
    assert page.locator("header.fr-header").is_visible()

    page.screenshot(path=str(artifacts_dir / "ars-list.png"), full_page=True)

    assert page.recorder.csp_violations() == []
    assert page.recorder.page_errors == []
    assert page.recorder.failed_responses == []


def test_wrong_password_in_browser_stays_on_login_page(page, live_server, two_regions):
    *_, officer = two_regions
    page.goto(f"{live_server.url}/compte/connexion/")
    page.get_by_label("Adresse électronique").fill(officer.email)
    page.get_by_label("Mot de passe").fill("pas-le-bon-mot-de-passe")
    with page.expect_navigation():
        page.get_by_role("button", name="Se connecter").click()
    assert page.url.startswith(f"{live_server.url}/compte/connexion/")
    assert page.get_by_role("alert").inner_text().strip() == "Adresse électronique ou mot de passe incorrect."
    assert page.recorder.csp_violations() == []
