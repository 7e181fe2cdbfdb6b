"""Corrections of ledger entries: a new entry of the same kind with a negative amount, pointing to the entry it
corrects; nothing is ever updated or deleted.
"""

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from hopen import permissions
from hopen.exceptions import ApplicationError
from hopen.formatting import french_euros

from ..ledger import Movement, append_many, balances_of
from ..models import EntryKind, Envelope, LedgerEntry
from ..rules import POT_NAMES, ZERO
from ..selectors import delegated_room_of
from .common import (
    ALLOCATION_CORRECTION_REFUSED,
    PAYMENT,
    REGION_MONEY_REFUSED,
    _audit_entries,
    _domain_sums,
    _lock,
    _reason,
    _require,
)

DGOS_CORRECTED = (EntryKind.ALLOCATION, EntryKind.DELEGATION)


@transaction.atomic
def entry_correct(*, entry, reason, by) -> LedgerEntry:
    """Cancels what is left of an entry with a new entry of the same kind and the opposite amount (`corrects`).

    A commitment is never corrected below what was paid on it, a payment below what was claimed back, a claim
    below what was received; a redeployment is undone by a redeployment the other way; a correction is not
    corrected. Allocations and delegations: the DGOS; everything else: the region's ARS. A refund deducted from
    the envelope (annex 2 §2) is corrected with its deduction, in the same transaction."""
    envelope = Envelope.objects.select_related("region").get(pk=entry.envelope_id)
    if entry.kind in DGOS_CORRECTED:
        _require(permissions.can_redeploy_envelopes(by), ALLOCATION_CORRECTION_REFUSED)
    else:
        _require(permissions.can_manage_region_money(by, envelope.region), REGION_MONEY_REFUSED)
    if entry.kind in (EntryKind.REDEPLOYMENT_IN, EntryKind.REDEPLOYMENT_OUT):
        raise ApplicationError("Un redéploiement ne se corrige pas : la DGOS redéploie en sens inverse.")
    if entry.kind == EntryKind.REFUND_DEDUCTION:
        raise ApplicationError("Une déduction de l'enveloppe se corrige avec le remboursement reçu qu'elle accompagne.")
    if entry.corrects_id is not None or entry.amount < 0:
        raise ApplicationError("Une correction ne se corrige pas : corrigez l'écriture d'origine.")
    reason = _reason(reason)
    _lock([envelope.pk])
    remaining = entry.amount + (LedgerEntry.objects.filter(corrects=entry).aggregate(total=Sum("amount"))["total"] or ZERO)
    if remaining <= 0:
        raise ApplicationError(f"L'écriture n° {entry.sequence} est déjà entièrement corrigée.")
    _check_correction(entry, remaining)
    deductions = _deduction_corrections(entry, reason, by) if entry.kind == EntryKind.REFUND_RECEIVED else []
    _check_delegation(entry, remaining, deducted=bool(deductions))
    # The deduction is corrected first: the credits it took come back before the refund is taken away.
    *deducted, correction = append_many(
        [
            *deductions,
            Movement(
                envelope_id=envelope.pk, kind=entry.kind, pot=entry.pot, amount=-remaining, by=by,
                establishment_id=entry.establishment_id, sector=entry.sector, is_derogatory=entry.is_derogatory,
                dossier_domain_id=entry.dossier_domain_id, counterpart_id=entry.counterpart_id, corrects_id=entry.pk,
                label=f"Correction de l'écriture n° {entry.sequence} : {reason}",
            ),
        ],
        locked=True,
    )
    _audit_entries(by, "ledger.correct", [*deducted, correction])
    return correction


