"""The issue: « the database and the services guarantee that no balance goes below zero even under concurrent
requests (`select_for_update` on the envelope row; a test fires at least 50 concurrent seed decisions at an envelope
with room for 10 and sees exactly 10 succeed) » — annex 2 §2, seed ≤ 20 % of the envelope."""

import datetime
import threading
import time
from decimal import Decimal

import pytest
from django.db import connection, transaction

from envelopes.ledger import balances_of
from envelopes.models import LedgerEntry
from envelopes.services import seed_commit
from funding.models import DossierDomain
from hopen import permissions
from hopen.exceptions import ApplicationError
from tests.factories import EstablishmentFactory
from tests.factories_dossiers import DossierDomainFactory, DossierFactory, open_envelope

THREADS = 50
AMOUNT = Decimal("12345.67")
ROOM = 10


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_seed_decisions_on_room_for_ten(tenants):
    envelope = open_envelope(tenants.region_a, seed=AMOUNT * ROOM, usage=Decimal("1000000.00"))
    establishments = [EstablishmentFactory(region=tenants.region_a) for _ in range(5)]
    for i in range(THREADS):
        DossierDomainFactory(dossier=DossierFactory(establishment=establishments[i % 5]), domain_code=f"D{i % 7 + 1}")
    domains = list(DossierDomain.objects.select_related("dossier__region", "dossier__establishment").order_by("pk"))
    assert len(domains) == THREADS
    permissions.scope_of(tenants.ars_a)  # computed once, before the threads share the user
    barrier = threading.Barrier(THREADS)
    succeeded, refused, unexpected = [], [], []

    def decide(domain):
        try:
            barrier.wait(timeout=60)
            with transaction.atomic():
                entry = seed_commit(dossier_domain=domain, amount=AMOUNT, is_derogatory=False, by=tenants.ars_a)
            succeeded.append(entry.pk)
        except ApplicationError as exc:
            refused.append(exc.message)
        except Exception as exc:  # a deadlock or a unique violation would land here and fail the test below
            unexpected.append(repr(exc))
        finally:
            connection.close()  # each thread had its own connection

    threads = [threading.Thread(target=decide, args=(domain,)) for domain in domains]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    elapsed = time.monotonic() - started

    assert not any(thread.is_alive() for thread in threads)
    assert unexpected == []
    assert len(succeeded) == ROOM
    assert len(refused) == THREADS - ROOM
    assert all(message.startswith("Crédits d'amorçage insuffisants") for message in refused)
    commitments = LedgerEntry.objects.filter(envelope=envelope, kind="seed_commitment")
    assert commitments.count() == ROOM
    assert len({entry.dossier_domain_id for entry in commitments}) == ROOM
    balances = balances_of([envelope.pk])[envelope.pk]
    assert balances.seed_available == Decimal("0.00")
    assert balances.seed_committed == AMOUNT * ROOM
    sequences = list(LedgerEntry.objects.filter(envelope=envelope).order_by("sequence").values_list("sequence", flat=True))
    assert sequences == list(range(1, ROOM + 5))  # two allocations, two delegations, then the ten commitments, no gap
    afters = list(commitments.order_by("sequence").values_list("seed_available_after", flat=True))
    assert afters == [AMOUNT * (ROOM - n) for n in range(1, ROOM + 1)]
    assert elapsed < 60


@pytest.mark.django_db(transaction=True)
def test_refund_claims_run_concurrently_claim_each_amount_once(tenants):
    # Annex 2 §2 refund at the prerequisites deadline, raised by a job that may run twice at the same time.
    from envelopes.services import refund_claims_for, seed_pay

    open_envelope(tenants.region_a, seed=Decimal("100000.00"))
    domains = [DossierDomainFactory(dossier=DossierFactory(establishment=tenants.member), domain_code=f"D{i + 1}") for i in range(5)]
    for domain in domains:
        seed_commit(dossier_domain=domain, amount=Decimal("1000"), is_derogatory=True, by=tenants.ars_a)
        seed_pay(dossier_domain=domain, by=tenants.ars_a)
    runs = 4
    barrier = threading.Barrier(runs)
    created, unexpected = [], []

    def claim():
        try:
            barrier.wait(timeout=30)
            with transaction.atomic():
                created.append(len(refund_claims_for(dossier_domains=domains, pots={"seed"}, reason="Prérequis", key_prefix="prerequisites_refund")))
        except Exception as exc:
            unexpected.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=claim) for _ in range(runs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert unexpected == []
    assert sorted(created) == [0] * (runs - 1) + [5]
    assert LedgerEntry.objects.filter(kind="refund_claim").count() == 5


@pytest.mark.django_db(transaction=True)
def test_commitments_racing_delegations_keep_committed_within_delegated(tenants):
    """Annex 2 §3: commitments stay within the delegated credits even when the DGOS delegates at the same time —
    the delegation and the commitments lock the same envelope row, so every commitment sees a settled room."""
    from envelopes.services import credits_delegate

    envelope = open_envelope(tenants.region_a, seed=Decimal("100000.00"), usage=Decimal("400000.00"), delegated=False)
    with transaction.atomic():
        credits_delegate(envelope=envelope, year=2019, pot="seed", amount=AMOUNT * 3, reference="C1", on=datetime.date(2019, 7, 1), by=tenants.dgos)
    domains = [
        DossierDomainFactory(dossier=DossierFactory(establishment=tenants.member), domain_code=f"D{i % 7 + 1}") for i in range(8)
    ]
    permissions.scope_of(tenants.ars_a)
    permissions.scope_of(tenants.dgos)
    barrier = threading.Barrier(len(domains) + 2)
    committed, delegated, unexpected = [], [], []

    def commit(domain):
        try:
            barrier.wait(timeout=60)
            with transaction.atomic():
                committed.append(seed_commit(dossier_domain=domain, amount=AMOUNT, is_derogatory=False, by=tenants.ars_a, on=datetime.date(2020, 3, 1)).pk)
        except ApplicationError as exc:
            assert exc.message.startswith("Crédits délégués insuffisants")
        except Exception as exc:
            unexpected.append(repr(exc))
        finally:
            connection.close()

    def delegate(reference):
        try:
            barrier.wait(timeout=60)
            with transaction.atomic():
                delegated.append(credits_delegate(envelope=envelope, year=2020, pot="seed", amount=AMOUNT, reference=reference, on=datetime.date(2020, 2, 1), by=tenants.dgos).pk)
        except Exception as exc:
            unexpected.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=commit, args=(d,)) for d in domains]
    threads += [threading.Thread(target=delegate, args=(f"C2-{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert unexpected == [] and len(delegated) == 2
    balances = balances_of([envelope.pk])[envelope.pk]
    assert balances.seed_delegated == AMOUNT * 5
    assert 3 <= len(committed) <= 5 and balances.seed_committed == AMOUNT * len(committed)
    assert balances.seed_delegated_available == AMOUNT * (5 - len(committed)) >= 0
    entries = list(LedgerEntry.objects.filter(envelope=envelope).order_by("sequence"))
    assert [e.sequence for e in entries] == list(range(1, len(entries) + 1))
    assert entries[-1].seed_available_after == balances.seed_available
