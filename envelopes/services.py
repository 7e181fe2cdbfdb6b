"""Writes on the regional envelopes (annex 2, annex 4, §5.1, 004): every movement of money, the derogatory ceiling
and the sector quotas. The ledger is written through `envelopes.ledger` only.

Each service checks the permission policy, locks the envelope rows, reads the balances under the lock, checks the
programme's limits (pure rules of `envelopes.rules`), appends its entries (`append_many(..., locked=True)`) and
writes its audit record, all in the caller's transaction. A correction is a new entry of the same kind with a
negative amount that points to the entry it corrects (`corrects`); nothing is ever updated or deleted.

Lock order, the same in every service here: the audit chain's advisory lock first (every write ends by auditing,
and a dossier service may already have audited before calling us), then the envelope rows in id order. Two
writers therefore never wait for each other in opposite orders.
"""

from decimal import Decimal, InvalidOperation

from django.db import connection, transaction
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone

from hopen import permissions
from hopen.audit import AUDIT_CHAIN_LOCK_ID, audit_record, audit_record_many, diff, snapshot
from hopen.exceptions import ApplicationError, PermissionRefused
from hopen.formatting import french_euros
from hopen.models import Role, User
from hopen.notifications import notify

from .ledger import Movement, append, append_many, balances_of, lock_envelopes
from .models import EntryKind, Envelope, LedgerEntry, Pot, SectorQuota
from .rules import (
    CENT,
    SECTOR_LABELS,
    SECTORS,
    ZERO,
    quotas_refusal,
    sector_ceiling,
    sector_of,
    seed_commitment_refusal,
    usage_pot_refusal,
)
from .selectors import envelope_for_dossier, seed_breakdown_of

REGION_MONEY_REFUSED = "Seule l'ARS de la région engage, verse et corrige les crédits de son enveloppe (annexe 4)."
REDEPLOYMENT_REFUSED = "Seule la DGOS redéploie des crédits entre régions (annexe 4 §1)."
REFUND_REFUSED = "Seule l'ARS de la région ou la DGOS demande le remboursement d'un financement."
RELEASE_REFUSED = "Seule l'ARS de la région ou la DGOS libère les engagements d'un dossier."
ALLOCATION_CORRECTION_REFUSED = "Seule la DGOS corrige la dotation d'une enveloppe régionale (annexe 2 §1)."
POT_LABELS = {Pot.SEED: "d'amorçage", Pot.USAGE: "à l'usage"}
COMMITMENT = {Pot.SEED: EntryKind.SEED_COMMITMENT, Pot.USAGE: EntryKind.USAGE_COMMITMENT}
PAYMENT = {Pot.SEED: EntryKind.SEED_PAYMENT, Pot.USAGE: EntryKind.USAGE_PAYMENT}
AUDITED_FIELDS = [
    "envelope", "sequence", "kind", "pot", "amount", "effective_on", "establishment", "sector", "is_derogatory",
    "dossier_domain", "counterpart", "corrects", "idempotency_key", "label", "seed_available_after",
    "usage_available_after",
]


# --- Helpers -----------------------------------------------------------------------------------------------------


def _require(allowed: bool, message: str) -> None:
    if not allowed:
        raise PermissionRefused(message)


def _money(amount) -> Decimal:
    """Euros to the cent, positive; anything else is refused with a French message (never a 500)."""
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, TypeError, ValueError):
        raise ApplicationError(f"Montant invalide : « {amount} ».") from None
    if not value.is_finite():
        raise ApplicationError(f"Montant invalide : « {amount} ».")
    if value != value.quantize(CENT):
        raise ApplicationError("Un montant s'exprime en euros et centimes (deux décimales au plus).")
    if value <= 0:
        raise ApplicationError("Le montant doit être positif.")
    return value.quantize(CENT)


def _reason(reason) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("Le motif est obligatoire.")
    return reason


