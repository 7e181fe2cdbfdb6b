"""Usage funding per member share (annex 2 §2): « Il convient de préciser que le GHT représente ici les
établissements parties au groupement candidats au volet financement et que le soutien financier intervient à
chaque atteinte des cibles d'usage par un établissement partie pour un domaine fonctionnel ».

Each candidate member's share of a selected domain (`DossierDomainShare`) moves on its own: targets reached (its
prerequisites — values and documents — and the domain's targets, read for that member only, `gates.share_facts`),
usage funding notified (its amount − its part of the seed, committed on the envelope under a key of its own, with
its letter) and paid. The domain's status follows its shares (`states.domain_status_of_shares`): « cibles
atteintes », « usage notifié », « versé » once every share is; when every selected domain is paid the dossier is
completed. The money still goes to the support establishment (annex 3 §2 « pour délégation à l'établissement
support du GHT »): the ledger entries name it, their keys and labels name the member's share.

An establishment's own dossier has exactly one share: its domain moves with it, under the domain's keys and state
machine (`require_domain_transition`), as before the shares had a state. A GHT dossier's domain-level call must
name the member (`establishment`: the instance, its id or its FINESS) — refused without it.

Lock order: dossier, domain, then the domain's shares (`select_for_update`), then the envelope (in
`envelopes.services`)."""

from decimal import Decimal

from django.utils import timezone

from funding.letters.models import LetterKind
from hopen import permissions
from hopen.audit import audit_record, diff, snapshot
from hopen.exceptions import ApplicationError, PermissionRefused
from hopen.formatting import french_euros

from .. import gates
from ..gate_facts import facts_of
from ..models import DomainStatus, DossierDomainShare
from ..rules import seed_parts, usage_amount
from ..states import (
    domain_status_of_shares,
    require_domain_transition,
    require_dossier_transition,
    require_share_transition,
)
from .common import (
    _ars_officers,
    _domain_state,
    _dossier_state,
    _envelopes,
    establishment_side,
    _establishment_users,
    _lock_domain,
    _notify,
    _now,
    _request_letter,
    _require_region_money,
)

SHARE_FIELDS = ["seed_part", "targets_reached_at", "usage_amount", "usage_notified_at", "usage_notified_by", "paid_at"]
STAGE_OF_DOMAIN = {
    DomainStatus.TARGETS_REACHED: "targets_reached", DomainStatus.USAGE_NOTIFIED: "usage_notified",
    DomainStatus.PAID: "paid",
}
MEMBER_REQUIRED = (
    "Dossier de GHT : précisez l'établissement partie concerné (FINESS) — le financement à l'usage intervient à "
    "chaque atteinte des cibles d'usage par un établissement partie (annexe 2 §2)."
)


# --- Locks and reads ------------------------------------------------------------------------------------------------


def _lock_shares(domain):
    dossier, domain = _lock_domain(domain)
    shares = list(
        DossierDomainShare.objects.select_for_update(of=("self",)).select_related("establishment")
        .filter(domain=domain).order_by("pk")
    )
    for share in shares:
        share.domain = domain
    return dossier, domain, shares


def _wanted(establishment) -> str:
    if establishment is None:
        return ""
    return str(getattr(establishment, "pk", establishment)).strip().upper()


def _share_of(dossier, domain, shares, establishment):
    """The share the call acts on: the single share of an establishment's own dossier; for a GHT dossier the
    member named by `establishment` (instance, id or FINESS) — ApplicationError (400) without it or for a stranger."""
    wanted = _wanted(establishment)
    if not dossier.is_ght_dossier and not wanted:
        if len(shares) != 1:
            raise ApplicationError(f"Le domaine {domain.domain_code} n'a pas de montant par établissement.")
        return shares[0]
    if not wanted:
        raise ApplicationError(MEMBER_REQUIRED, extra={"errors": {"establishment": [MEMBER_REQUIRED]}})
    share = next((s for s in shares if wanted in (str(s.establishment_id), s.establishment.finess)), None)
    if share is None:
        message = f"L'établissement « {wanted} » n'est pas candidat sur le domaine {domain.domain_code} de ce dossier."
        raise ApplicationError(message, extra={"errors": {"establishment": [message]}})
    return share


def _sync_seed_parts(domain, shares) -> None:
    """Annex 2 §2: the shares' parts of the seed sum to the domain's seed (`rules.seed_parts`, set at the
    selection); rows written before the parts existed get them here, while no share is notified yet."""
    if sum((s.seed_part for s in shares), Decimal("0.00")) == domain.seed_amount:
        return
    if any(s.usage_notified_at for s in shares):
        return
    try:
        parts = seed_parts(domain.seed_amount, [s.amount for s in shares])
    except ValueError:
        return
    for share, part in zip(shares, parts):
        if share.seed_part != part:
            share.seed_part = part
            share.save(update_fields=["seed_part"])


