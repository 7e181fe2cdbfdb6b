"""Corrections of ledger entries: a new entry of the same kind with a negative amount, pointing to the entry it
corrects; nothing is ever updated or deleted.
"""

from django.db import transaction
from django.db.models import Sum

from hopen import permissions
from hopen.audit import audit_record
from hopen.exceptions import ApplicationError
from hopen.formatting import french_euros

from ..ledger import Movement, append
from ..models import EntryKind, Envelope, LedgerEntry
from ..rules import ZERO
from .common import (
    ALLOCATION_CORRECTION_REFUSED,
    PAYMENT,
    REGION_MONEY_REFUSED,
    _domain_sums,
    _entry_changes,
    _lock,
    _reason,
    _require,
)


@transaction.atomic
def entry_correct(*, entry, reason, by) -> LedgerEntry:
    """Cancels what is left of an entry with a new entry of the same kind and the opposite amount (`corrects`).

    A commitment is never corrected below what was paid on it, a payment below what was claimed back, a claim
    below what was received; a redeployment is undone by a redeployment the other way; a correction is not
    corrected. Allocations: the DGOS; everything else: the region's ARS."""
    envelope = Envelope.objects.select_related("region").get(pk=entry.envelope_id)
    if entry.kind == EntryKind.ALLOCATION:
        _require(permissions.can_redeploy_envelopes(by), ALLOCATION_CORRECTION_REFUSED)
    else:
        _require(permissions.can_manage_region_money(by, envelope.region), REGION_MONEY_REFUSED)
    if entry.kind in (EntryKind.REDEPLOYMENT_IN, EntryKind.REDEPLOYMENT_OUT):
        raise ApplicationError("Un redéploiement ne se corrige pas : la DGOS redéploie en sens inverse.")
    if entry.corrects_id is not None or entry.amount < 0:
        raise ApplicationError("Une correction ne se corrige pas : corrigez l'écriture d'origine.")
    reason = _reason(reason)
    _lock([envelope.pk])
    remaining = entry.amount + (LedgerEntry.objects.filter(corrects=entry).aggregate(total=Sum("amount"))["total"] or ZERO)
    if remaining <= 0:
        raise ApplicationError(f"L'écriture n° {entry.sequence} est déjà entièrement corrigée.")
    _check_correction(entry, remaining)
    correction = append(
        Movement(
            envelope_id=envelope.pk, kind=entry.kind, pot=entry.pot, amount=-remaining, by=by,
            establishment_id=entry.establishment_id, sector=entry.sector, is_derogatory=entry.is_derogatory,
            dossier_domain_id=entry.dossier_domain_id, counterpart_id=entry.counterpart_id, corrects_id=entry.pk,
            label=f"Correction de l'écriture n° {entry.sequence} : {reason}",
        ),
        locked=True,
    )
    audit_record(actor=by, action="ledger.correct", target=correction, changes=_entry_changes(correction))
    return correction


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
