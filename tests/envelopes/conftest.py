"""Shared arrangements of the envelope tests: an envelope in region A (tenants) and dossier domains in it."""

import csv
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings

from envelopes.loading import load_envelopes
from tests.factories import RegionFactory
from tests.factories_dossiers import DossierDomainFactory, DossierFactory, hopen_programme, open_envelope

SEED = Decimal("100000.00")
USAGE = Decimal("400000.00")


@pytest.fixture
def envelope_a(tenants):
    """Region A (Hauts-de-France in `tenants`): 100 000 € of seed credits, 400 000 € of usage credits, both delegated
    in full on 01/01/2019 (annex 2 §3; entries 1–2 the allocations, 3–4 the delegations)."""
    return open_envelope(tenants.region_a, seed=SEED, usage=USAGE)


@pytest.fixture
def envelope_b(tenants):
    return open_envelope(tenants.region_b, seed=Decimal("50000.00"), usage=Decimal("200000.00"))


@pytest.fixture
def undelegated_a(tenants):
    """Region A's envelope with nothing delegated yet: every credit is « à déléguer » (redeployments, corrections of
    allocations, delegations)."""
    return open_envelope(tenants.region_a, seed=SEED, usage=USAGE, delegated=False)


@pytest.fixture
def undelegated_b(tenants):
    return open_envelope(tenants.region_b, seed=Decimal("50000.00"), usage=Decimal("200000.00"), delegated=False)


@pytest.fixture
def make_domain():
    """A selected-to-be domain of a new dossier of `establishment` (its region's envelope pays it)."""

    def build(establishment, domain_code="D2", total=Decimal("300000.00")):
        dossier = DossierFactory(establishment=establishment)
        return DossierDomainFactory(dossier=dossier, domain_code=domain_code, total_amount=total)

    return build


@pytest.fixture
def all_envelopes(tenants):
    """The 18 regions of fixtures/regions.csv and their annex-2 envelopes (420 000 k€ in all)."""
    hopen_programme()
    with open(Path(settings.BASE_DIR) / "fixtures" / "regions.csv", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            RegionFactory(code=row["code"], name=row["name"], ars_name=row["ars_name"])
    load_envelopes()
    return tenants