def assign_seed_parts(domain) -> list:
    """At the selection (annex 2 §2): the domain's seed split between its shares (`rules.seed_parts`); the domain row
    is locked by the caller. Returns the shares."""
    shares = list(DossierDomainShare.objects.select_for_update(of=("self",)).filter(domain=domain).order_by("pk"))
    try:
        parts = seed_parts(domain.seed_amount, [s.amount for s in shares]) if shares else []
    except ValueError:  # shares not summing to the domain's total (rows written by hand): split when they do
        return shares
    for share, part in zip(shares, parts):
        share.seed_part = part
        share.save(update_fields=["seed_part"])
    return shares


def _stage(dossier, domain, share) -> str:
    """An establishment's own dossier: its single share is where its domain is (rows may predate the shares'
    state); a GHT member's share: its own dates."""
    if not dossier.is_ght_dossier:
        return STAGE_OF_DOMAIN.get(domain.status, "waiting")
    return share.stage


def _catch_up(dossier, domain, share) -> None:
    """The single share of an establishment's own dossier takes the dates its domain already has (the constraints
    need the earlier steps' dates)."""
    if dossier.is_ght_dossier:
        return
    stage = _stage(dossier, domain, share)
    if stage != "waiting" and share.targets_reached_at is None:
        share.targets_reached_at = domain.targets_reached_at or domain.decided_at or timezone.now()
    if stage in ("usage_notified", "paid") and share.usage_notified_at is None:
        share.usage_amount = usage_amount(share.amount, share.seed_part)
        share.usage_notified_at = domain.usage_notified_at or share.targets_reached_at
        share.usage_notified_by = domain.usage_notified_by


def _member(share) -> str:
    return f"{share.establishment.name} (FINESS {share.establishment.finess})"


def _facts(dossier, domain, share, now):
    facts = facts_of(domain, today=timezone.localdate(now))
    if dossier.is_ght_dossier:  # annex 2 §2: only this member's facts, its own part of the seed
        return gates.share_facts(facts, share.establishment_id, share.seed_part)
    return facts


def _begin(action, *, domain, establishment, by, now, check_permission):
    """Lock, check the permission, find the share and its transition: (dossier, domain, shares, share, target)."""
    dossier, domain, shares = _lock_shares(domain)
    check_permission(dossier)
    share = _share_of(dossier, domain, shares, establishment)
    if dossier.is_ght_dossier:
        target = require_share_transition(
            _stage(dossier, domain, share), domain.status, dossier.status, action, share.establishment.name
        )
    else:
        require_domain_transition(domain.status, dossier.status, action)
        target = {"reach_targets": "targets_reached", "notify_usage": "usage_notified", "pay_usage": "paid"}[action]
    _sync_seed_parts(domain, shares)
    _catch_up(dossier, domain, share)
    return dossier, domain, shares, share, target


def _follow(dossier, domain, shares, share, action, by, now) -> bool:
    """The domain's status follows its shares (annex 2 §2); the dossier is completed when every selected domain is
    paid. Returns True when the dossier was completed."""
    stages = [share.stage if s.pk == share.pk else s.stage for s in shares] if dossier.is_ght_dossier else [share.stage]
    status = domain_status_of_shares(stages)
    if status == domain.status:
        return False
    before = _domain_state(domain)
    domain.status = require_domain_transition(domain.status, dossier.status, action)
    if status == DomainStatus.TARGETS_REACHED:
        domain.targets_reached_at = now
    elif status == DomainStatus.USAGE_NOTIFIED:
        domain.usage_amount = usage_amount(domain.total_amount, domain.seed_amount)
        domain.usage_notified_at, domain.usage_notified_by = now, by
    elif status == DomainStatus.PAID:
        domain.paid_at = now
    domain.save()
    domain_action = {"reach_targets": "reach_targets", "notify_usage": "notify_usage", "pay_usage": "usage_payment"}
    audit_record(
        actor=by, action=f"dossier_domain.{domain_action[action]}", target=domain,
        changes=diff(before, _domain_state(domain)),
    )
    if domain.status != DomainStatus.PAID:
        return False
    if not all(s in (DomainStatus.PAID, DomainStatus.REFUSED) for s in dossier.domains.values_list("status", flat=True)):
        return False
    dossier_before = _dossier_state(dossier)
    dossier.status = require_dossier_transition(dossier.status, "complete")
    dossier.updated_at = now
    dossier.save()
    audit_record(actor=by, action="dossier.complete", target=dossier, changes=diff(dossier_before, _dossier_state(dossier)))
    return True


def _write_share(share, by, action, before) -> None:
    share.save()
    audit_record(
        actor=by, action=f"dossier_domain_share.{action}", target=share, changes=diff(before, snapshot(share, SHARE_FIELDS))
    )


def _recipients(dossier, share):
    """The establishment side, and for a GHT dossier the member's own editors and directors."""
    users = list(establishment_side(dossier))
    if dossier.is_ght_dossier:
        users += list(_establishment_users([share.establishment_id]))
    return users


# --- The three steps of a share (annex 2 §2) -------------------------------------------------------------------------


