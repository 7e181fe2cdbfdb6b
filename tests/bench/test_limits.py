"""The SQL limits of the national pages (bench/limits.py, bench/sql/): on a small world — envelopes and ledger
movements, dossiers selected, slipped and closed, declared values with and without documents, drafts, AMI
pre-candidatures with stored estimates — each statement gives every figure its page shows, field by field; and the
check reports a figure that differs."""

import dataclasses
import datetime
from decimal import Decimal

import pytest
from django.db import connection

from ami.models import Decision, PreCandidatureDomain
from bench.limits import LIMITS, compare, sql_figures
from indicators.services import value_save_draft
from tests.factories_dossiers import hopen_programme
from tests.funding.dossier_scene import preselect
from tests.funding.helpers_dashboard import D5_CODES, PREREQUISITE_CODES, MoneyWorld, declare_reached
from tests.indicators.conftest import indicator, rate

pytestmark = pytest.mark.django_db
LIMIT = {limit.name: limit for limit in LIMITS}


@pytest.fixture
def world(tenants, catalogue):
    world = MoneyWorld(tenants)
    t = tenants
    declare_reached(t.member, PREREQUISITE_CODES)  # prerequisites met (values and documents)
    declare_reached(t.clinic, D5_CODES)  # D5 reached, prerequisites missing
    declare_reached(t.foreign, PREREQUISITE_CODES[:3])  # declared, incomplete
    value_save_draft(  # a draft waiting: counted by the completeness page
        establishment=t.member, indicator=indicator("D1.1"), data=rate(1, 2, day=datetime.date(2021, 3, 1)), by=t.editor
    )
    pre = preselect(t.member, "D1", "D2")
    preselect(t.clinic, "D5")
    PreCandidatureDomain.objects.filter(pre_candidature=pre, domain_code="D1").update(
        estimated_amount=Decimal("250000.00")
    )
    PreCandidatureDomain.objects.filter(pre_candidature=pre, domain_code="D2").update(
        estimated_amount=Decimal("120000.00"), decision=Decision.PENDING, forecast_semester="2021 S1"
    )
    return world


def statement_figures(limit, region_code=None) -> dict:
    with connection.cursor() as cursor:
        cursor.execute(limit.sql(), limit.params({"programme_id": hopen_programme().pk, "region_code": region_code}))
        return sql_figures(cursor.fetchall())


@pytest.mark.parametrize("name", ["dgos_dashboard", "completeness", "attainment_table_prerequisites", "ami_national_list"])
def test_each_national_statement_gives_the_figures_of_its_page(world, name):
    limit = LIMIT[name]
    page = limit.page_figures(world.tenants.dgos)
    assert compare(statement_figures(limit), page) == []


def test_the_regional_dashboard_statement_gives_the_figures_of_the_ars_page(world):
    limit = dataclasses.replace(LIMIT["ars_dashboard"], url="/pilotage/32/", role="ars-32")
    page = limit.page_figures(world.tenants.ars_a)
    assert compare(statement_figures(limit, "32"), page) == []
    # The figures compared are the hand-computed ones of the world, not two empty pages.
    assert page["balances"]["seed_committed"] == Decimal("85000")
    assert page["attainment"] == {"available": True, "establishments": 2, "prerequisites_reached": 1}
    assert page["domains"]["D5"]["targets_reached"] == 1
    assert [row[:2] for row in page["selected_page"]] == [
        [world.member_dossier.reference, True], [world.clinic_dossier.reference, False],
    ]


def test_the_compared_pages_carry_the_world(world):
    dgos = world.tenants.dgos
    completeness = LIMIT["completeness"].page_figures(dgos)
    assert completeness["totals"]["drafts"] == 1
    assert completeness["totals"]["declared"] == 15 + 3 + 3
    table = LIMIT["attainment_table_prerequisites"].page_figures(dgos)
    assert [row[0] for row in table["page"]] == [world.tenants.member.finess]
    ami = LIMIT["ami_national_list"].page_figures(dgos)
    assert ami["totals"]["by_domain_year"] == {"D1 2020": Decimal("250000.00"), "D2 2021": Decimal("120000.00")}
    assert ami["preselected"]["total"] == Decimal("250000.00") and ami["totals"]["unknown"] == 1


def test_the_check_names_every_figure_that_differs(world):
    limit = LIMIT["dgos_dashboard"]
    figures = statement_figures(limit)
    figures["balances"]["seed_paid"] = "1.00"
    figures["selected_page"] = figures["selected_page"][:-1]
    rows = [(figures,)]
    mismatches = limit.check(rows, limit.page_figures(world.tenants.dgos))
    assert any(m.startswith(".balances.seed_paid: sql=1 ") for m in mismatches)
    assert any(m.startswith(".selected_page#len:") for m in mismatches)


def test_the_check_reads_the_page_of_the_bench_response(world, client):
    """The bench calls `check(response, rows)`: the page is read again for the response's user."""
    limit = LIMIT["completeness"]
    client.force_login(world.tenants.dgos)
    response = client.get(limit.url)
    with connection.cursor() as cursor:
        cursor.execute(limit.sql(), limit.params({"programme_id": hopen_programme().pk}))
        rows = cursor.fetchall()
    assert limit.check(response, rows) == []
