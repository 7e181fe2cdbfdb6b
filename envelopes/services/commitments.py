"""Seed and usage funding of a dossier's domain (annex 2 §2): commitments within the programme's limits (20 % seed,
30/50 % derogatory seed, sector quotas), payments, and the release of a dossier's commitments.
"""

from decimal import Decimal

from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from hopen import permissions
from hopen.audit import audit_record
from hopen.exceptions import ApplicationError

from ..ledger import Movement, append, append_many, balances_of
from ..models import EntryKind, LedgerEntry, Pot, SectorQuota
from ..rules import ZERO, seed_commitment_refusal, usage_pot_refusal
from ..selectors import envelope_for_dossier, seed_breakdown_of
from .common import (
    COMMITMENT,
    PAYMENT,
    POT_LABELS,
    REGION_MONEY_REFUSED,
    RELEASE_REFUSED,
    _audit_entries,
    _beneficiary,
    _domain_label,
    _domain_sums,
    _entry_changes,
    _free_key,
    _lock,
    _money,
    _reason,
    _recorded,
    _refuse_if_committed,
    _require,
)
from .delegations import delegated_credits_check


@transaction.atomic
def seed_commit(*, dossier_domain, amount, is_derogatory: bool, by, on=None) -> LedgerEntry:
    """Annex 2 §2: the seed funding decided by the ARS at selection, committed on the region's envelope.

    Refused when it exceeds the seed credits left (20 % of the envelope) or the seed credits delegated to the region
    up to `on` (annex 2 §3), when derogatory seed funding would exceed
    30 % of the region's seed credits (50 % once raised, §5.1), or when the beneficiary's sector quota would be
    exceeded (004). Called inside the dossier service's transaction; `on`: the date of the decision (effective date
    of the entry; today by default)."""
    dossier = dossier_domain.dossier
    _require(permissions.can_manage_region_money(by, dossier.region), REGION_MONEY_REFUSED)
    amount = _money(amount)
    envelope_id = envelope_for_dossier(dossier).pk
    envelope = _lock([envelope_id])[envelope_id]
    _refuse_if_committed(dossier_domain, Pot.SEED)
    balances = balances_of([envelope_id])[envelope_id]
    breakdown = seed_breakdown_of([envelope_id])[envelope_id]
    establishment, sector = _beneficiary(dossier)
    share = SectorQuota.objects.filter(envelope_id=envelope_id, sector=sector).values_list("share_percent", flat=True).first()
    refusal = seed_commitment_refusal(
        amount,
        seed_available=balances.seed_available,
        seed_total=balances.seed_total,
        is_derogatory=is_derogatory,
        derogatory_used=breakdown.derogatory_used,
        raised=envelope.derogatory_ceiling_raised,
        sector=sector,
        share_percent=share,
        sector_used=breakdown.sector_used(sector),
    )
    if refusal:
        raise ApplicationError(refusal)
    delegated_credits_check(envelope_id, Pot.SEED, amount, on or timezone.localdate())
    entry = append(
        Movement(
            envelope_id=envelope_id, kind=EntryKind.SEED_COMMITMENT, pot=Pot.SEED, amount=amount, by=by,
            effective_on=on, establishment_id=establishment.pk, sector=sector, is_derogatory=bool(is_derogatory),
            dossier_domain_id=dossier_domain.pk, idempotency_key=_free_key(f"seed_commitment:{dossier_domain.pk}"),
            label=f"Amorçage{' dérogatoire' if is_derogatory else ''} — domaine {_domain_label(dossier_domain)}",
        ),
        locked=True,
    )
    audit_record(actor=by, action="ledger.seed_commit", target=entry, changes=_entry_changes(entry))
    return entry


def share_key(base: str, dossier_domain, share=None) -> str:
    """The idempotency key of a movement of a domain (`<base>:<domain pk>`) or of one GHT member's share of it
    (`<base>:<domain pk>:share:<share pk>`, annex 2 §2: usage funding per member)."""
    key = f"{base}:{dossier_domain.pk}"
    return key if share is None else f"{key}:share:{share.pk}"


