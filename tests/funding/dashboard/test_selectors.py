"""The ARS's and DGOS's dashboard figures (funding.dashboard.selectors, annex 4 §3): envelope, committed and
consumed amounts (seed and usage) from the ledger, their distribution by establishment, status and activity,
the selected dossiers and domains, the attainment of prerequisites and targets, the slipped dates; the scope of
the permission policy; a constant number of queries whatever the number of dossiers."""

import datetime
from decimal import Decimal

import pytest

from tests.factories_dossiers import hopen_programme
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext

from funding.dashboard.selectors import (
    DashboardScope,
    can_view_dashboard,
    dashboard,
    dashboard_regions,
    dashboard_scope,
)
from hopen.exceptions import PermissionRefused
from tests.factories import RegionFactory
from tests.funding.helpers_dashboard import D5_CODES, PREREQUISITE_CODES, MoneyWorld, bulk_region, declare_reached

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def world(tenants, catalogue):
    return MoneyWorld(tenants)


def region_dashboard(user, region):
    return dashboard(user, dashboard_scope(user, region.code), programme=hopen_programme())


# --- Envelope figures (annex 4 §3: total, committed and consumed, seed and usage) ---------------------------------


def test_envelope_figures_of_the_region_come_from_the_ledger(world):
    data = region_dashboard(world.tenants.ars_a, world.tenants.region_a)
    b = data.balances
    assert (b.total, b.seed_total, b.usage_total) == (D("1000000"), D("200000"), D("800000"))
    assert (b.seed_committed, b.seed_paid) == (D("85000"), D("60000"))  # 40 000 + 20 000 + 30 000 − 5 000
    assert (b.usage_committed, b.usage_paid) == (D("80000"), D("80000"))
    assert b.available == D("835000")
    assert data.has_envelope


def test_national_figures_add_up_the_regions(world):
    data = dashboard(world.tenants.dgos, dashboard_scope(world.tenants.dgos, None), programme=hopen_programme())
    assert data.balances.total == D("1500000")
    assert data.balances.seed_committed == D("95000")
    rows = {row.region.code: row for row in data.regions}
    assert rows["32"].balances.seed_committed == D("85000")
    assert rows["53"].balances.seed_committed == D("10000")
    assert (rows["32"].selected_dossiers, rows["53"].selected_dossiers) == (2, 1)
    assert (rows["32"].slipped_prerequisites, rows["53"].slipped_prerequisites) == (1, 1)
    assert (rows["32"].slipped_targets, rows["53"].slipped_targets) == (1, 0)


def test_a_region_without_envelope_shows_zeros(tenants, catalogue):
    data = region_dashboard(tenants.ars_a, tenants.region_a)
    assert not data.has_envelope
    assert data.balances.total == 0 and data.establishment_count == 0


# --- Distribution: establishment, status, activity ------------------------------------------------------------------


def test_distribution_by_status(world):
    sectors = {row.key: row for row in region_dashboard(world.tenants.ars_a, world.tenants.region_a).sectors}
    assert (sectors["public"].committed, sectors["public"].paid) == (D("140000"), D("140000"))
    assert (sectors["private"].committed, sectors["private"].paid) == (D("25000"), D("0"))
    assert (sectors["espic"].committed, sectors["espic"].paid) == (D("0"), D("0"))
    assert sectors["public"].usage_committed == D("80000")  # usage entries carry no sector: the establishment's
    assert (sectors["public"].establishments, sectors["private"].establishments) == (1, 1)


def test_distribution_by_activity_counts_an_establishment_in_each_of_its_activities(world):
    activities = {row.key: row for row in region_dashboard(world.tenants.ars_a, world.tenants.region_a).activities}
    assert (activities["MCO"].committed, activities["MCO"].paid) == (D("165000"), D("140000"))
    assert (activities["SSR"].committed, activities["SSR"].paid) == (D("25000"), D("0"))
    assert (activities["PSY"].committed, activities["PSY"].paid) == (D("140000"), D("140000"))
    assert activities["HAD"].committed == 0
    assert activities["MCO"].establishments == 2


