"""Reads of the envelopes scoped to the user (annex 4 §3): DGOS and national roles all, an ARS its region, the
establishments nothing; a constant number of queries."""

from decimal import Decimal

import pytest
from django.http import Http404

from envelopes.models import LedgerEntry
from envelopes.selectors import (
    balances_total,
    balances_visible_to,
    derogatory_seed_status,
    envelope_for_dossier,
    envelope_of_region,
    envelopes_visible_to,
    ledger_entries_visible_to,
    sector_seed_balances,
)
from envelopes.services import derogatory_ceiling_raise, sector_quotas_set, seed_commit
from hopen.exceptions import ApplicationError
from tests.factories import UserFactory
from tests.factories_dossiers import DossierFactory, hopen_programme

pytestmark = pytest.mark.django_db
D = Decimal


def codes(envelopes):
    return {e.region.code for e in envelopes}


@pytest.mark.parametrize(
    ("role", "visible"),
    [
        ("ars_a", {"32"}),
        ("ars_b", {"53"}),
        ("dgos", {"32", "53"}),
        ("auditor", {"32", "53"}),
        ("admin", {"32", "53"}),
        ("editor", set()),
        ("director", set()),
        ("ght_director", set()),
    ],
)
def test_envelopes_are_scoped_to_the_user(tenants, envelope_a, envelope_b, role, visible):
    user = getattr(tenants, role)
    assert codes(envelopes_visible_to(user, programme=hopen_programme())) == visible
    assert {e.region.code for e, _ in balances_visible_to(user, programme=hopen_programme())} == visible
    assert {e.envelope.region.code for e in ledger_entries_visible_to(user, programme=hopen_programme())} == visible
    for code in {"32", "53"} - visible:
        with pytest.raises(Http404):
            envelope_of_region(user, code, programme=hopen_programme())
    for code in visible:
        assert envelope_of_region(user, code, programme=hopen_programme()).region.code == code


def test_a_user_without_role_sees_nothing(tenants, envelope_a):
    assert list(envelopes_visible_to(UserFactory(), programme=hopen_programme())) == []
    with pytest.raises(Http404):
        envelope_of_region(UserFactory(), "32", programme=hopen_programme())


def test_balances_of_all_regions_in_constant_queries(all_envelopes, django_assert_max_num_queries):
    dgos = all_envelopes.dgos
    programme = hopen_programme()
    with django_assert_max_num_queries(3):
        rows = balances_visible_to(dgos, programme=programme)
    assert len(rows) == 18
    total = balances_total([b for _, b in rows])
    # Annex 2 §1: the regional amounts as printed add up to 419 999 k€ (the printed total, 420 000, is rounded).
    assert total.total == D("419999000.00")
    assert total.seed_total == D("83999800.00")


def test_ledger_entries_newest_first_in_constant_queries(tenants, envelope_a, make_domain, django_assert_max_num_queries):
    for establishment in (tenants.member, tenants.support, tenants.clinic):
        seed_commit(dossier_domain=make_domain(establishment), amount=D("1000"), is_derogatory=False, by=tenants.ars_a)
    programme = hopen_programme()
    with django_assert_max_num_queries(2):
        listed = [(e.sequence, e.establishment and e.establishment.name, e.dossier_domain and e.dossier_domain.dossier.reference) for e in ledger_entries_visible_to(tenants.ars_a, programme=programme)]
    assert [sequence for sequence, _, _ in listed] == [7, 6, 5, 4, 3, 2, 1]


def test_sector_balances_and_derogatory_status(tenants, envelope_a, make_domain):
    assert all(s.share_percent is None and s.available is None for s in sector_seed_balances(envelope_a))
    sector_quotas_set(envelope=envelope_a, quotas={"public": D("33.33"), "private": D("33.33"), "espic": D("33.34")}, by=tenants.ars_a)
    seed_commit(dossier_domain=make_domain(tenants.clinic), amount=D("3000"), is_derogatory=True, by=tenants.ars_a)
    sectors = {s.sector: s for s in sector_seed_balances(envelope_a)}
    assert (sectors["private"].ceiling, sectors["private"].used, sectors["private"].available) == (D("33330.00"), D("3000.00"), D("30330.00"))
    assert (sectors["espic"].ceiling, sectors["public"].used) == (D("33340.00"), D("0"))
    status = derogatory_seed_status(envelope_a)
    assert (status.raised, status.share_percent, status.ceiling, status.used, status.available) == (
        False, 30, D("30000.00"), D("3000.00"), D("27000.00"),
    )
    derogatory_ceiling_raise(envelope=envelope_a, reason="Peu d'établissements aux prérequis", by=tenants.ars_a)
    envelope_a.refresh_from_db()
    assert derogatory_seed_status(envelope_a).ceiling == D("50000.00")


def test_envelope_for_dossier(tenants, envelope_a):
    assert envelope_for_dossier(DossierFactory(establishment=tenants.member)) == envelope_a
    with pytest.raises(ApplicationError, match="Aucune enveloppe n'est ouverte pour la région Bretagne"):
        envelope_for_dossier(DossierFactory(establishment=tenants.foreign))
    assert LedgerEntry.objects.count() == 4  # two allocations, two delegations
