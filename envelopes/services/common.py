"""What the writes on the envelopes share: refusal messages, amount and reason checks, the locks (audit chain, then
envelope rows), the audit of ledger entries, per-domain sums.
"""

from decimal import Decimal, InvalidOperation

from django.db import connection
from django.db.models import Sum

from hopen.audit import AUDIT_CHAIN_LOCK_ID, audit_record_many, diff, snapshot
from hopen.exceptions import ApplicationError, PermissionRefused

from ..ledger import lock_envelopes
from ..models import EntryKind, Envelope, LedgerEntry, Pot
from ..rules import CENT, ZERO, sector_of

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
