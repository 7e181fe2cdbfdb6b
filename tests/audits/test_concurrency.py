"""Two concurrent decisions on one audit (as the ledger's concurrency tests): one wins, the other is refused, and
each payment is claimed back once."""

import threading
from decimal import Decimal

import pytest
from django.db import connection, transaction

from audits import services
from audits.models import Audit
from envelopes.models import EntryKind, LedgerEntry
from hopen import permissions
from hopen.exceptions import ApplicationError
from tests.factories_dossiers import hopen_programme

from .factories import audit_ready_for_decision, campaign_input, paid_dossier

RUNS = 4


@pytest.mark.django_db(transaction=True)
def test_concurrent_non_conform_decisions_one_wins_one_claim_per_payment(world):
    t = world
    dossier = paid_dossier(t)
    campaign = services.campaign_create(programme=hopen_programme(), data=campaign_input(), by=t.dgos)
    audit = audit_ready_for_decision(campaign.audits.get(), auditor=t.auditor)
    permissions.scope_of(t.auditor)  # computed once, before the threads share the user
    barrier = threading.Barrier(RUNS)
    succeeded, refused, unexpected = [], [], []

    def decide():
        try:
            barrier.wait(timeout=30)
            with transaction.atomic():
                services.decision_record(audit=Audit.objects.get(pk=audit.pk), decision="non_conform", reason="Non conforme", by=t.auditor)
            succeeded.append(1)
        except ApplicationError as exc:
            refused.append(exc.message)
        except Exception as exc:  # a deadlock or a unique violation would land here
            unexpected.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=decide) for _ in range(RUNS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert unexpected == []
    assert len(succeeded) == 1
    assert refused == ["Le contrôle est déjà conclu."] * (RUNS - 1)
    claims = LedgerEntry.objects.filter(kind=EntryKind.REFUND_CLAIM, dossier_domain__dossier=dossier)
    assert sorted(claims.values_list("pot", "amount")) == [("seed", Decimal("50000.00")), ("usage", Decimal("200000.00"))]
