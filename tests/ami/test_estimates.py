"""The annex-3 estimate stored on each AMI domain line (ami/estimates.py): equal to the computation
(`programming.estimated_amount`) for every line, and kept equal when its inputs change — the line (AMI services),
the establishment's combined activity (funding services) and the programme's grid (loading)."""

import json
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ami import programming
from ami.estimates import refresh_estimates
from ami.models import PreCandidatureDomain
from funding.loading import FIXTURE, load_amount_grid
from funding.models import CombinedActivity
from funding.selectors import amount_grid
from funding.services import combined_activity_override, combined_activity_refresh
from hopen.models import Role
from tests.factories import ActivityFiguresFactory, user_with_role

from .conftest import hopen_programme, save_draft
from .test_ars import ami_world, bulk_filed  # noqa: F401  (ami_world: the fixture)

pytestmark = pytest.mark.django_db


def editor_of(establishment):
    return user_with_role(Role.ESTABLISHMENT_EDITOR, establishment=establishment)


def computed(line: PreCandidatureDomain):
    record = CombinedActivity.objects.filter(establishment_id=line.pre_candidature.establishment_id).first()
    activity = None if record is None else (record.override if record.override is not None else record.computed)
    return programming.estimated_amount(activity, line.domain_code, amount_grid(line.pre_candidature.programme))


def assert_stored_equals_computed():
    lines = list(PreCandidatureDomain.objects.select_related("pre_candidature"))
    assert lines
    for line in lines:
        assert line.estimated_amount == computed(line), line


def test_refresh_stores_the_computed_amount_for_every_line(ami_world):
    t = ami_world
    bulk_filed(t.region_a, 4, domains=("D1", "D2", "D5"))
    PreCandidatureDomain.objects.update(estimated_amount=None)
    with CaptureQueriesContext(connection) as queries:
        changed = refresh_estimates()
    assert changed == 12
    assert len(queries) == 5  # lines, programmes, the grid (2), one UPDATE — whatever the number of lines
    assert_stored_equals_computed()
    assert len({line.estimated_amount for line in PreCandidatureDomain.objects.all()}) > 3  # not one constant
    assert refresh_estimates() == 0  # nothing left to change


def test_refresh_is_set_based(ami_world):
    t = ami_world
    bulk_filed(t.region_a, 2)
    PreCandidatureDomain.objects.update(estimated_amount=None)
    with CaptureQueriesContext(connection) as few:
        refresh_estimates()
    bulk_filed(t.region_a, 20)
    PreCandidatureDomain.objects.update(estimated_amount=None)
    with CaptureQueriesContext(connection) as many:
        refresh_estimates()
    assert len(many) == len(few)
    assert_stored_equals_computed()


def test_saving_the_pre_candidature_stores_each_line_estimate(ami_world, ami_input):
    t = ami_world
    CombinedActivity.objects.create(establishment=t.support, source_year=2023, computed=Decimal("50000"))
    pre = save_draft(establishment=t.support, data=ami_input(), by=editor_of(t.support))
    amounts = dict(pre.domains.values_list("domain_code", "estimated_amount"))
    grid = amount_grid(hopen_programme())
    assert amounts == {code: programming.estimated_amount(Decimal("50000"), code, grid) for code in ("D2", "D3")}
    assert all(amount is not None for amount in amounts.values())


def test_no_combined_activity_no_estimate(ami_world, ami_input):
    t = ami_world
    pre = save_draft(establishment=t.support, data=ami_input(), by=editor_of(t.support))
    assert list(pre.domains.values_list("estimated_amount", flat=True)) == [None, None]


def test_an_override_of_the_combined_activity_moves_the_estimates(ami_world):
    t = ami_world
    pre = bulk_filed(t.region_a, 1, domains=("D2", "D3"))[0]
    refresh_estimates()
    before = dict(pre.domains.values_list("domain_code", "estimated_amount"))
    admin = user_with_role(Role.PLATFORM_ADMIN)
    combined_activity_override(
        establishment=pre.establishment, value=Decimal("400000"), reason="Chiffre national 2017", by=admin
    )
    after = dict(pre.domains.values_list("domain_code", "estimated_amount"))
    assert after != before
    assert_stored_equals_computed()
    combined_activity_override(establishment=pre.establishment, value=None, reason="", by=admin)
    assert dict(pre.domains.values_list("domain_code", "estimated_amount")) == before


def test_a_new_computation_of_the_combined_activity_moves_the_estimates(ami_world, ami_input):
    t = ami_world
    pre = save_draft(establishment=t.support, data=ami_input(), by=editor_of(t.support))
    assert list(pre.domains.values_list("estimated_amount", flat=True)) == [None, None]
    ActivityFiguresFactory(establishment=t.support)
    combined_activity_refresh()
    assert all(amount is not None for amount in pre.domains.values_list("estimated_amount", flat=True))
    assert_stored_equals_computed()


def test_loading_another_grid_moves_the_estimates(ami_world):
    t = ami_world
    bulk_filed(t.region_a, 3, domains=("D2",))
    refresh_estimates()
    before = sorted(PreCandidatureDomain.objects.values_list("estimated_amount", flat=True))
    data = json.loads(FIXTURE.read_text(encoding="utf-8"))
    data["bands_keur"]["D2"]["standard"] = [[str(Decimal(lo) * 2), str(Decimal(hi) * 2)] for lo, hi in data["bands_keur"]["D2"]["standard"]]
    load_amount_grid(data=data)
    after = sorted(PreCandidatureDomain.objects.values_list("estimated_amount", flat=True))
    # Twice the bands, twice the amounts (to the cent: each amount is rounded once).
    assert all(abs(new - 2 * old) <= Decimal("0.01") for new, old in zip(after, before)) and after != before
    assert_stored_equals_computed()
