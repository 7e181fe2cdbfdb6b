"""After the decision (annex 2 §2, annex 4): payment of the seed, targets reached, usage funding notified and paid,
and the closure of a dossier (refund claims after an audit failure)."""

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from funding.letters.models import LetterKind
from hopen import permissions
from hopen.audit import audit_record, diff
from hopen.exceptions import ApplicationError, PermissionRefused
from hopen.formatting import french_euros

from .. import gates
from ..gate_facts import facts_of
from ..models import ClosureKind, DomainStatus, Dossier, DossierDomain, DossierStatus
from ..selectors import SEED_PAYABLE_STATUSES
from ..states import TransitionRefused, require_dossier_transition
from . import shares
from .common import (
    _ars_officers,
    _date,
    _domain_state,
    _dossier_state,
    _envelopes,
    establishment_side,
    _lock_domain,
    _lock_dossier,
    _notify,
    _now,
    _request_letter,
    _require_region_money,
)


# --- Funding of a selected domain (annex 2 §2) ----------------------------------------------------------------------


@transaction.atomic
def domain_record_seed_payment(*, domain, by, now=None) -> DossierDomain:
    """Annex 2 §2: « Le financement consacré à l'amorçage correspond au versement d'une partie du soutien financier
    total lors de la sélection du dossier » — the ARS records the payment of the seed it decided."""
    now = _now(now)
    dossier, domain = _lock_domain(domain)
    _require_region_money(by, dossier, "Le versement de l'amorçage revient à l'ARS de la région du dossier.")
    if dossier.status != DossierStatus.IN_PROGRESS:
        raise TransitionRefused(
            f"Impossible d'enregistrer le versement de l'amorçage : le dossier est « {DossierStatus(dossier.status).label} »."
        )
    if domain.status not in SEED_PAYABLE_STATUSES:
        raise TransitionRefused(
            f"Impossible d'enregistrer le versement de l'amorçage : le domaine est « {DomainStatus(domain.status).label} »."
        )
    if domain.seed_amount <= 0:
        raise ApplicationError(f"Aucun amorçage n'a été décidé pour le domaine {domain.domain_code}.")
    if domain.seed_paid_at is not None:
        raise TransitionRefused(
            f"L'amorçage du domaine {domain.domain_code} est déjà versé (le {_date(timezone.localdate(domain.seed_paid_at))})."
        )
    gates.require(gates.seed_payment_gate(facts_of(domain, today=timezone.localdate(now))), "Versement de l'amorçage")
    before = _domain_state(domain)
    _envelopes().seed_pay(dossier_domain=domain, by=by, on=timezone.localdate(now))
    domain.seed_paid_at = now
    domain.save()
    audit_record(actor=by, action="dossier_domain.seed_payment", target=domain, changes=diff(before, _domain_state(domain)))
    _notify(
        establishment_side(dossier),
        f"Amorçage de {french_euros(domain.seed_amount)} versé pour le domaine {domain.domain_code} du dossier "
        f"{dossier.reference}.",
        dossier,
    )
    return domain


@transaction.atomic
def domain_record_targets_reached(*, domain, by, now=None, establishment=None) -> DossierDomain:
    """Annex 2 §2: « les soutiens financiers ne sont notifiés qu'une fois les seuils de prérequis et les valeurs
    cibles d'usage atteints par l'établissement, toutes activités confondues » — recorded by the establishment
    (its director; the GHT support establishment) or the ARS, from the declared values. For a GHT dossier, per
    member (`establishment`, required: « à chaque atteinte des cibles d'usage par un établissement partie »); the
    domain reaches its targets when every member has (`shares`)."""
    domain, _ = shares.record_targets_reached(domain=domain, by=by, now=now, establishment=establishment)
    return domain


@transaction.atomic
def domain_notify_usage(*, domain, by, now=None, establishment=None) -> DossierDomain:
    """Annex 2 §2: the usage funding of a domain — « le soutien financier (montant de l'amorçage soustrait si
    applicable) » — notified by the ARS when its targets are reached, « par domaine, même si les cibles d'usage ne
    sont pas atteintes pour un autre domaine », and committed on the regional envelope. For a GHT dossier, per
    member (`establishment`, required): its amount minus its part of the seed (`shares`)."""
    domain, _ = shares.notify_usage(domain=domain, by=by, now=now, establishment=establishment)
    return domain


@transaction.atomic
def domain_record_usage_payment(*, domain, by, now=None, establishment=None) -> DossierDomain:
    """Annex 2 §2: the usage funding notified is paid; when every selected domain is paid the dossier is completed.
    For a GHT dossier, per member (`establishment`, required); the domain is paid when every member is."""
    domain, _ = shares.record_usage_payment(domain=domain, by=by, now=now, establishment=establishment)
    return domain


# --- Closure (annex 4) ----------------------------------------------------------------------------------------------


@transaction.atomic
def dossier_close(*, dossier, kind, reason, by, now=None) -> Dossier:
    """Annex 4: « l'établissement / GHT voit son dossier clôturé. Il remboursera les montants perçus au titre de
    l'amorçage et de l'usage s'ils ont été perçus » — closure for an audit failure or an abandonment: the amounts
    committed and not paid return to the envelope; after an audit failure the amounts paid are claimed back
    (one refund claim letter per claim)."""
    now = _now(now)
    dossier = _lock_dossier(dossier.pk)
    if not permissions.can_close_dossier(by, dossier):
        raise PermissionRefused("La clôture d'un dossier revient à l'ARS de la région ou à la DGOS.")
    target = require_dossier_transition(dossier.status, "close")
    reason = (reason or "").strip()
    if kind not in ClosureKind.values:
        raise ApplicationError(
            "Précisez le motif de clôture : contrôle non conforme ou abandon du projet.",
            extra={"errors": {"kind": ["Choisissez le motif de clôture."]}},
        )
    if not reason:
        raise ApplicationError(
            "Expliquez la clôture : l'explication est communiquée à l'établissement.",
            extra={"errors": {"reason": ["L'explication de la clôture est obligatoire."]}},
        )
    domains = list(DossierDomain.objects.select_for_update(of=("self",)).filter(dossier=dossier).order_by("pk"))
    envelopes = _envelopes()
    envelopes.commitments_release(dossier=dossier, reason=reason, by=by)
    claims = []
    if kind == ClosureKind.AUDIT_FAILURE:
        claims = envelopes.refund_claims_for(
            dossier_domains=domains, pots={"seed", "usage"}, reason=reason, key_prefix="audit-refund", by=by
        )
    before = _dossier_state(dossier)
    dossier.status, dossier.closed_at, dossier.closed_by = target, now, by
    dossier.closure_kind, dossier.closure_reason, dossier.updated_at = kind, reason, now
    dossier.save()
    audit_record(actor=by, action="dossier.close", target=dossier, changes=diff(before, _dossier_state(dossier)))
    by_pk = {d.pk: d for d in domains}
    for entry in claims:
        _request_letter(
            dossier=dossier, kind=LetterKind.REFUND_CLAIM, event_key=f"refund:{entry.pk}",
            domain=by_pk.get(entry.dossier_domain_id),
        )
    text = f"Dossier {dossier.reference} clôturé ({ClosureKind(kind).label}) : {reason}"
    if claims:
        total = sum((entry.amount for entry in claims), Decimal("0.00"))
        text += f" Remboursement demandé : {french_euros(total)}."
    _notify([*establishment_side(dossier), *_ars_officers(dossier.region_id)], text, dossier, exclude=by)
    return dossier
