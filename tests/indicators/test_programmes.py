"""Programmes as data (issue 11): a second programme from one fixture file, chosen per request, listed by the API."""

import datetime
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse
from rest_framework.test import APIClient

from hopen.models import Role
from indicators.models import CatalogueVersion, Programme
from indicators.programme_file import load_hopen_files, load_programme_file
from indicators.programmes import SESSION_KEY
from tests.factories import RegionFactory, user_with_role

DEMO_FILE = Path(__file__).resolve().parents[2] / "fixtures" / "programmes" / "demo-2026.json"


@pytest.fixture
def programmes(db):
    load_hopen_files()
    load_programme_file(DEMO_FILE)
    return Programme.objects.get(code="HOPEN"), Programme.objects.get(code="DEMO2026")


def test_the_demo_campaign_is_configured_by_its_file_alone(programmes):
    hopen, demo = programmes
    assert demo.is_fictitious and "fictive" in demo.name and not demo.is_default
    assert hopen.is_default and hopen.prior_programme.code == demo.prior_programme.code == "HN"
    catalogue = CatalogueVersion.objects.get(programme=demo, is_current=True)
    assert catalogue.indicators.count() == 41 and catalogue.groups.count() == 11
    assert demo.funding_categories.count() == 4
    assert len(demo.regional_envelopes["regions"]) == 18
    assert hopen.regional_envelopes["total_envelope_keur"] == "420000"
    # Loading again changes nothing.
    again = load_programme_file(DEMO_FILE)
    assert all(counts["created"] == counts["updated"] == 0 for counts in again.values())


def test_load_programme_command_takes_a_file_and_refuses_a_missing_one(db, capsys):
    call_command("load_programme", str(DEMO_FILE))
    assert Programme.objects.filter(code="DEMO2026").exists()
    with pytest.raises(Exception, match="introuvable"):
        call_command("load_programme", "fixtures/programmes/absent.json")


def test_programmes_api_lists_windows_open_today(programmes):
    client = APIClient()
    client.force_authenticate(user_with_role(Role.ARS_OFFICER, region=RegionFactory()))
    response = client.get("/api/v1/programmes/")
    assert response.status_code == 200
    by_code = {p["code"]: p for p in response.json()}
    assert set(by_code) == {"HOPEN", "DEMO2026"}  # HN is an earlier programme, not offered
    hopen_windows = {w["code"]: w for w in by_code["HOPEN"]["windows"]}
    assert hopen_windows["dossier-filing"] == {
        "code": "dossier-filing", "label": "Dépôt des dossiers de candidature (Étape 2)", "opens": "2019-07-01",
        "closes": "2021-12-31", "is_open": False, "source": hopen_windows["dossier-filing"]["source"],
    }
    assert hopen_windows["usage-targets-deadline"]["closes"] == "2022-12-31"  # « avant le 1er janvier 2023 »
    demo = by_code["DEMO2026"]
    assert demo["is_fictitious"] is True
    today = datetime.date.today().isoformat()
    demo_windows = {w["code"]: w for w in demo["windows"]}
    expected_open = demo_windows["ami-deadline"]["opens"] <= today <= demo_windows["ami-deadline"]["closes"]
    assert demo_windows["ami-deadline"]["is_open"] is expected_open


def test_programmes_api_needs_authentication(programmes):
    assert APIClient().get("/api/v1/programmes/").status_code in (401, 403)


def test_unknown_programme_code_answers_404_on_pages_and_api(programmes, client):
    user = user_with_role(Role.DGOS_OFFICER)
    client.force_login(user)
    assert client.get(reverse("home"), {"programme": "NOPE"}).status_code == 404
    assert client.get("/api/v1/programmes/", {"programme": "NOPE"}).status_code == 404
    assert client.get(reverse("home"), {"programme": "HN"}).status_code == 404  # not offered


def test_the_switcher_keeps_the_choice_in_the_session(programmes, client):
    user = user_with_role(Role.DGOS_OFFICER)
    client.force_login(user)
    page = client.get(reverse("home")).content.decode()
    assert 'id="selecteur-programme"' in page and "Campagne de démonstration 2026–2028 (fictive)" in page
    assert "bandeau-campagne-fictive" not in page  # HOP'EN by default
    client.get(reverse("home"), {"programme": "DEMO2026"})
    assert client.session[SESSION_KEY] == "DEMO2026"
    page = client.get(reverse("home")).content.decode()
    assert 'id="bandeau-campagne-fictive"' in page
    assert '<option value="DEMO2026" selected>' in page
