"""Annex 2 §1–§2: each region's envelope opens with its seed (20 %) and usage (80 %) allocations, once."""

from decimal import Decimal

from envelopes.ledger import balances_of
from envelopes.loading import load_envelopes
from envelopes.models import Envelope, LedgerEntry
from tests.factories import RegionFactory


def test_envelopes_open_with_a_20_80_split_and_loading_twice_changes_nothing(catalogue):
    RegionFactory(code="32", name="Hauts-de-France")
    RegionFactory(code="53", name="Bretagne")

    first = load_envelopes(regions={"32", "53"})
    second = load_envelopes(regions={"32", "53"})

    assert (first["envelopes"], first["allocations"]) == (2, 4)
    assert (second["envelopes"], second["allocations"]) == (0, 0)
    hdf = Envelope.objects.get(region__code="32")
    balances = balances_of([hdf.pk])[hdf.pk]
    # Annex 2 §1: Hauts-de-France 37 018 k€.
    assert balances.total == Decimal("37018000.00")
    assert balances.seed_total == Decimal("7403600.00")
    assert balances.usage_total == Decimal("29614400.00")
    assert LedgerEntry.objects.filter(envelope=hdf).count() == 2
    seed_entry = LedgerEntry.objects.get(envelope=hdf, pot="seed")
    assert seed_entry.effective_on.year == 2019
    assert LedgerEntry.objects.get(envelope=hdf, pot="usage").effective_on.year == 2020
