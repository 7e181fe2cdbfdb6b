"""Writes on the envelopes (annex 2 §2, annex 4 §1, §5.1, 004): limits checked under the lock, corrections as new
entries, refunds, redeployment, the append-only ledger, permissions and audit."""

from decimal import Decimal
from unittest import mock

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext

from envelopes.ledger import balances_of
from envelopes.models import EntryKind, LedgerEntry, SectorQuota
from envelopes.selectors import derogatory_seed_status, sector_seed_balances
from envelopes.services import (
    commitments_release,
    derogatory_ceiling_raise,
    entry_correct,
    redeploy,
    redeployment,
    refund_claims_for,
    refund_receive,
    sector_quotas_set,
    seed_commit,
    seed_pay,
    usage_commit,
    usage_pay,
)
from hopen.exceptions import ApplicationError, PermissionRefused
from hopen.models import AuditRecord
from indicators.models import Programme
from tests.factories import EstablishmentFactory
from tests.factories_dossiers import DossierDomainFactory

pytestmark = pytest.mark.django_db
D = Decimal


def balances(envelope):
    return balances_of([envelope.pk])[envelope.pk]


def entries(envelope, kind=None):
    found = LedgerEntry.objects.filter(envelope=envelope)
    return found.filter(kind=kind) if kind else found


# --- Seed commitments: the 20 % pot, the derogatory ceiling, the sector quotas ---------------------------------------


def test_seed_commitments_stay_within_the_seed_credits(tenants, envelope_a, make_domain):
    # Annex 2 §2: the seed commitments of the region ≤ its seed credits (20 % of the envelope).
    first = seed_commit(dossier_domain=make_domain(tenants.member), amount=D("60000"), is_derogatory=False, by=tenants.ars_a)
    assert (first.kind, first.pot, first.amount, first.sector) == ("seed_commitment", "seed", D("60000.00"), "public")
    assert first.establishment == tenants.member
    with pytest.raises(ApplicationError) as refused:
        seed_commit(dossier_domain=make_domain(tenants.support), amount=D("40000.01"), is_derogatory=False, by=tenants.ars_a)
    assert "Crédits d'amorçage insuffisants" in refused.value.message
    last = seed_commit(dossier_domain=make_domain(tenants.support), amount=D("40000"), is_derogatory=False, by=tenants.ars_a)
    assert balances(envelope_a).seed_available == D("0.00")
    assert balances(envelope_a).seed_committed == D("100000.00")
    assert last.seed_available_after == D("0.00")
    assert entries(envelope_a, "seed_commitment").count() == 2


def test_derogatory_seed_is_capped_at_30_percent_of_the_seed_credits(tenants, envelope_a, make_domain):
    # §5.1: derogatory seed funding ≤ 30 % of the region's seed credits.
    seed_commit(dossier_domain=make_domain(tenants.member), amount=D("20000"), is_derogatory=True, by=tenants.ars_a)
    seed_commit(dossier_domain=make_domain(tenants.support), amount=D("10000"), is_derogatory=True, by=tenants.ars_a)
    with pytest.raises(ApplicationError) as refused:
        seed_commit(dossier_domain=make_domain(tenants.clinic), amount=D("0.01"), is_derogatory=True, by=tenants.ars_a)
    assert "30 %" in refused.value.message
    # Non-derogatory seed is not concerned by the ceiling.
    seed_commit(dossier_domain=make_domain(tenants.clinic), amount=D("50000"), is_derogatory=False, by=tenants.ars_a)
    status = derogatory_seed_status(envelope_a)
    assert (status.share_percent, status.ceiling, status.used, status.available) == (30, D("30000.00"), D("30000.00"), D("0.00"))