def _lock(envelope_ids) -> dict[int, Envelope]:
    """The audit chain, then the envelope rows (see the module's docstring for the order)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [AUDIT_CHAIN_LOCK_ID])
    return lock_envelopes(envelope_ids)


def _entry_changes(entry: LedgerEntry) -> dict:
    return diff({}, snapshot(entry, AUDITED_FIELDS))


def _audit_entries(by, action: str, entries) -> None:
    audit_record_many(actor=by, action=action, entries=[(entry, _entry_changes(entry)) for entry in entries])


def _domain_sums(domain_ids, kinds) -> dict[tuple[int, str, str], Decimal]:
    """{(domain id, kind, pot): sum of amounts, corrections included} (one query)."""
    rows = (
        LedgerEntry.objects.filter(dossier_domain_id__in=list(domain_ids), kind__in=list(kinds))
        .values("dossier_domain_id", "kind", "pot")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    return {(r["dossier_domain_id"], r["kind"], r["pot"]): r["total"] for r in rows}


def _domain_label(dossier_domain) -> str:
    return f"{dossier_domain.domain_code} du dossier {dossier_domain.dossier.reference}"


def _beneficiary(dossier):
    """The establishment paid: the dossier's establishment (the GHT's support establishment for a GHT dossier,
    annex 3 §2), and its sector (004)."""
    establishment = dossier.establishment
    return establishment, sector_of(establishment.status, establishment.is_espic)


def _recorded(key: str) -> LedgerEntry | None:
    return LedgerEntry.objects.filter(idempotency_key=key).first()


def _free_key(base: str) -> str:
    """`base`, or `base:2`, `base:3`… when an earlier movement of the same event was corrected and is made again."""
    taken = set(LedgerEntry.objects.filter(idempotency_key__startswith=base).values_list("idempotency_key", flat=True))
    if base not in taken:
        return base
    number = 2
    while f"{base}:{number}" in taken:
        number += 1
    return f"{base}:{number}"


def _refuse_if_committed(dossier_domain, pot) -> None:
    """One live commitment per domain and pot: a new one only once the previous one was corrected to zero."""
    committed = _domain_sums([dossier_domain.pk], [COMMITMENT[pot]]).get((dossier_domain.pk, COMMITMENT[pot], pot), ZERO)
    if committed > 0:
        what = "L'amorçage" if pot == Pot.SEED else "Le financement à l'usage"
        raise ApplicationError(f"{what} du domaine {_domain_label(dossier_domain)} est déjà engagé.")


# --- Seed and usage funding of a dossier's domain (annex 2 §2) -----------------------------------------------------


@transaction.atomic
def seed_commit(*, dossier_domain, amount, is_derogatory: bool, by, on=None) -> LedgerEntry:
    """Annex 2 §2: the seed funding decided by the ARS at selection, committed on the region's envelope.

    Refused when it exceeds the seed credits left (20 % of the envelope), when derogatory seed funding would exceed
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


@transaction.atomic
def usage_commit(*, dossier_domain, amount, by, on=None) -> LedgerEntry:
    """Annex 2 §2: the usage funding notified when the domain's targets are reached, on the 80 % usage part."""
    dossier = dossier_domain.dossier
    _require(permissions.can_manage_region_money(by, dossier.region), REGION_MONEY_REFUSED)
    amount = _money(amount)
    envelope_id = envelope_for_dossier(dossier).pk
    _lock([envelope_id])
    _refuse_if_committed(dossier_domain, Pot.USAGE)
    refusal = usage_pot_refusal(amount, balances_of([envelope_id])[envelope_id].usage_available)
    if refusal:
        raise ApplicationError(refusal)
    establishment, sector = _beneficiary(dossier)
    entry = append(
        Movement(
            envelope_id=envelope_id, kind=EntryKind.USAGE_COMMITMENT, pot=Pot.USAGE, amount=amount, by=by,
            effective_on=on, establishment_id=establishment.pk, sector=sector, dossier_domain_id=dossier_domain.pk,
            idempotency_key=_free_key(f"usage_commitment:{dossier_domain.pk}"),
            label=f"Financement à l'usage — domaine {_domain_label(dossier_domain)}",
        ),
        locked=True,
    )
    audit_record(actor=by, action="ledger.usage_commit", target=entry, changes=_entry_changes(entry))
    return entry