def test_distribution_by_establishment_largest_commitment_first(world):
    data = region_dashboard(world.tenants.ars_a, world.tenants.region_a)
    assert [row.label for row in data.establishments] == ["CH Membre", "Clinique du Nord"]
    member = data.establishments[0]
    assert (member.seed_committed, member.seed_paid, member.usage_committed, member.usage_paid) == (
        D("60000"), D("60000"), D("80000"), D("80000"),
    )
    assert member.detail["activities"] == ["MCO", "PSY"] and member.detail["ght"] == "HF-99"
    assert data.establishment_count == 2


def test_the_sector_written_on_the_entry_wins_over_the_establishment_status(world):
    """004 quotas: the sector recorded with the seed movement is the one counted (here a public hospital whose
    commitment was recorded as ESPIC)."""
    from envelopes.models import EntryKind
    from tests.funding.helpers_dashboard import movement, record

    record([movement(world.envelope_a, world.d1, EntryKind.SEED_COMMITMENT, "1000", sector="espic")])
    sectors = {row.key: row for row in region_dashboard(world.tenants.ars_a, world.tenants.region_a).sectors}
    assert sectors["espic"].committed == D("1000")
    assert sectors["public"].committed == D("140000")


def test_a_non_profit_establishment_without_the_espic_qualification_counts_in_the_private_sector(world):
    """004 and `envelopes.rules.sector_of` (the rule of the ledger and of the AMI balance): ESPIC is a qualification;
    a non-profit private establishment without it is in the private sector."""
    from envelopes.models import EntryKind
    from tests.factories import EstablishmentFactory
    from tests.funding.helpers_dashboard import domain, dossier_in_progress, movement, record

    non_profit = EstablishmentFactory(region=world.tenants.region_a, status="private_non_profit", is_espic=False)
    selected = domain(dossier_in_progress(non_profit), "D6", seed=D("0"), total=D("40000"))
    record([movement(world.envelope_a, selected, EntryKind.USAGE_COMMITMENT, "40000")])
    sectors = {row.key: row for row in region_dashboard(world.tenants.ars_a, world.tenants.region_a).sectors}
    assert (sectors["espic"].committed, sectors["espic"].establishments) == (D("0"), 0)
    assert sectors["private"].committed == D("25000") + D("40000")


# --- Selected dossiers and domains, attainment ----------------------------------------------------------------------


def test_selected_dossiers_and_domains(world):
    data = region_dashboard(world.tenants.ars_a, world.tenants.region_a)
    assert data.selected_dossiers == 2 and data.selected_establishments == 2
    domains = {d.code: d for d in data.domains}
    assert sorted(domains) == ["D1", "D2", "D5"] and data.selected_domains == 3
    assert (domains["D1"].selected, domains["D1"].seed_amount, domains["D1"].total_amount) == (1, D("40000"), D("200000"))
    assert domains["D2"].targets_recorded == 1 and domains["D1"].targets_recorded == 0
    page = data.selected_page
    assert [d.reference for d in page.object_list] == [world.member_dossier.reference, world.clinic_dossier.reference]
    member = page.object_list[0]
    assert [d.domain_code for d in member.selected_list] == ["D1", "D2"]
    assert member.selected_list[1].money.committed == D("100000")  # seed 20 000 + usage 80 000
    assert member.selected_list[1].money.paid == D("100000")


def test_attainment_of_prerequisites_and_targets(world):
    t = world.tenants
    declare_reached(t.member, PREREQUISITE_CODES)
    declare_reached(t.clinic, D5_CODES)
    data = region_dashboard(t.ars_a, t.region_a)
    assert data.attainment.available
    assert (data.attainment.prerequisites_reached, data.attainment.establishments) == (1, 2)
    domains = {d.code: d for d in data.domains}
    assert (domains["D5"].targets_reached, domains["D1"].targets_reached) == (1, 0)
    rows = {d.reference: d for d in data.selected_page.object_list}
    assert rows[world.member_dossier.reference].prerequisites_reached is True
    assert rows[world.clinic_dossier.reference].prerequisites_reached is False
    assert rows[world.clinic_dossier.reference].selected_list[0].targets_reached is True


def test_attainment_unavailable_without_catalogue(tenants):
    MoneyWorld(tenants)
    data = region_dashboard(tenants.ars_a, tenants.region_a)
    assert not data.attainment.available
    assert data.selected_page.object_list[0].prerequisites_reached is None


# --- Slipped dates ----------------------------------------------------------------------------------------------------