def test_derogatory_ceiling_raised_to_50_percent_by_the_regions_ars(tenants, envelope_a, make_domain):
    # §5.1: « jusqu'à 50% si le nombre d'établissements ayant atteint les prérequis HOP'EN est insuffisant ».
    seed_commit(dossier_domain=make_domain(tenants.member), amount=D("30000"), is_derogatory=True, by=tenants.ars_a)
    with pytest.raises(ApplicationError):
        seed_commit(dossier_domain=make_domain(tenants.support), amount=D("20000"), is_derogatory=True, by=tenants.ars_a)
    for outsider in (tenants.ars_b, tenants.dgos, tenants.director):
        with pytest.raises(PermissionRefused):
            derogatory_ceiling_raise(envelope=envelope_a, reason="Trop peu d'établissements", by=outsider)
    with pytest.raises(ApplicationError, match="motif est obligatoire"):
        derogatory_ceiling_raise(envelope=envelope_a, reason="  ", by=tenants.ars_a)

    raised = derogatory_ceiling_raise(envelope=envelope_a, reason="12 % des établissements aux prérequis", by=tenants.ars_a)
    assert raised.derogatory_ceiling_raised and raised.derogatory_ceiling_raised_by == tenants.ars_a
    record = AuditRecord.objects.get(action="envelope.derogatory_ceiling_raise")
    assert record.changes["derogatory_ceiling_raised"] == [False, True]
    with pytest.raises(ApplicationError, match="déjà porté"):
        derogatory_ceiling_raise(envelope=envelope_a, reason="encore", by=tenants.ars_a)

    seed_commit(dossier_domain=make_domain(tenants.support), amount=D("20000"), is_derogatory=True, by=tenants.ars_a)
    with pytest.raises(ApplicationError) as refused:
        seed_commit(dossier_domain=make_domain(tenants.clinic), amount=D("0.01"), is_derogatory=True, by=tenants.ars_a)
    assert "50 %" in refused.value.message
    assert derogatory_seed_status(envelope_a).used == D("50000.00")


def test_sector_quotas_limit_each_sector_and_show_its_balance(tenants, envelope_a, make_domain):
    # 004: « Répartition identique entre les secteurs public, privé et Espic ».
    espic = EstablishmentFactory(region=tenants.region_a, status="private_non_profit", is_espic=True, name="ESPIC du Nord")
    quotas = sector_quotas_set(
        envelope=envelope_a, quotas={"public": D("50"), "private": D("25"), "espic": D("25")}, by=tenants.ars_a
    )
    assert [(q.sector, q.share_percent) for q in quotas] == [("public", D("50.00")), ("private", D("25.00")), ("espic", D("25.00"))]

    seed_commit(dossier_domain=make_domain(tenants.member), amount=D("40000"), is_derogatory=False, by=tenants.ars_a)
    with pytest.raises(ApplicationError) as refused:
        seed_commit(dossier_domain=make_domain(tenants.support), amount=D("10000.01"), is_derogatory=False, by=tenants.ars_a)
    assert "secteur public" in refused.value.message
    seed_commit(dossier_domain=make_domain(tenants.support), amount=D("10000"), is_derogatory=False, by=tenants.ars_a)
    seed_commit(dossier_domain=make_domain(tenants.clinic), amount=D("25000"), is_derogatory=False, by=tenants.ars_a)
    with pytest.raises(ApplicationError, match="secteur privé"):
        seed_commit(dossier_domain=make_domain(tenants.clinic, "D3"), amount=D("1"), is_derogatory=False, by=tenants.ars_a)
    seed_commit(dossier_domain=make_domain(espic), amount=D("5000"), is_derogatory=False, by=tenants.ars_a)

    by_sector = {s.sector: s for s in sector_seed_balances(envelope_a)}
    assert (by_sector["public"].ceiling, by_sector["public"].used, by_sector["public"].available) == (D("50000.00"), D("50000.00"), D("0.00"))
    assert (by_sector["private"].used, by_sector["private"].available) == (D("25000.00"), D("0.00"))
    assert (by_sector["espic"].used, by_sector["espic"].available) == (D("5000.00"), D("20000.00"))


def test_sector_quotas_validation_and_removal(tenants, envelope_a, make_domain):
    with pytest.raises(ApplicationError, match="100 %"):
        sector_quotas_set(envelope=envelope_a, quotas={"public": D("60"), "private": D("50")}, by=tenants.ars_a)
    with pytest.raises(PermissionRefused):
        sector_quotas_set(envelope=envelope_a, quotas={"public": D("60")}, by=tenants.ars_b)
    seed_commit(dossier_domain=make_domain(tenants.clinic), amount=D("30000"), is_derogatory=False, by=tenants.ars_a)
    with pytest.raises(ApplicationError, match="inférieur à l'amorçage déjà engagé"):
        sector_quotas_set(envelope=envelope_a, quotas={"private": D("29.99")}, by=tenants.ars_a)
    sector_quotas_set(envelope=envelope_a, quotas={"private": D("30"), "public": D("40")}, by=tenants.ars_a)
    sector_quotas_set(envelope=envelope_a, quotas={"private": D("30"), "public": None}, by=tenants.ars_a)
    assert list(SectorQuota.objects.filter(envelope=envelope_a).values_list("sector", flat=True)) == ["private"]
    assert AuditRecord.objects.filter(action="envelope.sector_quotas_set").count() == 2


