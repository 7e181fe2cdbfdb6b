"""Issue 16, « one set of figures »: the national envelope, a region's committed seed and its committed usage are read
from every page that prints them (by data-testid, machine value in data-value) and must be equal — the envelopes
page, the dashboard, the AMI list and programming, the regional shares. All read the ledger through
`envelopes.selectors.region_figures` / `balances_of` (annex 4 §3); the national envelope is the sum of annex 2's
rows (419 999 k€), never the total printed under the table (420 000 k€)."""

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

from envelopes.loading import load_envelopes
from envelopes.models import EntryKind, Envelope
from funding.loading_envelopes import programme_envelope_table
from hopen.models import Region
from tests.factories import RegionFactory
from tests.factories_dossiers import hopen_programme
from tests.funding.helpers_dashboard import domain, dossier_in_progress, movement, record

D = Decimal
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def values_by_testid(html: str, testid: str) -> list[Decimal]:
    """Every data-value of the elements carrying this data-testid (the attribute order of the templates varies)."""
    values = []
    for tag in re.findall(r"<[^>]*\bdata-testid=\"%s\"[^>]*>" % re.escape(testid), html):
        match = re.search(r'data-value="([^"]*)"', tag)
        assert match, f"{testid} has no data-value: {tag}"
        values.append(D(match.group(1)))
    return values


@pytest.fixture
def national_ledger(tenants, catalogue):
    """Every region of annex 2, their envelopes opened from the programme's table, and in Hauts-de-France a seed
    commitment of 256 000 € and a usage commitment of 80 000,50 € written to the ledger."""
    programme = hopen_programme()
    if programme_envelope_table(programme) is None:
        from indicators.loading import load_envelope_table

        load_envelope_table(data=json.loads((FIXTURES / "hopen_regional_envelopes.json").read_text(encoding="utf-8")))
        programme.refresh_from_db()
    table = programme_envelope_table(programme)
    known = set(Region.objects.values_list("code", flat=True))
    for row in table.regions:
        if row.region_code not in known:
            RegionFactory(code=row.region_code, name=row.region_name)
    load_envelopes(data={**programme.regional_envelopes, "programme": programme.code})
    dossier = dossier_in_progress(tenants.member)
    d1 = domain(dossier, "D1", seed=D("256000"), total=D("1280000"))
    hdf = Envelope.objects.get(programme=programme, region__code="32")
    record([
        movement(hdf, d1, EntryKind.SEED_COMMITMENT, "256000", sector="public"),
        movement(hdf, d1, EntryKind.USAGE_COMMITMENT, "80000.50"),
    ])
    return tenants


def test_national_envelope_and_a_regions_committed_seed_and_usage_are_equal_on_every_page(client, national_ledger):
    t = national_ledger
    client.force_login(t.dgos)
    national_pages = {
        "/enveloppes/": "envelope-total",
        "/pilotage/": "envelope-total",
        "/ami/region/": "envelope-total",
        "/financement/repartition-regionale/": "envelope-total",
    }
    national = {}
    for url, testid in national_pages.items():
        response = client.get(url)
        assert response.status_code == 200, url
        values = values_by_testid(response.content.decode(), testid)
        assert values, f"{url} shows no {testid}"
        national[url] = values[0]
    assert set(national.values()) == {D("419999000")}, national

    seed, usage = {}, {}
    pages = {
        "/enveloppes/": ("seed-committed-32", "usage-committed-32"),
        "/enveloppes/32/": ("seed-committed", "usage-committed"),
        "/pilotage/32/": ("seed-committed", "usage-committed"),
        "/ami/programmation/?region=32": ("seed-committed", None),
    }
    for url, (seed_id, usage_id) in pages.items():
        html = client.get(url).content.decode()
        seed[url] = values_by_testid(html, seed_id)
        assert seed[url], f"{url} shows no {seed_id}"
        if usage_id:
            usage[url] = values_by_testid(html, usage_id)
            assert usage[url], f"{url} shows no {usage_id}"
    assert {value for values in seed.values() for value in values} == {D("256000")}, seed
    assert {value for values in usage.values() for value in values} == {D("80000.50")}, usage

    # The region's officer reads the same figures on the AMI programming page as on the dashboard.
    client.force_login(t.ars_a)
    html = client.get("/ami/programmation/").content.decode()
    assert values_by_testid(html, "seed-committed") == [D("256000")]
    assert values_by_testid(html, "envelope-total") == [D("37018000")]
    assert values_by_testid(client.get("/pilotage/32/").content.decode(), "envelope-total") == [D("37018000")]