def record_targets_reached(*, domain, by, now=None, establishment=None):
    """Annex 2 §2: « les soutiens financiers ne sont notifiés qu'une fois les seuils de prérequis et les valeurs
    cibles d'usage atteints par l'établissement » — for one member's share (its own prerequisites, values and
    documents, and the domain's targets). Returns (domain, share); called inside the service's transaction."""
    now = _now(now)

    def allowed(dossier):
        if not (
            permissions.can_file_dossier(by, dossier.establishment)
            or permissions.can_manage_region_money(by, dossier.region)
        ):
            raise PermissionRefused("L'atteinte des cibles est constatée par la direction de l'établissement ou par l'ARS.")

    dossier, domain, shares, share, _ = _begin(
        "reach_targets", domain=domain, establishment=establishment, by=by, now=now, check_permission=allowed
    )
    who = f" pour {_member(share)}" if dossier.is_ght_dossier else ""
    refusals = gates.targets_reached_gate(_facts(dossier, domain, share, now))
    if refusals:
        raise gates.GateRefused(
            refusals, f"Constat de l'atteinte des cibles du domaine {domain.domain_code}{who} d'après les valeurs déclarées"
        )
    before = snapshot(share, SHARE_FIELDS)
    share.targets_reached_at = now
    _write_share(share, by, "reach_targets", before)
    _follow(dossier, domain, shares, share, "reach_targets", by, now)
    _notify(
        [*_ars_officers(dossier.region_id), *_recipients(dossier, share)],
        f"Prérequis et cibles d'usage du domaine {domain.domain_code}{who} atteints (dossier {dossier.reference}) : "
        "le financement à l'usage peut être notifié.",
        dossier, exclude=by,
    )
    return domain, share


def notify_usage(*, domain, by, now=None, establishment=None):
    """Annex 2 §2: the usage funding — « le soutien financier (montant de l'amorçage soustrait si applicable) » —
    of one member's share: its amount minus its part of the seed, committed on the regional envelope under the
    share's key, with its notification letter. Returns (domain, share)."""
    now = _now(now)
    dossier, domain, shares, share, _ = _begin(
        "notify_usage", domain=domain, establishment=establishment, by=by, now=now,
        check_permission=lambda d: _require_region_money(
            by, d, "La notification du financement à l'usage revient à l'ARS de la région."
        ),
    )
    gates.require(gates.usage_notification_gate(_facts(dossier, domain, share, now)), "Notification du financement à l'usage")
    ght = dossier.is_ght_dossier
    # Annex 2 §2, one rule (`rules.usage_amount`): the share's amount minus its part of the seed; an establishment's
    # own dossier commits its domain's (its single share's) amount.
    share_usage = usage_amount(share.amount, share.seed_part)
    amount = share_usage if ght else usage_amount(domain.total_amount, domain.seed_amount)
    before = snapshot(share, SHARE_FIELDS)
    share.usage_amount = share_usage
    share.usage_notified_at, share.usage_notified_by = now, by
    _write_share(share, by, "notify_usage", before)
    if amount > 0:
        _envelopes().usage_commit(
            dossier_domain=domain, amount=amount, by=by, on=timezone.localdate(now), share=share if ght else None
        )
    _follow(dossier, domain, shares, share, "notify_usage", by, now)
    event_key = f"usage:{domain.pk}:share:{share.pk}" if ght else f"usage:{domain.pk}"
    _request_letter(dossier=dossier, kind=LetterKind.USAGE_NOTIFICATION, event_key=event_key, domain=domain)
    who = f" à {_member(share)}" if ght else ""
    _notify(
        _recipients(dossier, share),
        f"Financement à l'usage de {french_euros(amount)} notifié{who} pour le domaine {domain.domain_code} du dossier "
        f"{dossier.reference}.",
        dossier,
    )
    return domain, share


def record_usage_payment(*, domain, by, now=None, establishment=None):
    """Annex 2 §2: the usage funding notified for one member's share is paid (after the seed: « aucun versement
    intermédiaire entre l'amorçage éventuel et l'atteinte des cibles »); the domain is « versé » when every share
    is, the dossier completed when every selected domain is. Returns (domain, share)."""
    now = _now(now)
    dossier, domain, shares, share, _ = _begin(
        "pay_usage", domain=domain, establishment=establishment, by=by, now=now,
        check_permission=lambda d: _require_region_money(
            by, d, "Le versement du financement à l'usage revient à l'ARS de la région."
        ),
    )
    gates.require(gates.usage_payment_gate(_facts(dossier, domain, share, now)), "Versement du financement à l'usage")
    ght = dossier.is_ght_dossier
    amount = share.usage_amount if ght else domain.usage_amount
    before = snapshot(share, SHARE_FIELDS)
    if amount and amount > 0:
        _envelopes().usage_pay(dossier_domain=domain, by=by, on=timezone.localdate(now), share=share if ght else None)
    share.paid_at = now
    _write_share(share, by, "usage_payment", before)
    completed = _follow(dossier, domain, shares, share, "pay_usage", by, now)
    who = f" à {_member(share)}" if ght else ""
    text = (
        f"Financement à l'usage de {french_euros(amount or Decimal('0'))} versé{who} pour le domaine "
        f"{domain.domain_code} du dossier {dossier.reference}."
    )
    if completed:
        text += " Tous les domaines sélectionnés sont versés : le dossier est soldé."
    _notify(_recipients(dossier, share), text, dossier)
    return domain, share