def test_only_the_regions_ars_commits_its_money(tenants, envelope_a, make_domain):
    domain = make_domain(tenants.member)
    for outsider in (tenants.ars_b, tenants.dgos, tenants.director, tenants.auditor):
        with pytest.raises(PermissionRefused):
            seed_commit(dossier_domain=domain, amount=D("1000"), is_derogatory=False, by=outsider)
    assert not entries(envelope_a, "seed_commitment").exists()


def test_a_domain_is_committed_once_and_amounts_are_checked(tenants, envelope_a, make_domain):
    domain = make_domain(tenants.member)
    for bad in ("12.345", "-5", "0", "abc"):
        with pytest.raises(ApplicationError):
            seed_commit(dossier_domain=domain, amount=bad, is_derogatory=False, by=tenants.ars_a)
    seed_commit(dossier_domain=domain, amount=D("1000"), is_derogatory=False, by=tenants.ars_a)
    with pytest.raises(ApplicationError, match="déjà engagé"):
        seed_commit(dossier_domain=domain, amount=D("1000"), is_derogatory=False, by=tenants.ars_a)


def test_a_dossier_without_envelope_is_refused_clearly(tenants, make_domain):
    domain = make_domain(tenants.member)
    with pytest.raises(ApplicationError, match="Aucune enveloppe n'est ouverte"):
        seed_commit(dossier_domain=domain, amount=D("1000"), is_derogatory=False, by=tenants.ars_a)
    # Nothing committed nor paid: closing the dossier releases and claims nothing, envelope or not.
    assert commitments_release(dossier=domain.dossier, reason="Abandon", by=tenants.ars_a) == []
    assert refund_claims_for(dossier_domains=[domain], pots={"seed", "usage"}, reason="Contrôle", key_prefix="a") == []


# --- Payments ------------------------------------------------------------------------------------------------------


def test_seed_payment_pays_the_commitment_once(tenants, envelope_a, make_domain):
    domain = make_domain(tenants.member)
    with pytest.raises(ApplicationError, match="Aucun financement d'amorçage engagé"):
        seed_pay(dossier_domain=domain, by=tenants.ars_a)
    seed_commit(dossier_domain=domain, amount=D("25000"), is_derogatory=True, by=tenants.ars_a)
    available = balances(envelope_a).seed_available
    payment = seed_pay(dossier_domain=domain, by=tenants.ars_a)
    again = seed_pay(dossier_domain=domain, by=tenants.ars_a)
    assert again.pk == payment.pk
    assert (payment.kind, payment.amount, payment.is_derogatory, payment.idempotency_key) == (
        "seed_payment", D("25000.00"), True, f"seed_payment:{domain.pk}",
    )
    assert balances(envelope_a).seed_paid == D("25000.00")
    assert balances(envelope_a).seed_available == available  # a payment consumes a commitment
    with pytest.raises(PermissionRefused):
        seed_pay(dossier_domain=domain, by=tenants.ars_b)


def test_usage_funding_committed_within_the_usage_credits_and_paid_once(tenants, envelope_a, make_domain):
    # Annex 2 §2: usage funding from the 80 % part, total minus seed, no intermediate payment.
    domain = make_domain(tenants.member)
    with pytest.raises(ApplicationError, match="Crédits d'usage insuffisants"):
        usage_commit(dossier_domain=domain, amount=D("400000.01"), by=tenants.ars_a)
    commitment = usage_commit(dossier_domain=domain, amount=D("275000"), by=tenants.ars_a)
    assert commitment.idempotency_key == f"usage_commitment:{domain.pk}"
    with pytest.raises(ApplicationError, match="déjà engagé"):
        usage_commit(dossier_domain=domain, amount=D("1"), by=tenants.ars_a)
    payment = usage_pay(dossier_domain=domain, by=tenants.ars_a)
    assert usage_pay(dossier_domain=domain, by=tenants.ars_a).pk == payment.pk
    assert payment.idempotency_key == f"usage_payment:{domain.pk}"
    b = balances(envelope_a)
    assert (b.usage_committed, b.usage_paid, b.usage_available) == (D("275000.00"), D("275000.00"), D("125000.00"))
    assert LedgerEntry.objects.filter(kind="usage_payment").aggregate(s=Sum("amount"))["s"] <= b.usage_committed


