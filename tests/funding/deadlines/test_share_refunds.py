"""Refund of the seed per member share at the prerequisites deadline (annex 2 §2: « Les prérequis doivent être
atteints au plus tard le 01 janvier 2021. Si les prérequis ne sont pas atteints à date par l'établissement, il
remboursera les montants perçus au titre de l'amorçage »): for a GHT domain only the part of the seed of the members
without the prerequisites (values and documents) is claimed, once; the audit closure still claims everything paid."""

import datetime
from decimal import Decimal

import pytest
from django.db.models import Sum

from envelopes.models import EntryKind, LedgerEntry
from funding.deadlines import refunds
from funding.dossiers import services
from funding.models import DossierDomainShare
from tests.funding.dossier_scene import (  # noqa: F401  (fixtures)
    LATER,
    NOW,
    declare,
    domain_of,
    domains,
    world,
)

pytestmark = pytest.mark.django_db
DEADLINE = datetime.date(2021, 1, 1)


def _ght_domain_with_seed_paid(t, seed="50000"):
    dossier = services.dossier_create(
        programme=t.envelope_a.programme, establishment=t.support, domains=domains("D2"),
        ght_members=[t.support, t.member], by=t.ght_director, now=NOW,
    )
    services.dossier_transmit(dossier=dossier, by=t.ght_director, now=NOW)
    services.dossier_start_review(dossier=dossier, by=t.ars_a, now=NOW)
    services.domain_select(domain=domain_of(dossier, "D2"), seed_amount=seed, by=t.ars_a, now=NOW)
    return services.domain_record_seed_payment(domain=domain_of(dossier, "D2"), by=t.ars_a, now=NOW)


def _claims():
    return list(LedgerEntry.objects.filter(kind=EntryKind.REFUND_CLAIM).order_by("sequence"))


def test_annex_2_2_only_the_behind_members_seed_part_is_claimed_once(world):
    t = world
    domain = _ght_domain_with_seed_paid(t)
    # the member's P1.1 declared not reached after the selection: it misses the prerequisites at the deadline
    declare(t.member, "P1.1", reached=False, by=t.director, day=datetime.date(2020, 10, 1))
    behind = DossierDomainShare.objects.get(domain=domain, establishment=t.member)

    assert refunds.claim_refunds_for_unmet_prerequisites(DEADLINE - datetime.timedelta(days=1))["claims"] == 0
    counts = refunds.claim_refunds_for_unmet_prerequisites(DEADLINE)
    assert (counts["domains"], counts["claims"]) == (1, 1)
    again = refunds.claim_refunds_for_unmet_prerequisites(DEADLINE + datetime.timedelta(days=1))
    assert again["claims"] == 0  # the sweep run twice claims once

    [claim] = _claims()
    assert (claim.amount, claim.idempotency_key) == (
        behind.seed_part, f"prerequisites-refund:{domain.pk}:share:{behind.pk}:seed"
    )
    assert behind.seed_part < domain.seed_amount  # the support's part is not claimed
    assert "CH Membre" in claim.label


def test_annex_2_2_each_behind_member_is_claimed_its_part_and_the_parts_sum_to_the_seed_paid(world):
    t = world
    domain = _ght_domain_with_seed_paid(t, seed="33333.33")
    for establishment, by in ((t.member, t.director), (t.support, t.support_director)):
        declare(establishment, "P1.1", reached=False, by=by, day=datetime.date(2020, 10, 1))
    assert refunds.claim_refunds_for_unmet_prerequisites(DEADLINE)["claims"] == 2
    assert sum(c.amount for c in _claims()) == Decimal("33333.33")


def test_annex_4_the_audit_closure_claims_what_is_left_of_everything_paid(world):
    """Annex 4: « il remboursera les montants perçus au titre de l'amorçage et de l'usage » — after the member's part
    claimed at the deadline, the closure claims the rest of the seed paid, never twice."""
    t = world
    domain = _ght_domain_with_seed_paid(t)
    declare(t.member, "P1.1", reached=False, by=t.director, day=datetime.date(2020, 10, 1))
    refunds.claim_refunds_for_unmet_prerequisites(DEADLINE)
    services.dossier_close(dossier=domain.dossier, kind="audit_failure", reason="Contrôle non conforme", by=t.ars_a)
    claimed = LedgerEntry.objects.filter(kind=EntryKind.REFUND_CLAIM).aggregate(s=Sum("amount"))["s"]
    assert claimed == domain.seed_amount