def _pay(dossier_domain, pot, by, on=None) -> LedgerEntry:
    """The payment of what is committed and not yet paid on the domain, once: called again, it returns the payment
    already recorded (idempotency key `<kind>:<domain pk>`)."""
    dossier = dossier_domain.dossier
    _require(permissions.can_manage_region_money(by, dossier.region), REGION_MONEY_REFUSED)
    envelope_id = envelope_for_dossier(dossier).pk
    key = f"{PAYMENT[pot]}:{dossier_domain.pk}"
    _lock([envelope_id])
    sums = _domain_sums([dossier_domain.pk], [COMMITMENT[pot], PAYMENT[pot]])
    committed = sums.get((dossier_domain.pk, COMMITMENT[pot], pot), ZERO)
    paid = sums.get((dossier_domain.pk, PAYMENT[pot], pot), ZERO)
    outstanding = committed - paid
    if outstanding <= 0:
        existing = _recorded(key)
        if existing is not None:
            return existing
        raise ApplicationError(
            f"Aucun financement {POT_LABELS[pot]} engagé et non versé pour le domaine {_domain_label(dossier_domain)}."
        )
    commitment = (
        LedgerEntry.objects.filter(dossier_domain=dossier_domain, kind=COMMITMENT[pot], corrects__isnull=True)
        .order_by("sequence")
        .first()
    )
    label = "Versement de l'amorçage" if pot == Pot.SEED else "Versement du financement à l'usage"
    entry = append(
        Movement(
            envelope_id=envelope_id, kind=PAYMENT[pot], pot=pot, amount=outstanding, by=by, effective_on=on,
            establishment_id=commitment.establishment_id, sector=commitment.sector,
            is_derogatory=commitment.is_derogatory, dossier_domain_id=dossier_domain.pk,
            idempotency_key=_free_key(key), label=f"{label} — domaine {_domain_label(dossier_domain)}",
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
def usage_pay(*, dossier_domain, by, on=None) -> LedgerEntry:
    """The usage funding paid, without intermediate payment (annex 2 §2): the amount committed, once."""
    return _pay(dossier_domain, Pot.USAGE, by, on)


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


# --- Refunds (annex 2 §2, annex 4) -------------------------------------------------------------------------------


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


@transaction.atomic
def refund_receive(*, claim, amount, by) -> LedgerEntry:
    """A refund received against a claim: it returns to the envelope's pot (annex 2 §2). Never more than what the
    claim still awaits. The received entry points to its claim (`counterpart`)."""
    envelope = Envelope.objects.select_related("region").get(pk=claim.envelope_id)
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
    if amount > outstanding:
        raise ApplicationError(
            f"Remboursement supérieur au montant attendu : {french_euros(amount)} reçus, "
            f"{french_euros(max(outstanding, ZERO))} restent dus sur la demande n° {claim.sequence}."
        )
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
    return entry


# --- Redeployment between regions (annex 4 §1) -------------------------------------------------------------------


def _ars_officers(region_ids):
    return User.objects.filter(
        is_active=True, role_assignments__role=Role.ARS_OFFICER, role_assignments__region_id__in=list(region_ids)
    ).distinct()


@transaction.atomic
def redeploy(*, from_envelope, to_envelope, pot, amount, reason, by) -> tuple[LedgerEntry, LedgerEntry]:
    """Annex 4 §1: « le ministère pourra redéployer une partie des fonds vers d'autres régions ». A pair of entries
    in one transaction: given by one envelope, received by the other (which points to it)."""
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


# --- Corrections -------------------------------------------------------------------------------------------------


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


# --- The ARS's settings of its envelope (§5.1, 004) ----------------------------------------------------------------


@transaction.atomic
def derogatory_ceiling_raise(*, envelope, reason, by) -> Envelope:
    """§5.1: derogatory seed funding up to 50 % of the region's seed credits « si le nombre d'établissements ayant
    atteint les prérequis HOP'EN est insuffisant », which the region's ARS records with its reason."""
    region = envelope.region
    _require(permissions.can_manage_region_money(by, region), REGION_MONEY_REFUSED)
    reason = _reason(reason)
    envelope = _lock([envelope.pk])[envelope.pk]
    if envelope.derogatory_ceiling_raised:
        raise ApplicationError("Le plafond de l'amorçage dérogatoire est déjà porté à 50 %.")
    fields = ["derogatory_ceiling_raised", "derogatory_ceiling_reason", "derogatory_ceiling_raised_by", "derogatory_ceiling_raised_at"]
    before = snapshot(envelope, fields)
    envelope.derogatory_ceiling_raised = True
    envelope.derogatory_ceiling_reason = reason
    envelope.derogatory_ceiling_raised_by = by
    envelope.derogatory_ceiling_raised_at = timezone.now()
    envelope.save(update_fields=fields)
    audit_record(actor=by, action="envelope.derogatory_ceiling_raise", target=envelope, changes=diff(before, snapshot(envelope, fields)))
    return envelope


@transaction.atomic
def sector_quotas_set(*, envelope, quotas: dict, by) -> list[SectorQuota]:
    """004: the share (%) of the region's seed credits reserved to each sector; `quotas` maps "public", "private"
    and "espic" to a percentage, or None (or absent) for no quota. A quota below what the sector already uses is
    refused (its balance would be negative)."""
    region = envelope.region
    _require(permissions.can_manage_region_money(by, region), REGION_MONEY_REFUSED)
    wanted = {}
    for sector, share in quotas.items():
        if share in (None, ""):
            wanted[sector] = None
            continue
        try:
            wanted[sector] = Decimal(str(share)).quantize(CENT)
        except (InvalidOperation, TypeError, ValueError):
            raise ApplicationError(f"Quota invalide pour le secteur {SECTOR_LABELS.get(sector, sector)} : « {share} ».") from None
    refusal = quotas_refusal(wanted)
    if refusal:
        raise ApplicationError(refusal)
    _lock([envelope.pk])
    balances = balances_of([envelope.pk])[envelope.pk]
    breakdown = seed_breakdown_of([envelope.pk])[envelope.pk]
    for sector, share in wanted.items():
        if share is None:
            continue
        ceiling, used = sector_ceiling(balances.seed_total, share), breakdown.sector_used(sector)
        if ceiling < used:
            raise ApplicationError(
                f"Le quota du secteur {SECTOR_LABELS[sector]} ({french_euros(ceiling)}) serait inférieur à l'amorçage "
                f"déjà engagé pour ce secteur ({french_euros(used)})."
            )
    existing = {q.sector: q for q in SectorQuota.objects.filter(envelope=envelope)}
    before = {f"quota_{s}": (str(existing[s].share_percent) if s in existing else None) for s in SECTORS}
    now = timezone.now()
    for sector in SECTORS:
        share = wanted.get(sector)
        quota = existing.get(sector)
        if share is None:
            if quota is not None:
                quota.delete()
                existing.pop(sector)
        elif quota is None:
            existing[sector] = SectorQuota.objects.create(envelope=envelope, sector=sector, share_percent=share, set_by=by, set_at=now)
        elif quota.share_percent != share:
            quota.share_percent, quota.set_by, quota.set_at = share, by, now
            quota.save(update_fields=["share_percent", "set_by", "set_at"])
    after = {f"quota_{s}": (str(existing[s].share_percent) if s in existing else None) for s in SECTORS}
    changes = diff(before, after)
    if changes:
        audit_record(actor=by, action="envelope.sector_quotas_set", target=envelope, changes=changes)
    return [existing[s] for s in SECTORS if s in existing]

