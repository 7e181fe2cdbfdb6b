"""Redeployment of credits between regions by the DGOS (annex 4 §1)."""

from django.db import transaction
from django.urls import reverse

from hopen import permissions
from hopen.exceptions import ApplicationError
from hopen.formatting import french_euros
from hopen.models import Role, User
from hopen.notifications import notify

from ..ledger import Movement, append, balances_of
from ..models import EntryKind, LedgerEntry, Pot
from ..rules import ZERO
from .common import POT_LABELS, REDEPLOYMENT_REFUSED, _audit_entries, _lock, _money, _reason, _require


def _ars_officers(region_ids):
    return User.objects.filter(
        is_active=True, role_assignments__role=Role.ARS_OFFICER, role_assignments__region_id__in=list(region_ids)
    ).distinct()


@transaction.atomic
def redeploy(*, from_envelope, to_envelope, pot, amount, reason, by) -> tuple[LedgerEntry, LedgerEntry]:
    """Annex 4 §1: « le ministère pourra redéployer une partie des fonds vers d'autres régions ». A pair of entries
    in one transaction: given by one envelope, received by the other (which points to it). Only credits neither
    committed nor delegated to the ARS move (annex 2 §3)."""
    _require(permissions.can_redeploy_envelopes(by), REDEPLOYMENT_REFUSED)
    if pot not in Pot.values:
        raise ApplicationError("La part redéployée est « seed » (amorçage) ou « usage ».")
    if from_envelope.pk == to_envelope.pk:
        raise ApplicationError("Choisissez deux régions différentes.")
    if from_envelope.programme_id != to_envelope.programme_id:
        raise ApplicationError("Un redéploiement se fait entre enveloppes du même programme.")
    amount = _money(amount)
    reason = _reason(reason)
    _lock([from_envelope.pk, to_envelope.pk])
    balances = balances_of([from_envelope.pk])[from_envelope.pk]
    available = balances.seed_available if pot == Pot.SEED else balances.usage_available
    if amount > available:
        raise ApplicationError(
            f"Crédits {POT_LABELS[pot]} insuffisants dans l'enveloppe {from_envelope.region} : {french_euros(amount)} "
            f"demandés, {french_euros(max(available, ZERO))} disponibles."
        )
    to_delegate = balances.seed_to_delegate if pot == Pot.SEED else balances.usage_to_delegate
    if amount > to_delegate:
        raise ApplicationError(
            f"Crédits {POT_LABELS[pot]} non délégués insuffisants dans l'enveloppe {from_envelope.region} : "
            f"{french_euros(amount)} demandés, {french_euros(max(to_delegate, ZERO))} restent à déléguer. Les crédits "
            "déjà délégués à l'ARS ne se redéploient pas : corrigez d'abord la délégation (annexe 2 §3)."
        )
    given = append(
        Movement(
            envelope_id=from_envelope.pk, kind=EntryKind.REDEPLOYMENT_OUT, pot=pot, amount=amount, by=by,
            label=f"Redéploiement vers {to_envelope.region} : {reason}",
        ),
        locked=True,
    )
    received = append(
        Movement(
            envelope_id=to_envelope.pk, kind=EntryKind.REDEPLOYMENT_IN, pot=pot, amount=amount, by=by,
            counterpart_id=given.pk, label=f"Redéploiement depuis {from_envelope.region} : {reason}",
        ),
        locked=True,
    )
    _audit_entries(by, "ledger.redeploy", [given, received])
    for envelope, verb in ((from_envelope, "retirés de"), (to_envelope, "ajoutés à")):
        notify(
            recipients=_ars_officers([envelope.region_id]),
            message=f"La DGOS a redéployé {french_euros(amount)} de crédits {POT_LABELS[pot]} {verb} l'enveloppe "
            f"{envelope.region} : {reason}",
            link=reverse("envelopes:detail", args=[envelope.region.code]),
            subject="HOP'EN — redéploiement de crédits",
        )
    return given, received