def _keyed_sums(base: str, kind) -> Decimal:
    """The sum of the entries of one event (key `base`, or `base:2`… when made again after a correction) and of
    their corrections (which carry no key but point to the entry they correct)."""
    ids_amounts = list(
        LedgerEntry.objects.filter(kind=kind)
        .filter(Q(idempotency_key=base) | Q(idempotency_key__startswith=f"{base}:"))
        .values_list("pk", "amount")
    )
    if not ids_amounts:
        return ZERO
    corrections = LedgerEntry.objects.filter(corrects_id__in=[pk for pk, _ in ids_amounts]).aggregate(t=Sum("amount"))
    return sum((a for _, a in ids_amounts), ZERO) + (corrections["t"] or ZERO)


def _member_label(dossier_domain, share) -> str:
    if share is None:
        return f"domaine {_domain_label(dossier_domain)}"
    return f"{share.establishment.name} (FINESS {share.establishment.finess}) — domaine {_domain_label(dossier_domain)}"


@transaction.atomic
def usage_commit(*, dossier_domain, amount, by, on=None, share=None) -> LedgerEntry:
    """Annex 2 §2: the usage funding notified when the domain's targets are reached, on the 80 % usage part,
    within the usage credits delegated to the region up to `on` (annex 2 §3).

    `share`: one GHT member's share (« le soutien financier intervient à chaque atteinte des cibles d'usage par un
    établissement partie », annex 2 §2) — one live commitment per share (key `usage_commitment:<domain>:share:
    <share>`), still to the support establishment (annex 3 §2 « pour délégation à l'établissement support »)."""
    dossier = dossier_domain.dossier
    _require(permissions.can_manage_region_money(by, dossier.region), REGION_MONEY_REFUSED)
    amount = _money(amount)
    envelope_id = envelope_for_dossier(dossier).pk
    _lock([envelope_id])
    base = share_key("usage_commitment", dossier_domain, share)
    if share is None:
        _refuse_if_committed(dossier_domain, Pot.USAGE)
    elif _keyed_sums(base, EntryKind.USAGE_COMMITMENT) > 0:
        raise ApplicationError(f"Le financement à l'usage de {_member_label(dossier_domain, share)} est déjà engagé.")
    refusal = usage_pot_refusal(amount, balances_of([envelope_id])[envelope_id].usage_available)
    if refusal:
        raise ApplicationError(refusal)
    delegated_credits_check(envelope_id, Pot.USAGE, amount, on or timezone.localdate())
    establishment, sector = _beneficiary(dossier)
    entry = append(
        Movement(
            envelope_id=envelope_id, kind=EntryKind.USAGE_COMMITMENT, pot=Pot.USAGE, amount=amount, by=by,
            effective_on=on, establishment_id=establishment.pk, sector=sector, dossier_domain_id=dossier_domain.pk,
            idempotency_key=_free_key(base),
            label=f"Financement à l'usage — {_member_label(dossier_domain, share)}",
        ),
        locked=True,
    )
    audit_record(actor=by, action="ledger.usage_commit", target=entry, changes=_entry_changes(entry))
    return entry