# --- Releases and corrections --------------------------------------------------------------------------------------


def test_commitments_release_corrects_what_is_not_paid(tenants, envelope_a, make_domain):
    seed_domain = make_domain(tenants.member, "D2")
    usage_domain = DossierDomainFactory(dossier=seed_domain.dossier, domain_code="D3")
    seed_commit(dossier_domain=seed_domain, amount=D("30000"), is_derogatory=False, by=tenants.ars_a)
    seed_pay(dossier_domain=seed_domain, by=tenants.ars_a)
    usage_commitment = usage_commit(dossier_domain=usage_domain, amount=D("100000"), by=tenants.ars_a)
    with pytest.raises(PermissionRefused):
        commitments_release(dossier=seed_domain.dossier, reason="Abandon", by=tenants.director)

    released = commitments_release(dossier=seed_domain.dossier, reason="Abandon du projet", by=tenants.ars_a)

    assert [(e.kind, e.amount, e.corrects_id) for e in released] == [("usage_commitment", D("-100000.00"), usage_commitment.pk)]
    b = balances(envelope_a)
    assert (b.seed_committed, b.usage_committed, b.usage_available) == (D("30000.00"), D("0.00"), D("400000.00"))
    assert commitments_release(dossier=seed_domain.dossier, reason="Encore", by=tenants.dgos) == []
    assert AuditRecord.objects.filter(action="ledger.commitments_release").count() == 1


def test_entry_correction_is_a_new_negative_entry_and_frees_the_pot(tenants, envelope_a, make_domain):
    domain = make_domain(tenants.member)
    commitment = seed_commit(dossier_domain=domain, amount=D("20000"), is_derogatory=True, by=tenants.ars_a)
    with pytest.raises(PermissionRefused):
        entry_correct(entry=commitment, reason="Erreur de saisie", by=tenants.ars_b)
    correction = entry_correct(entry=commitment, reason="Erreur de saisie", by=tenants.ars_a)
    assert (correction.kind, correction.amount, correction.corrects_id, correction.is_derogatory) == (
        "seed_commitment", D("-20000.00"), commitment.pk, True,
    )
    assert "Correction de l'écriture n° " in correction.label
    assert balances(envelope_a).seed_available == D("100000.00")
    assert derogatory_seed_status(envelope_a).used == D("0.00")
    commitment.refresh_from_db()
    assert commitment.amount == D("20000.00")  # the corrected entry is untouched
    with pytest.raises(ApplicationError, match="déjà entièrement corrigée"):
        entry_correct(entry=commitment, reason="Encore", by=tenants.ars_a)
    with pytest.raises(ApplicationError, match="ne se corrige pas"):
        entry_correct(entry=correction, reason="Encore", by=tenants.ars_a)
    # Once corrected, the domain may be committed again (a new idempotency key).
    again = seed_commit(dossier_domain=domain, amount=D("15000"), is_derogatory=False, by=tenants.ars_a)
    assert again.idempotency_key == f"seed_commitment:{domain.pk}:2"


def test_corrections_keep_paid_within_committed_and_claims_within_paid(tenants, envelope_a, make_domain):
    domain = make_domain(tenants.member)
    commitment = seed_commit(dossier_domain=domain, amount=D("20000"), is_derogatory=False, by=tenants.ars_a)
    payment = seed_pay(dossier_domain=domain, by=tenants.ars_a)
    with pytest.raises(ApplicationError, match="déjà été versés"):
        entry_correct(entry=commitment, reason="Erreur", by=tenants.ars_a)
    [claim] = refund_claims_for(dossier_domains=[domain], pots={"seed"}, reason="Contrôle", key_prefix="test")
    with pytest.raises(ApplicationError, match="corrigez d'abord la demande"):
        entry_correct(entry=payment, reason="Versement saisi par erreur", by=tenants.ars_a)
    refund_receive(claim=claim, amount=D("100"), by=tenants.ars_a)
    with pytest.raises(ApplicationError, match="corrigez d'abord le remboursement reçu"):
        entry_correct(entry=claim, reason="Erreur", by=tenants.ars_a)


