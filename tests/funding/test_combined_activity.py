"""Annex 3 §1: combined activity, the SAE column mapping, the stored figure and the administrator's override."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from funding.models import CombinedActivity
from funding.rules import ActivityInputs, activity_inputs_from_sae, combined_activity
from funding.services import combined_activity_override, combined_activity_refresh
from hopen.exceptions import PermissionRefused
from hopen.models import AuditRecord
from tests.factories import ActivityFiguresFactory


def test_annex_3_section_1_weights():
    inputs = ActivityInputs(
        mco_days=1000, mco_sessions=100, ambulatory_surgery_stays=10, other_day_stays=20, ssr_days=200, psy_days=40,
        had_days=60,
    )
    # 1000 + 0.5×100 + 1.5×10 + 20 + 0.5×(200 + 40 + 60)
    assert combined_activity(inputs) == Decimal("1235.00")


def test_sae_mapping_adds_partial_days_and_attendances():
    inputs = activity_inputs_from_sae(
        mco_full_days=1, mco_sessions=2, mco_ambulatory_surgery_stays=3, mco_medicine_day_stays=4,
        mco_obstetrics_day_stays=5, ssr_full_days=6, ssr_partial_days=7, psy_full_time_days=8,
        psy_other_full_time_days=9, psy_day_attendances=10, psy_night_attendances=11, had_days=12,
    )
    assert inputs == ActivityInputs(1, 2, 3, 9, 13, 38, 12)


@pytest.mark.django_db
def test_refresh_stores_one_figure_per_establishment_and_is_idempotent(tenants):
    figures = ActivityFiguresFactory(establishment=tenants.member, mco_full_days=10000, ssr_full_days=2000)
    assert combined_activity_refresh() == {"created": 1, "updated": 0, "unchanged": 0}
    record = CombinedActivity.objects.get(establishment=tenants.member)
    assert (record.value, record.source_year) == (Decimal("11000.00"), 2023)
    assert "SAE 2023" in record.source_label
    assert combined_activity_refresh() == {"created": 0, "updated": 0, "unchanged": 1}
    figures.mco_full_days = 12000
    figures.save()
    assert combined_activity_refresh()["updated"] == 1
    assert AuditRecord.objects.filter(action="combined_activity.compute").count() == 2


@pytest.mark.django_db
def test_administrator_override_wins_is_audited_and_survives_a_refresh(tenants):
    ActivityFiguresFactory(establishment=tenants.member, mco_full_days=10000)
    combined_activity_refresh()
    with pytest.raises(PermissionRefused):
        combined_activity_override(establishment=tenants.member, value=Decimal("9000"), reason="2017", by=tenants.dgos)
    with pytest.raises(ValidationError):
        combined_activity_override(establishment=tenants.member, value=Decimal("9000"), reason=" ", by=tenants.admin)
    record = combined_activity_override(
        establishment=tenants.member, value=Decimal("9000"), reason="Chiffre national 2017 (ATIH)", by=tenants.admin
    )
    assert record.value == Decimal("9000")
    assert "administrateur" in record.source_label
    combined_activity_refresh()
    record.refresh_from_db()
    assert record.value == Decimal("9000")
    audit = AuditRecord.objects.get(action="combined_activity.override")
    assert audit.actor == tenants.admin and audit.changes["override"][1] == "9000"
    combined_activity_override(establishment=tenants.member, value=None, reason="", by=tenants.admin)
    record.refresh_from_db()
    assert record.value == Decimal("10000.00")