def _pay(dossier_domain, pot, by, on=None, share=None) -> LedgerEntry:
    """The payment of what is committed and not yet paid on the domain (or on one GHT member's share of it), once:
    called again, it returns the payment already recorded (idempotency key `<kind>:<domain pk>`, or
    `<kind>:<domain pk>:share:<share pk>`)."""
    dossier = dossier_domain.dossier
    _require(permissions.can_manage_region_money(by, dossier.region), REGION_MONEY_REFUSED)
    envelope_id = envelope_for_dossier(dossier).pk
    key = share_key(PAYMENT[pot], dossier_domain, share)
    _lock([envelope_id])
    if share is None:
        sums = _domain_sums([dossier_domain.pk], [COMMITMENT[pot], PAYMENT[pot]])
        committed = sums.get((dossier_domain.pk, COMMITMENT[pot], pot), ZERO)
        paid = sums.get((dossier_domain.pk, PAYMENT[pot], pot), ZERO)
        commitments = LedgerEntry.objects.filter(dossier_domain=dossier_domain, kind=COMMITMENT[pot])
    else:
        commitment_key = share_key(COMMITMENT[pot], dossier_domain, share)
        committed = _keyed_sums(commitment_key, COMMITMENT[pot])
        paid = _keyed_sums(key, PAYMENT[pot])
        commitments = LedgerEntry.objects.filter(
            Q(idempotency_key=commitment_key) | Q(idempotency_key__startswith=f"{commitment_key}:"), kind=COMMITMENT[pot]
        )
    outstanding = committed - paid
    if outstanding <= 0:
        existing = _recorded(key)
        if existing is not None:
            return existing
        raise ApplicationError(
            f"Aucun financement {POT_LABELS[pot]} engagé et non versé pour {_member_label(dossier_domain, share)}."
        )
    commitment = commitments.filter(corrects__isnull=True).order_by("sequence").first()
    label = "Versement de l'amorçage" if pot == Pot.SEED else "Versement du financement à l'usage"
    entry = append(
        Movement(
            envelope_id=envelope_id, kind=PAYMENT[pot], pot=pot, amount=outstanding, by=by, effective_on=on,
            establishment_id=commitment.establishment_id, sector=commitment.sector,
            is_derogatory=commitment.is_derogatory, dossier_domain_id=dossier_domain.pk,
            idempotency_key=_free_key(key), label=f"{label} — {_member_label(dossier_domain, share)}",
        ),
        locked=True,
    )
    audit_record(actor=by, action=f"ledger.{pot}_pay", target=entry, changes=_entry_changes(entry))
    return entry


@transaction.atomic
def seed_pay(*, dossier_domain, by, on=None) -> LedgerEntry:
    """The seed funding paid at selection (annex 2 §2): the amount committed, once."""
    return _pay(dossier_domain, Pot.SEED, by, on)


@transaction.atomic
def usage_pay(*, dossier_domain, by, on=None, share=None) -> LedgerEntry:
    """The usage funding paid, without intermediate payment (annex 2 §2): the amount committed, once — for one GHT
    member's share when `share` is given (annex 2 §2 « à chaque atteinte des cibles d'usage par un établissement
    partie »)."""
    return _pay(dossier_domain, Pot.USAGE, by, on, share)


@transaction.atomic
def commitments_release(*, dossier, reason, by) -> list[LedgerEntry]:
    """Releases what is committed and not paid on the dossier's domains (closure, abandonment): one correction per
    commitment, back to the envelope. Paid money is claimed back with `refund_claims_for`, not released."""
    _require(permissions.can_close_dossier(by, dossier), RELEASE_REFUSED)
    reason = _reason(reason)
    committed = LedgerEntry.objects.filter(dossier_domain__dossier=dossier, kind__in=list(COMMITMENT.values()))
    envelope_ids = set(committed.values_list("envelope_id", flat=True).distinct())
    if not envelope_ids:
        return []
    _lock(envelope_ids)
    commitments = list(
        LedgerEntry.objects.filter(
            dossier_domain__dossier=dossier, kind__in=list(COMMITMENT.values()), corrects__isnull=True
        )
        .select_related("dossier_domain__dossier")
        .order_by("sequence")
    )
    if not commitments:
        return []
    sums = _domain_sums({c.dossier_domain_id for c in commitments}, [*COMMITMENT.values(), *PAYMENT.values()])
    movements, seen = [], set()
    for commitment in commitments:
        domain_id, pot = commitment.dossier_domain_id, commitment.pot
        if (domain_id, pot) in seen:
            continue
        seen.add((domain_id, pot))
        unpaid = sums.get((domain_id, COMMITMENT[pot], pot), ZERO) - sums.get((domain_id, PAYMENT[pot], pot), ZERO)
        if unpaid <= 0:
            continue
        movements.append(
            Movement(
                envelope_id=commitment.envelope_id, kind=commitment.kind, pot=pot, amount=-unpaid, by=by,
                establishment_id=commitment.establishment_id, sector=commitment.sector,
                is_derogatory=commitment.is_derogatory, dossier_domain_id=domain_id, corrects_id=commitment.pk,
                label=f"Libération de l'engagement non versé — domaine {_domain_label(commitment.dossier_domain)} : {reason}",
            )
        )
    entries = append_many(movements, locked=True)
    _audit_entries(by, "ledger.commitments_release", entries)
    return entries