def _deduction_corrections(received, reason, by) -> list[Movement]:
    """The corrections of what is left of the deductions that accompany a refund received (annex 2 §2)."""
    movements = []
    for deduction in LedgerEntry.objects.filter(
        kind=EntryKind.REFUND_DEDUCTION, counterpart=received, corrects__isnull=True
    ).order_by("sequence"):
        left = deduction.amount + (
            LedgerEntry.objects.filter(corrects=deduction).aggregate(total=Sum("amount"))["total"] or ZERO
        )
        if left > 0:
            movements.append(
                Movement(
                    envelope_id=deduction.envelope_id, kind=deduction.kind, pot=deduction.pot, amount=-left, by=by,
                    establishment_id=deduction.establishment_id, sector=deduction.sector,
                    is_derogatory=deduction.is_derogatory, dossier_domain_id=deduction.dossier_domain_id,
                    counterpart_id=received.pk, corrects_id=deduction.pk,
                    label=f"Correction de l'écriture n° {deduction.sequence} avec le remboursement n° "
                    f"{received.sequence} : {reason}",
                )
            )
    return movements


def _check_delegation(entry, remaining, *, deducted: bool) -> None:
    """Annex 2 §3: an allocation is not corrected below what was delegated of it; a delegation, or a refund that
    returned to the region's credits, not below what was committed of the delegated credits from today on."""
    pot = entry.pot
    if entry.kind == EntryKind.ALLOCATION:
        balances = balances_of([entry.envelope_id])[entry.envelope_id]
        to_delegate = balances.seed_to_delegate if pot == "seed" else balances.usage_to_delegate
        if remaining > to_delegate:
            raise ApplicationError(
                f"{french_euros(max(to_delegate, ZERO))} de crédits {POT_NAMES[pot]} restent à déléguer : la dotation "
                "ne peut être corrigée au-delà. Corrigez d'abord la délégation (annexe 2 §3)."
            )
    elif entry.kind == EntryKind.DELEGATION or (entry.kind == EntryKind.REFUND_RECEIVED and not deducted):
        room = delegated_room_of(entry.envelope_id, pot, timezone.localdate())
        if remaining > room:
            raise ApplicationError(
                f"Crédits délégués déjà engagés : la correction retirerait {french_euros(remaining)} de crédits "
                f"{POT_NAMES[pot]} délégués alors que {french_euros(max(room, ZERO))} seulement restent non engagés "
                "(annexe 2 §3)."
            )


def _check_correction(entry, remaining) -> None:
    """What a correction would leave must stay coherent: paid ≤ committed, claimed ≤ paid, received ≤ claimed."""
    pot = entry.pot
    if entry.kind in (EntryKind.SEED_COMMITMENT, EntryKind.USAGE_COMMITMENT) and entry.dossier_domain_id:
        sums = _domain_sums([entry.dossier_domain_id], [entry.kind, PAYMENT[pot]])
        committed = sums.get((entry.dossier_domain_id, entry.kind, pot), ZERO)
        paid = sums.get((entry.dossier_domain_id, PAYMENT[pot], pot), ZERO)
        if committed - remaining < paid:
            raise ApplicationError(
                f"{french_euros(paid)} ont déjà été versés sur cet engagement : il ne peut être annulé. Demandez "
                "plutôt le remboursement du versement."
            )
    elif entry.kind in (EntryKind.SEED_PAYMENT, EntryKind.USAGE_PAYMENT) and entry.dossier_domain_id:
        sums = _domain_sums([entry.dossier_domain_id], [entry.kind, EntryKind.REFUND_CLAIM])
        paid = sums.get((entry.dossier_domain_id, entry.kind, pot), ZERO)
        claimed = sums.get((entry.dossier_domain_id, EntryKind.REFUND_CLAIM, pot), ZERO)
        if paid - remaining < claimed:
            raise ApplicationError(
                f"Un remboursement de {french_euros(claimed)} est demandé sur ce versement : corrigez d'abord la demande."
            )
    elif entry.kind == EntryKind.REFUND_CLAIM:
        received = (
            LedgerEntry.objects.filter(kind=EntryKind.REFUND_RECEIVED, counterpart=entry).aggregate(
                total=Sum("amount")
            )["total"]
            or ZERO
        )
        if received > 0:
            raise ApplicationError(
                f"{french_euros(received)} ont déjà été reçus sur cette demande : corrigez d'abord le remboursement reçu."
            )