def test_slipped_prerequisites_and_targets(world):
    data = region_dashboard(world.tenants.ars_a, world.tenants.region_a)
    assert [d.reference for d in data.slipped_prerequisites] == [world.member_dossier.reference]
    assert data.slipped_prerequisites[0].slip == datetime.timedelta(days=184)  # 30/06/2020 → 31/12/2020
    assert [(d.reference, d.domain_code) for d in data.slipped_targets] == [
        (world.member_dossier.reference, "D2")
    ]
    assert data.slipped_targets[0].slip == datetime.timedelta(days=184)
    assert (data.slipped_prerequisites_count, data.slipped_targets_count) == (1, 1)


def test_slipped_lists_put_the_largest_slip_first(world):
    world.clinic_dossier.prerequisites_forecast = datetime.date(2022, 1, 1)
    world.clinic_dossier.save()
    data = region_dashboard(world.tenants.ars_a, world.tenants.region_a)
    assert [d.reference for d in data.slipped_prerequisites] == [
        world.clinic_dossier.reference, world.member_dossier.reference,
    ]


# --- Scope ------------------------------------------------------------------------------------------------------------


def test_scope_ars_reads_its_region_only(world):
    t = world.tenants
    assert dashboard_scope(t.ars_a, "32").region == t.region_a
    with pytest.raises(Http404):
        dashboard_scope(t.ars_b, "32")
    with pytest.raises(Http404):
        dashboard(t.ars_b, DashboardScope(t.region_a), programme=hopen_programme())
    with pytest.raises(PermissionRefused):
        dashboard_scope(t.ars_a, None)
    assert dashboard_regions(t.ars_a) == [t.region_a]


def test_scope_national_roles_read_every_region_and_the_nation(world):
    t = world.tenants
    for user in (t.dgos, t.auditor, t.admin):
        assert can_view_dashboard(user)
        assert dashboard_scope(user, "53").region == t.region_b
        assert dashboard_scope(user, None).national
    assert {r.code for r in dashboard_regions(t.dgos)} >= {"32", "53"}


@pytest.mark.parametrize("role", ["editor", "director", "ght_director"])
def test_scope_establishments_are_refused(world, role):
    user = getattr(world.tenants, role)
    assert not can_view_dashboard(user)
    assert dashboard_regions(user) == []
    with pytest.raises(Http404):
        dashboard_scope(user, "32")
    with pytest.raises(PermissionRefused):
        dashboard_scope(user, None)


def test_unknown_region_is_404(world):
    with pytest.raises(Http404):
        dashboard_scope(world.tenants.dgos, "99")


# --- Constant number of queries -------------------------------------------------------------------------------------


def count_queries(user, scope):
    programme = hopen_programme()
    with CaptureQueriesContext(connection) as queries:
        dashboard(user, scope, programme=programme)
    return len(queries)


def test_same_number_of_queries_for_3_and_30_dossiers(tenants, catalogue, django_assert_max_num_queries):
    small, large = RegionFactory(code="11", name="Île-de-France"), RegionFactory(code="84", name="Auvergne")
    bulk_region(small, 3)
    bulk_region(large, 30)
    user = tenants.dgos
    user_scope_small, user_scope_large = dashboard_scope(user, "11"), dashboard_scope(user, "84")
    assert count_queries(user, user_scope_small) == count_queries(user, user_scope_large)
    data = dashboard(user, user_scope_large, programme=hopen_programme())
    assert data.selected_dossiers == 30 and data.slipped_prerequisites_count == 15
    assert data.slipped_targets_count == 10
    programme = hopen_programme()
    with django_assert_max_num_queries(12):
        dashboard(user, user_scope_large, programme=programme)


def test_national_dashboard_queries_do_not_grow_with_dossiers(tenants, catalogue, django_assert_max_num_queries):
    region = RegionFactory(code="84", name="Auvergne")
    envelope = bulk_region(region, 3)
    national = dashboard_scope(tenants.dgos, None)
    before = count_queries(tenants.dgos, national)
    bulk_region(region, 27, envelope=envelope)
    assert count_queries(tenants.dgos, national) == before
    programme = hopen_programme()
    with django_assert_max_num_queries(12):
        dashboard(tenants.dgos, national, programme=programme)
