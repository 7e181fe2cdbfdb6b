"""Regional envelopes per programme (issue 11): each programme opens its own envelopes from its envelope table
(annex 2 §1 for HOP'EN; the demonstration campaign's table in fixtures/programmes/demo-2026.json), and the envelope
pages and endpoints read the envelopes of one programme: ``?programme=<code>``, else the current one."""

import csv
import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from rest_framework.test import APIClient

from envelopes.ledger import balances_of
from envelopes.loading import load_all_programme_envelopes
from envelopes.models import Envelope, LedgerEntry
from envelopes.services import credits_delegate, seed_commit
from indicators.programme_file import load_hopen_files
from tests.factories import RegionFactory
from tests.factories_dossiers import DossierDomainFactory, DossierFactory

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def both_programmes(tenants, demo_programme):
    """HOP'EN with its four files (its envelope table included), the demo campaign, and the 18 regions."""
    load_hopen_files()
    with open(Path(settings.BASE_DIR) / "fixtures" / "regions.csv", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["code"] not in {tenants.region_a.code, tenants.region_b.code}:
                RegionFactory(code=row["code"], name=row["name"], ars_name=row["ars_name"])
    return tenants


@pytest.fixture
def opened(both_programmes):
    load_all_programme_envelopes()
    return both_programmes


def api(user):
    client = APIClient()
    client.force_login(user)
    return client


def test_open_envelopes_opens_each_programme_s_envelopes_once(both_programmes, capsys):
    """Annex 2 §1–§2 per programme: the command opens 18 envelopes and 36 allocations for each programme whose
    table is loaded; run again, it opens nothing (idempotency keys carry the programme's code)."""
    call_command("open_envelopes")
    assert "36 ouverte(s), 72 dotation(s) inscrite(s)" in capsys.readouterr().out
    assert Envelope.objects.filter(programme__code="HOPEN").count() == 18
    assert Envelope.objects.filter(programme__code="DEMO2026").count() == 18
    entries = LedgerEntry.objects.count()
    call_command("open_envelopes")
    assert "0 ouverte(s), 0 dotation(s) inscrite(s)" in capsys.readouterr().out
    assert LedgerEntry.objects.count() == entries == 72
    demo_hdf = Envelope.objects.get(programme__code="DEMO2026", region__code="32")
    # The demo's own delegation calendar: seed from 2026, usage from 2027.
    years = {e.pot: e.effective_on.year for e in LedgerEntry.objects.filter(envelope=demo_hdf)}
    assert years == {"seed": 2026, "usage": 2027}


def test_the_envelope_list_is_the_programme_of_the_parameter(opened):
    """`GET /api/v1/envelopes/?programme=DEMO2026` lists the demo envelopes; the default stays HOP'EN."""
    dgos = api(opened.dgos)
    demo = dgos.get("/api/v1/envelopes/", {"programme": "DEMO2026"})
    assert demo.status_code == 200
    assert len(demo.json()) == 18 and {row["programme"] for row in demo.json()} == {"DEMO2026"}
    assert {row["programme"] for row in dgos.get("/api/v1/envelopes/", {"programme": "HOPEN"}).json()} == {"HOPEN"}
    # The switcher's choice is kept: without the parameter the last programme chosen stays in force.
    assert {row["programme"] for row in dgos.get("/api/v1/envelopes/").json()} == {"HOPEN"}
    by_region = {row["region"]: row for row in demo.json()}
    assert by_region["32"]["total"] == "37018000.00"  # the demo's table (fictitious amounts)


def test_an_unknown_programme_answers_404_on_the_envelope_endpoints_and_pages(opened, client):
    dgos = api(opened.dgos)
    for url in ("/api/v1/envelopes/", "/api/v1/envelopes/32/", "/api/v1/envelopes/32/entries/"):
        response = dgos.get(url, {"programme": "NOPE"})
        assert response.status_code == 404 and "NOPE" in response.json()["detail"]
    client.force_login(opened.dgos)
    assert client.get("/enveloppes/", {"programme": "NOPE"}).status_code == 404


def test_money_of_one_programme_does_not_move_the_other_s_envelope(opened):
    """A seed commitment on a HOP'EN dossier is written in HOP'EN's envelope of the region; the demo envelope of the
    same region keeps its balances (annex 2: one envelope per programme and region)."""
    dossier = DossierFactory(establishment=opened.member)
    assert dossier.programme.code == "HOPEN"
    domain = DossierDomainFactory(dossier=dossier, domain_code="D2", total_amount=D("300000.00"))
    hopen = Envelope.objects.get(programme__code="HOPEN", region__code="32")
    credits_delegate(
        envelope=hopen, year=2019, pot="seed", amount=D("1000"), reference="Circulaire 2019", on=datetime.date(2019, 7, 1),
        by=opened.dgos,
    )
    seed_commit(dossier_domain=domain, amount=D("1000"), is_derogatory=False, by=opened.ars_a)
    ars = api(opened.ars_a)
    demo = ars.get("/api/v1/envelopes/32/", {"programme": "DEMO2026"}).json()
    hopen = ars.get("/api/v1/envelopes/32/", {"programme": "HOPEN"}).json()
    assert (demo["programme"], hopen["programme"]) == ("DEMO2026", "HOPEN")
    assert (demo["seed_committed"], hopen["seed_committed"]) == ("0.00", "1000.00")
    demo_entries = ars.get("/api/v1/envelopes/32/entries/", {"programme": "DEMO2026"}).json()
    assert demo_entries["count"] == 2  # its two allocations only
    demo_envelope = Envelope.objects.get(programme__code="DEMO2026", region__code="32")
    assert balances_of([demo_envelope.pk])[demo_envelope.pk].seed_committed == D("0")


def test_the_envelope_pages_show_the_programme_chosen(opened, client):
    """The national table and a region's page are those of the programme chosen, and name it."""
    client.force_login(opened.dgos)
    html = client.get("/enveloppes/", {"programme": "DEMO2026"}).content.decode()
    assert 'id="programme-enveloppes">Campagne de démonstration 2026–2028 (fictive)</p>' in html
    html = client.get("/enveloppes/32/").content.decode()  # the session keeps the demo campaign
    assert 'id="programme-enveloppes">Campagne de démonstration 2026–2028 (fictive)</p>' in html
    html = client.get("/enveloppes/32/", {"programme": "HOPEN"}).content.decode()
    assert "Campagne de démonstration 2026–2028 (fictive)</p>" not in html


def test_a_delegation_goes_to_the_envelope_of_the_programme_chosen(opened):
    """`POST /api/v1/envelopes/{region}/delegations/?programme=DEMO2026`: the demo campaign's envelope, with its own
    delegation calendar (seed from 2026, usage from 2027 — annex 2 §3 as data)."""
    dgos = api(opened.dgos)
    url = "/api/v1/envelopes/32/delegations/?programme=DEMO2026"
    today = datetime.date.today()
    body = {"year": today.year, "pot": "seed", "amount": "1000.00", "reference": "Circulaire de la campagne"}
    assert api(opened.ars_a).post(url, body, format="json").status_code == 403
    response = dgos.post(url, body, format="json")
    assert response.status_code == 201, response.content
    demo = Envelope.objects.get(programme__code="DEMO2026", region__code="32")
    hopen = Envelope.objects.get(programme__code="HOPEN", region__code="32")
    assert LedgerEntry.objects.get(kind="delegation").envelope_id == demo.pk
    assert balances_of([hopen.pk])[hopen.pk].seed_delegated == D("0")
    if today.year < 2027:
        refused = dgos.post(url, {**body, "pot": "usage"}, format="json")
        assert refused.status_code == 400 and "à partir de 2027 (annexe 2 §3)" in refused.json()["detail"]
