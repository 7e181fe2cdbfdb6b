"""Refunds (annex 2 §2, annex 4): claims on what was paid, and the money received back."""

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum

from hopen import permissions
from hopen.audit import audit_record
from hopen.exceptions import ApplicationError
from funding.dossiers.gates import GateRefused, RefundReceiptFacts, refund_receipt_gate

from ..ledger import Movement, append, append_many
from ..models import EntryKind, Envelope, LedgerEntry, Pot
from ..rules import ZERO
from .common import (
    PAYMENT,
    POT_LABELS,
    REFUND_REFUSED,
    REGION_MONEY_REFUSED,
    _audit_entries,
    _domain_sums,
    _entry_changes,
    _lock,
    _money,
    _reason,
    _require,
)


@transaction.atomic
def refund_claims_for(*, dossier_domains, pots, reason, key_prefix, by=None) -> list[LedgerEntry]:
    """Claims back, per domain and pot, what was paid and not yet claimed (annex 2 §2: prerequisites not reached
    on 01/01/2021 → the seed funding; an audit failure → seed and usage).

    Set-based: a constant number of queries for any number of domains. Each claim carries the idempotency key
    `{key_prefix}:{domain pk}:{pot}`, and the amounts are read under the envelope locks, so that calling twice —
    even at the same time — claims each amount once. `by=None`: the deadline jobs (no permission check).
    Returns the entries created by this call only."""
    pots = set(pots)
    if not pots or not pots <= {Pot.SEED, Pot.USAGE}:
        raise ApplicationError("Les parts à rembourser sont « seed » (amorçage) et/ou « usage ».")
    reason = _reason(reason)
    domain_ids = sorted({getattr(d, "pk", d) for d in dossier_domains})
    if not domain_ids:
        return []
    from funding.models import DossierDomain

    domains = list(
        DossierDomain.objects.filter(pk__in=domain_ids).select_related("dossier__region").order_by("pk")
    )
    if by is not None:
        for domain in domains:
            _require(permissions.can_close_dossier(by, domain.dossier), REFUND_REFUSED)
    # The claims go to the envelopes the payments came from; nothing paid, nothing to lock nor claim.
    envelope_ids = set(
        LedgerEntry.objects.filter(dossier_domain_id__in=domain_ids, kind__in=list(PAYMENT.values()))
        .values_list("envelope_id", flat=True)
        .distinct()
    )
    if not envelope_ids:
        return []
    _lock(envelope_ids)
    sums = _domain_sums(domain_ids, [*PAYMENT.values(), EntryKind.REFUND_CLAIM])
    payments = {
        (p["dossier_domain_id"], p["pot"]): p
        for p in LedgerEntry.objects.filter(
            dossier_domain_id__in=domain_ids, kind__in=list(PAYMENT.values()), corrects__isnull=True
        )
        .order_by("sequence")
        .values("dossier_domain_id", "pot", "envelope_id", "establishment_id", "sector", "is_derogatory")
    }
    movements = []
    for domain in domains:
        for pot in sorted(pots):
            paid = sums.get((domain.pk, PAYMENT[pot], pot), ZERO)
            claimed = sums.get((domain.pk, EntryKind.REFUND_CLAIM, pot), ZERO)
            amount = paid - claimed
            if amount <= 0:
                continue
            payment = payments[(domain.pk, pot)]
            movements.append(
                Movement(
                    envelope_id=payment["envelope_id"], kind=EntryKind.REFUND_CLAIM, pot=pot, amount=amount, by=by,
                    establishment_id=payment["establishment_id"], sector=payment["sector"],
                    is_derogatory=payment["is_derogatory"], dossier_domain_id=domain.pk,
                    idempotency_key=f"{key_prefix}:{domain.pk}:{pot}",
                    label=f"Demande de remboursement du financement {POT_LABELS[pot]} — domaine "
                    f"{domain.domain_code} du dossier {domain.dossier.reference} : {reason}",
                )
            )
    entries = append_many(movements, locked=True)
    _audit_entries(by, "ledger.refund_claim", entries)
    return entries


@dataclass(frozen=True)
class ShareClaim:
    """Annex 2 §2: the seed part one member must refund (`share` None: the domain's single share, domain key)."""

    dossier_domain: object
    share: object
    amount: Decimal


def share_claim_key(key_prefix: str, dossier_domain, share=None) -> str:
    """`{prefix}:{domain pk}:seed`, or `{prefix}:{domain pk}:share:{share pk}:seed` for a GHT member's share."""
    middle = f"{dossier_domain.pk}" if share is None else f"{dossier_domain.pk}:share:{share.pk}"
    return f"{key_prefix}:{middle}:{Pot.SEED}"


