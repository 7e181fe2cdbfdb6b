"""Hôpital numérique results that §5.3.1 needs (prerequisites, usage targets and funding per domain) are data."""

import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from indicators.models import PriorProgrammeResult, Programme

pytestmark = pytest.mark.django_db


def test_results_of_the_hn_programme_per_establishment_and_domain(tenants, catalogue):
    hn = Programme.objects.get(code="HN")
    PriorProgrammeResult.objects.create(
        establishment=tenants.member, programme=hn, kind="prerequisites_reached", achieved=True,
        achieved_on=datetime.date(2017, 6, 30), source="export oSIS",
    )
    PriorProgrammeResult.objects.create(
        establishment=tenants.member, programme=hn, kind="usage_targets_reached", domain_code="D2", achieved=True,
    )
    PriorProgrammeResult.objects.create(
        establishment=tenants.member, programme=hn, kind="funding_received", domain_code="D3", achieved=True,
        amount=Decimal("150000.00"),
    )
    assert tenants.member.prior_results.filter(programme__code="HN").count() == 3


@pytest.mark.parametrize(
    "values",
    [
        {"kind": "usage_targets_reached", "domain_code": ""},  # per-domain result without its domain
        {"kind": "prerequisites_reached", "domain_code": "D2"},  # global result with a domain
        {"kind": "funding_received", "domain_code": "D2", "amount": Decimal("-1")},
    ],
)
def test_database_refuses_inconsistent_results(tenants, catalogue, values):
    with pytest.raises(IntegrityError), transaction.atomic():
        PriorProgrammeResult.objects.create(
            establishment=tenants.member, programme=Programme.objects.get(code="HN"), achieved=True, **values
        )
