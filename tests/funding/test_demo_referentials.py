"""Demo referentials (issue 13 item 4): the FICTITIOUS HN results and vendors files go through the DGOS's import engine,
all-or-nothing and idempotent; §5.3.1 footnote 3 then reads the results."""

import csv

import pytest

from funding.demo_referentials import DEMO_FILES, seed_demo_referentials
from funding.eligibility.models import SoftwareVendor
from hopen.audit import verify_chain
from indicators.models import PriorProgrammeResult
from tests.factories import EstablishmentFactory, RegionFactory


@pytest.fixture
def hn(catalogue):
    from indicators.models import Programme

    return Programme.objects.get(code="HN")


def _file_finess():
    with open(DEMO_FILES / "resultats-hn-FICTIFS-demo.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))
    return rows, sorted({row["finess"] for row in rows})


def test_the_files_say_they_are_fictitious():
    rows, _ = _file_finess()
    assert "FICTIFS" in "resultats-hn-FICTIFS-demo.csv"
    assert all("FICTIVES" in row["source"] for row in rows)


def test_a_database_without_those_establishments_imports_no_result_but_the_vendors(hn):
    report = seed_demo_referentials()
    assert report[0] == "editeurs-FICTIFS-demo.csv : 4 créations, 0 modification, 0 ligne inchangée"
    assert report[1].startswith("resultats-hn-FICTIFS-demo.csv : non importé, ")
    assert PriorProgrammeResult.objects.count() == 0
    assert SoftwareVendor.objects.filter(qhn_engaged=True).exclude(relims_reference="").count() == 2


def test_with_the_establishments_the_results_are_imported_once(hn):
    rows, finess = _file_finess()
    region = RegionFactory(code="32")
    for number in finess:
        EstablishmentFactory(finess=number, region=region)
    first = seed_demo_referentials()
    assert first[1] == f"resultats-hn-FICTIFS-demo.csv : {len(rows)} créations, 0 modification, 0 ligne inchangée"
    assert PriorProgrammeResult.objects.filter(programme=hn).count() == len(rows)
    blocked = sum(1 for row in rows if row["result"] == "prerequisites_reached" and row["achieved"] == "non")
    assert PriorProgrammeResult.objects.filter(kind="prerequisites_reached", achieved=False).count() == blocked > 0
    second = seed_demo_referentials()
    assert second[1].endswith(f"0 création, 0 modification, {len(rows)} lignes inchangées")
    assert verify_chain()[1] == []
