"""The ledger's sums kept per envelope, beneficiary and sector (envelopes migration 0005, `BeneficiaryMoney`; issue 17:
the dashboards' distribution, annex 4 §3, reads them instead of the whole ledger): written by the ledger's trigger in
the transaction of every insert, whatever inserts it, equal to the ledger's own sums, repaired by
`rebuild_beneficiary_money`."""

import io
import random
from collections import defaultdict
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from envelopes import beneficiary_money
from envelopes.ledger import Movement, append_many
from envelopes.models import MONEY_COLUMNS, BeneficiaryMoney, EntryKind, LedgerEntry, Pot, Sector
from tests.factories import EstablishmentFactory

pytestmark = pytest.mark.django_db
D = Decimal
KEPT = list(MONEY_COLUMNS.values())


def _kept() -> dict:
    return {
        (row["envelope_id"], row["establishment_id"], row["sector"]): tuple(row[name] for name in KEPT)
        for row in BeneficiaryMoney.objects.values("envelope_id", "establishment_id", "sector", *KEPT)
    }


def _summed_in_python() -> dict:
    """The sums the trigger must keep, computed here from every entry (an independent computation)."""
    sums = defaultdict(lambda: [D("0.00")] * len(KEPT))
    for entry in LedgerEntry.objects.all():
        if entry.establishment_id is None or entry.kind not in MONEY_COLUMNS:
            continue
        key = (entry.envelope_id, entry.establishment_id, entry.sector)
        sums[key][KEPT.index(MONEY_COLUMNS[entry.kind])] += entry.amount
    return {key: tuple(values) for key, values in sums.items()}


def _random_movements(envelope, establishments, rng, count) -> list[Movement]:
    movements = []
    for n in range(count):
        kind = rng.choice([*MONEY_COLUMNS, EntryKind.ALLOCATION])
        money = kind in MONEY_COLUMNS
        movements.append(Movement(
            envelope_id=envelope.pk, kind=kind, pot=rng.choice([Pot.SEED, Pot.USAGE]),
            amount=D(rng.randint(1, 500_000)) / 100, label=f"Mouvement {n}",
            establishment_id=rng.choice(establishments).pk if money else None,
            sector=rng.choice(["", Sector.PUBLIC, Sector.PRIVATE]) if money else "",
        ))
    return movements


def test_every_insert_keeps_the_sums_of_its_beneficiaries(tenants, envelope_a, envelope_b):
    """Random batches through the ledger's writer (annex 2 ledger), in several transactions and envelopes: the kept
    sums equal, per (envelope, establishment, sector), what the entries add up to — and the check agrees."""
    rng = random.Random(17)
    establishments = [EstablishmentFactory(region=tenants.region_a) for _ in range(4)]
    for batch in range(6):
        envelope = envelope_a if batch % 2 else envelope_b
        with transaction.atomic():
            append_many([
                Movement(envelope_id=envelope.pk, kind=EntryKind.ALLOCATION, pot=pot, amount=D("10000000.00"),
                         label="Dotation complémentaire")
                for pot in (Pot.SEED, Pot.USAGE)
            ] + _random_movements(envelope, establishments, rng, 40))
    expected = _summed_in_python()
    assert len(expected) > 10
    assert _kept() == expected
    assert beneficiary_money.differences() == []


def test_a_correction_takes_its_amount_off_the_sums(tenants, envelope_a):
    establishment = EstablishmentFactory(region=tenants.region_a)
    with transaction.atomic():
        [commitment] = append_many([Movement(
            envelope_id=envelope_a.pk, kind=EntryKind.SEED_COMMITMENT, pot=Pot.SEED, amount=D("1000.00"),
            label="Engagement", establishment_id=establishment.pk,
        )])
        append_many([Movement(
            envelope_id=envelope_a.pk, kind=EntryKind.SEED_COMMITMENT, pot=Pot.SEED, amount=D("-400.00"),
            label="Correction", establishment_id=establishment.pk, corrects_id=commitment.pk,
        )])
    kept = BeneficiaryMoney.objects.get(envelope=envelope_a, establishment=establishment)
    assert kept.seed_committed == D("600.00") and kept.sector == ""
    assert kept.seed_paid == kept.usage_committed == kept.refunds_received == D("0.00")


def test_entries_without_beneficiary_or_of_other_kinds_keep_nothing(tenants, envelope_a):
    """Allocations and delegations (the envelope's own movements) are in no beneficiary's sums."""
    assert LedgerEntry.objects.filter(envelope=envelope_a).count() == 4
    assert not BeneficiaryMoney.objects.exists()


def test_a_rolled_back_insert_leaves_no_sum(tenants, envelope_a):
    establishment = EstablishmentFactory(region=tenants.region_a)
    with pytest.raises(RuntimeError), transaction.atomic():
        append_many([Movement(
            envelope_id=envelope_a.pk, kind=EntryKind.USAGE_PAYMENT, pot=Pot.USAGE, amount=D("5.00"),
            label="Versement", establishment_id=establishment.pk,
        )])
        assert BeneficiaryMoney.objects.get(establishment=establishment).usage_paid == D("5.00")  # same transaction
        raise RuntimeError("abandon")
    assert not BeneficiaryMoney.objects.filter(establishment=establishment).exists()


def test_the_command_finds_and_repairs_sums_written_while_triggers_were_off(tenants, envelope_a):
    """Triggers stop only under `session_replication_role = replica` (a restore, a logical replica): the check then
    names the difference and fails; the rebuild replaces the sums by the ledger's."""
    establishment = EstablishmentFactory(region=tenants.region_a)
    with transaction.atomic():
        append_many([Movement(
            envelope_id=envelope_a.pk, kind=EntryKind.SEED_PAYMENT, pot=Pot.SEED, amount=D("70.00"),
            label="Versement", establishment_id=establishment.pk, sector=Sector.ESPIC,
        )])
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        try:
            with transaction.atomic():
                append_many([Movement(
                    envelope_id=envelope_a.pk, kind=EntryKind.SEED_PAYMENT, pot=Pot.SEED, amount=D("30.00"),
                    label="Versement", establishment_id=establishment.pk, sector=Sector.ESPIC,
                )])
        finally:
            cursor.execute("SET session_replication_role = origin")
    assert BeneficiaryMoney.objects.get(establishment=establishment).seed_paid == D("70.00")
    [line] = beneficiary_money.differences()
    assert f"établissement {establishment.pk}, secteur « espic » : seed_paid 70.00 au lieu de 100.00" in line
    with pytest.raises(CommandError, match="1 écart"):
        call_command("rebuild_beneficiary_money", "--check", stdout=io.StringIO())
    out = io.StringIO()
    call_command("rebuild_beneficiary_money", stdout=out)
    assert "1 écart(s) corrigé(s)" in out.getvalue()
    assert BeneficiaryMoney.objects.get(establishment=establishment).seed_paid == D("100.00")
    assert _kept() == _summed_in_python()
    out = io.StringIO()
    call_command("rebuild_beneficiary_money", "--check", stdout=out)
    assert "égaux" in out.getvalue()