@transaction.atomic
def seed_refund_claims_for_shares(*, claims, reason, key_prefix, by=None) -> list[LedgerEntry]:
    """Annex 2 §2: « Si les prérequis ne sont pas atteints à date par l'établissement, il remboursera les montants
    perçus au titre de l'amorçage » — per member share: each claim asks back its member's part of the seed paid,
    once (key `share_claim_key`), never more than the domain's seed paid and not yet claimed (read under the
    envelope locks, so that two sweeps at once claim each part once). `by=None`: the deadline jobs. Returns the
    entries created by this call only."""
    reason = _reason(reason)
    claims = sorted(
        (c for c in claims if c.amount > 0),
        key=lambda c: (c.dossier_domain.pk, c.share.pk if c.share is not None else 0),
    )
    if not claims:
        return []
    domain_ids = sorted({c.dossier_domain.pk for c in claims})
    if by is not None:
        for claim in claims:
            _require(permissions.can_close_dossier(by, claim.dossier_domain.dossier), REFUND_REFUSED)
    envelope_ids = set(
        LedgerEntry.objects.filter(dossier_domain_id__in=domain_ids, kind=PAYMENT[Pot.SEED])
        .values_list("envelope_id", flat=True)
        .distinct()
    )
    if not envelope_ids:
        return []
    _lock(envelope_ids)
    sums = _domain_sums(domain_ids, [PAYMENT[Pot.SEED], EntryKind.REFUND_CLAIM])
    payments = {
        p["dossier_domain_id"]: p
        for p in LedgerEntry.objects.filter(
            dossier_domain_id__in=domain_ids, kind=PAYMENT[Pot.SEED], corrects__isnull=True
        )
        .order_by("-sequence")
        .values("dossier_domain_id", "envelope_id", "establishment_id", "sector", "is_derogatory")
    }
    keys = [share_claim_key(key_prefix, c.dossier_domain, c.share) for c in claims]
    recorded = set(LedgerEntry.objects.filter(idempotency_key__in=keys).values_list("idempotency_key", flat=True))
    left = {
        pk: sums.get((pk, PAYMENT[Pot.SEED], Pot.SEED), ZERO) - sums.get((pk, EntryKind.REFUND_CLAIM, Pot.SEED), ZERO)
        for pk in domain_ids
    }
    movements = []
    for claim, key in zip(claims, keys):
        domain = claim.dossier_domain
        amount = min(Decimal(claim.amount), left[domain.pk])
        if key in recorded or amount <= 0:
            continue
        left[domain.pk] -= amount
        payment = payments[domain.pk]
        who = "" if claim.share is None else f"{claim.share.establishment.name} — "
        movements.append(
            Movement(
                envelope_id=payment["envelope_id"], kind=EntryKind.REFUND_CLAIM, pot=Pot.SEED, amount=amount, by=by,
                establishment_id=payment["establishment_id"], sector=payment["sector"],
                is_derogatory=payment["is_derogatory"], dossier_domain_id=domain.pk, idempotency_key=key,
                label=f"Demande de remboursement du financement {POT_LABELS[Pot.SEED]} — {who}domaine "
                f"{domain.domain_code} du dossier {domain.dossier.reference} : {reason}",
            )
        )
    entries = append_many(movements, locked=True)
    _audit_entries(by, "ledger.refund_claim", entries)
    return entries


@transaction.atomic
def refund_receive(*, claim, amount, by) -> LedgerEntry:
    """A refund received against a claim. Never more than what the claim still awaits; the received entry points to
    its claim (`counterpart`).

    Annex 2 §2 and annex 4: « L'enveloppe régionale sera déduite des montants récupérés ». Unless the programme
    says otherwise (`Programme.refunds_return_to_envelope`), a second entry, in the same transaction, deducts the
    amount from the envelope (`refund_deduction`, pointing to the refund): the region's credits, and what was
    delegated of them, are reduced by it and its available credits do not regain it. Otherwise the amount returns
    to the pot's available credits."""
    envelope = Envelope.objects.select_related("region", "programme").get(pk=claim.envelope_id)
    _require(permissions.can_manage_region_money(by, envelope.region), REGION_MONEY_REFUSED)
    if claim.kind != EntryKind.REFUND_CLAIM or claim.corrects_id is not None:
        raise ApplicationError("Un remboursement s'enregistre sur une demande de remboursement.")
    amount = _money(amount)
    _lock([envelope.pk])
    claimed = claim.amount + (LedgerEntry.objects.filter(corrects=claim).aggregate(total=Sum("amount"))["total"] or ZERO)
    received = (
        LedgerEntry.objects.filter(kind=EntryKind.REFUND_RECEIVED, counterpart=claim).aggregate(total=Sum("amount"))[
            "total"
        ]
        or ZERO
    )
    outstanding = claimed - received
    refusals = refund_receipt_gate(
        RefundReceiptFacts(is_claim=True, amount=amount, outstanding=outstanding, claim_number=claim.sequence)
    )
    if refusals:
        raise GateRefused(refusals)
    entry = append(
        Movement(
            envelope_id=envelope.pk, kind=EntryKind.REFUND_RECEIVED, pot=claim.pot, amount=amount, by=by,
            establishment_id=claim.establishment_id, sector=claim.sector, is_derogatory=claim.is_derogatory,
            dossier_domain_id=claim.dossier_domain_id, counterpart_id=claim.pk,
            label=f"Remboursement reçu sur la demande n° {claim.sequence}",
        ),
        locked=True,
    )
    audit_record(actor=by, action="ledger.refund_receive", target=entry, changes=_entry_changes(entry))
    if not envelope.programme.refunds_return_to_envelope:
        deduction = append(
            Movement(
                envelope_id=envelope.pk, kind=EntryKind.REFUND_DEDUCTION, pot=claim.pot, amount=amount, by=by,
                establishment_id=claim.establishment_id, sector=claim.sector, is_derogatory=claim.is_derogatory,
                dossier_domain_id=claim.dossier_domain_id, counterpart_id=entry.pk,
                label=f"Enveloppe régionale déduite du remboursement reçu (écriture n° {entry.sequence}, annexe 2 §2)",
            ),
            locked=True,
        )
        audit_record(actor=by, action="ledger.refund_deduct", target=deduction, changes=_entry_changes(deduction))
    return entry