def test_a_corrected_payment_can_be_paid_again(tenants, envelope_a, make_domain):
    domain = make_domain(tenants.member)
    seed_commit(dossier_domain=domain, amount=D("20000"), is_derogatory=False, by=tenants.ars_a)
    payment = seed_pay(dossier_domain=domain, by=tenants.ars_a)
    entry_correct(entry=payment, reason="Versement saisi trop tôt", by=tenants.ars_a)
    assert balances(envelope_a).seed_paid == D("0.00")
    repaid = seed_pay(dossier_domain=domain, by=tenants.ars_a)
    assert repaid.pk != payment.pk and repaid.amount == D("20000.00")
    assert repaid.idempotency_key == f"seed_payment:{domain.pk}:2"


def test_allocations_are_corrected_by_the_dgos_and_redeployments_never(tenants, undelegated_a, undelegated_b):
    envelope_a, envelope_b = undelegated_a, undelegated_b
    allocation = entries(envelope_a, "allocation").get(pot="seed")
    with pytest.raises(PermissionRefused):
        entry_correct(entry=allocation, reason="Erreur", by=tenants.ars_a)
    correction = entry_correct(entry=allocation, reason="Dotation saisie en double", by=tenants.dgos)
    assert balances(envelope_a).seed_total == D("0.00")
    assert correction.seed_available_after == D("0.00")
    given, _ = redeploy(from_envelope=envelope_b, to_envelope=envelope_a, pot="usage", amount=D("1"), reason="Test", by=tenants.dgos)
    with pytest.raises(ApplicationError, match="redéploie en sens inverse"):
        entry_correct(entry=given, reason="Erreur", by=tenants.ars_b)


# --- Refunds -------------------------------------------------------------------------------------------------------


def _paid_domain(tenants, make_domain, establishment, seed=D("20000"), usage=None):
    domain = make_domain(establishment)
    seed_commit(dossier_domain=domain, amount=seed, is_derogatory=True, by=tenants.ars_a)
    seed_pay(dossier_domain=domain, by=tenants.ars_a)
    if usage:
        usage_commit(dossier_domain=domain, amount=usage, by=tenants.ars_a)
        usage_pay(dossier_domain=domain, by=tenants.ars_a)
    return domain


def test_refund_claims_claim_what_was_paid_once(tenants, envelope_a, make_domain):
    # Annex 2 §2: prerequisites not reached on 01/01/2021 → the seed funding is refunded.
    paid = _paid_domain(tenants, make_domain, tenants.member)
    unpaid = make_domain(tenants.support)
    claims = refund_claims_for(
        dossier_domains=[paid, unpaid], pots={"seed"}, reason="Prérequis HOP'EN non atteints au 01/01/2021",
        key_prefix="prerequisites_refund",
    )
    assert [(c.dossier_domain_id, c.pot, c.amount, c.idempotency_key, c.created_by) for c in claims] == [
        (paid.pk, "seed", D("20000.00"), f"prerequisites_refund:{paid.pk}:seed", None)
    ]
    assert claims[0].is_derogatory and claims[0].sector == "public"
    again = refund_claims_for(
        dossier_domains=[paid, unpaid], pots={"seed"}, reason="Prérequis HOP'EN non atteints au 01/01/2021",
        key_prefix="prerequisites_refund",
    )
    assert again == []
    assert entries(envelope_a, "refund_claim").count() == 1
    assert balances(envelope_a).refunds_claimed == D("20000.00")
    assert AuditRecord.objects.filter(action="ledger.refund_claim", actor=None).count() == 1
    # Another event (an audit failure) claims nothing more: everything paid is already claimed.
    assert refund_claims_for(dossier_domains=[paid], pots={"seed", "usage"}, reason="Contrôle", key_prefix="audit") == []


def test_refund_claims_check_permission_when_a_user_asks(tenants, envelope_a, make_domain):
    paid = _paid_domain(tenants, make_domain, tenants.member, usage=D("100000"))
    with pytest.raises(PermissionRefused):
        refund_claims_for(dossier_domains=[paid], pots={"seed"}, reason="x", key_prefix="k", by=tenants.ars_b)
    claims = refund_claims_for(
        dossier_domains=[paid], pots={"seed", "usage"}, reason="Contrôle non conforme", key_prefix="audit", by=tenants.auditor
    )
    assert sorted((c.pot, c.amount) for c in claims) == [("seed", D("20000.00")), ("usage", D("100000.00"))]


def test_refund_claims_make_a_constant_number_of_queries(tenants, envelope_a, make_domain):
    few = [_paid_domain(tenants, make_domain, tenants.member, seed=D("1000")) for _ in range(2)]
    many = [_paid_domain(tenants, make_domain, tenants.support, seed=D("1000")) for _ in range(12)]
    with CaptureQueriesContext(connection) as small:
        assert len(refund_claims_for(dossier_domains=few, pots={"seed"}, reason="r", key_prefix="a")) == 2
    with CaptureQueriesContext(connection) as large:
        assert len(refund_claims_for(dossier_domains=many, pots={"seed"}, reason="r", key_prefix="a")) == 12
    # Whatever the number of domains: domains, envelopes paid from, audit-chain lock, envelope locks, sums, payments,
    # recorded keys, last states, insert; audit: lock, previous hash, insert — 12, and the savepoint pair.
    assert len(large.captured_queries) == len(small.captured_queries) <= 14


def test_refunds_received_return_to_the_envelope_when_the_programme_says_so(tenants, envelope_a, make_domain):
    # `Programme.refunds_return_to_envelope`: a programme whose text returns the money recovered to the region.
    Programme.objects.filter(pk=envelope_a.programme_id).update(refunds_return_to_envelope=True)
    domain = _paid_domain(tenants, make_domain, tenants.member)
    [claim] = refund_claims_for(dossier_domains=[domain], pots={"seed"}, reason="Prérequis", key_prefix="p")
    available = balances(envelope_a).seed_available
    with pytest.raises(PermissionRefused):
        refund_receive(claim=claim, amount=D("100"), by=tenants.ars_b)
    received = refund_receive(claim=claim, amount=D("5000"), by=tenants.ars_a)
    assert (received.kind, received.counterpart_id, received.amount) == ("refund_received", claim.pk, D("5000.00"))
    assert balances(envelope_a).seed_available == available + D("5000")
    with pytest.raises(ApplicationError, match="restent dus"):
        refund_receive(claim=claim, amount=D("15000.01"), by=tenants.ars_a)
    refund_receive(claim=claim, amount=D("15000"), by=tenants.ars_a)
    b = balances(envelope_a)
    assert (b.refunds_claimed, b.refunds_received, b.seed_available) == (D("20000.00"), D("20000.00"), available + D("20000"))
    with pytest.raises(ApplicationError):
        refund_receive(claim=claim, amount=D("0.01"), by=tenants.ars_a)
    with pytest.raises(ApplicationError, match="demande de remboursement"):
        refund_receive(claim=received, amount=D("1"), by=tenants.ars_a)
    # The refunded derogatory seed frees room under the derogatory ceiling again.
    assert derogatory_seed_status(envelope_a).used == D("0.00")


# --- Redeployment --------------------------------------------------------------------------------------------------


def test_redeployment_is_a_pair_of_entries_by_the_dgos(tenants, undelegated_a, undelegated_b):
    envelope_a, envelope_b = undelegated_a, undelegated_b
    # Annex 4 §1: « le ministère pourra redéployer une partie des fonds vers d'autres régions ».
    given, received = redeploy(
        from_envelope=envelope_a, to_envelope=envelope_b, pot="seed", amount=D("10000"), reason="Sous-consommation",
        by=tenants.dgos,
    )
    assert (given.envelope_id, given.kind, given.amount) == (envelope_a.pk, "redeployment_out", D("10000.00"))
    assert (received.envelope_id, received.kind, received.counterpart_id) == (envelope_b.pk, "redeployment_in", given.pk)
    assert balances(envelope_a).seed_total == D("90000.00")
    assert balances(envelope_b).seed_total == D("60000.00")
    assert AuditRecord.objects.filter(action="ledger.redeploy").count() == 2
    for outsider in (tenants.ars_a, tenants.auditor, tenants.admin):
        with pytest.raises(PermissionRefused):
            redeploy(from_envelope=envelope_a, to_envelope=envelope_b, pot="seed", amount=D("1"), reason="x", by=outsider)
    with pytest.raises(ApplicationError, match="Crédits d'amorçage insuffisants dans l'enveloppe Hauts-de-France"):
        redeploy(from_envelope=envelope_a, to_envelope=envelope_b, pot="seed", amount=D("90000.01"), reason="x", by=tenants.dgos)
    with pytest.raises(ApplicationError, match="deux régions différentes"):
        redeploy(from_envelope=envelope_a, to_envelope=envelope_a, pot="seed", amount=D("1"), reason="x", by=tenants.dgos)


def test_redeployment_is_all_or_nothing(tenants, undelegated_a, undelegated_b):
    envelope_a, envelope_b = undelegated_a, undelegated_b
    real_append = redeployment.append
    calls = []

    def failing_second(movement, **kwargs):
        calls.append(movement.kind)
        if len(calls) == 2:
            raise DatabaseError("panne simulée")
        return real_append(movement, **kwargs)

    with mock.patch.object(redeployment, "append", side_effect=failing_second), pytest.raises(DatabaseError):
        redeploy(from_envelope=envelope_a, to_envelope=envelope_b, pot="usage", amount=D("1000"), reason="x", by=tenants.dgos)
    assert calls == ["redeployment_out", "redeployment_in"]
    assert not LedgerEntry.objects.filter(kind__startswith="redeployment").exists()


def test_redeployment_cannot_take_committed_credits(tenants, envelope_a, envelope_b, make_domain):
    seed_commit(dossier_domain=make_domain(tenants.member), amount=D("95000"), is_derogatory=False, by=tenants.ars_a)
    with pytest.raises(ApplicationError, match="5\u00a0000,00\u00a0€ disponibles"):
        redeploy(from_envelope=envelope_a, to_envelope=envelope_b, pot="seed", amount=D("5000.01"), reason="x", by=tenants.dgos)


# --- The ledger is append-only ---------------------------------------------------------------------------------------


def test_the_ledger_is_never_updated_nor_deleted(tenants, envelope_a, make_domain):
    entry = seed_commit(dossier_domain=make_domain(tenants.member), amount=D("1000"), is_derogatory=False, by=tenants.ars_a)
    attempts = [
        lambda: LedgerEntry.objects.filter(pk=entry.pk).update(amount=D("1")),
        lambda: LedgerEntry.objects.filter(pk=entry.pk).delete(),
        lambda: LedgerEntry.objects.filter(envelope=envelope_a).delete(),
    ]
    for attempt in attempts:
        with pytest.raises(DatabaseError, match="ajout seul"), transaction.atomic():
            attempt()
    for sql in (
        "UPDATE envelopes_ledgerentry SET amount = 1 WHERE id = %s",
        "DELETE FROM envelopes_ledgerentry WHERE id = %s",
    ):
        with pytest.raises(DatabaseError, match="ajout seul"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [entry.pk])
    entry.amount = D("1")
    with pytest.raises(ValueError, match="ajout seul"):
        entry.save()
    with pytest.raises(ValueError, match="ajout seul"):
        entry.delete()
    fresh = LedgerEntry.objects.get(pk=entry.pk)
    assert fresh.amount == D("1000.00")
    assert LedgerEntry.objects.filter(envelope=envelope_a).count() == 5  # allocations, delegations, the commitment


def test_every_movement_is_audited_in_the_same_transaction(tenants, envelope_a, make_domain):
    domain = make_domain(tenants.member)
    entry = seed_commit(dossier_domain=domain, amount=D("1000"), is_derogatory=False, by=tenants.ars_a)
    record = AuditRecord.objects.get(action="ledger.seed_commit")
    assert (record.actor, record.object_type, record.object_id) == (tenants.ars_a, "envelopes.ledgerentry", str(entry.pk))
    assert record.changes["amount"] == [None, "1000.00"]
    assert record.changes["kind"] == [None, EntryKind.SEED_COMMITMENT]
    with pytest.raises(ApplicationError):
        seed_commit(dossier_domain=make_domain(tenants.support), amount=D("99000.01"), is_derogatory=False, by=tenants.ars_a)
    assert AuditRecord.objects.filter(action="ledger.seed_commit").count() == 1
