"""The one way money moves: lock the envelope row, derive the new balances from the last entry, append.

Every other module (dossier decisions, deadline jobs, redeployments) writes through `append` or
`append_many`, inside its own transaction; the caller checks its business limits on the locked envelope
(`locked_balances`). The database backs it: unique sequence per envelope, balances never negative, and a
trigger that refuses UPDATE and DELETE (migration 0003).
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from hopen.exceptions import ApplicationError

from .models import Envelope, LedgerEntry
from .rules import Balances, available_delta, balances_from_sums


@dataclass
class Movement:
    """One entry to append (the envelope is given by id so that a batch can lock its envelopes in order)."""

    envelope_id: int
    kind: str
    pot: str
    amount: Decimal
    label: str
    by: object = None
    effective_on: datetime.date | None = None
    establishment_id: int | None = None
    sector: str = ""
    is_derogatory: bool = False
    dossier_domain_id: int | None = None
    counterpart_id: int | None = None
    corrects_id: int | None = None
    idempotency_key: str | None = None
    reference: str = ""
    extra: dict = field(default_factory=dict)


def lock_envelopes(envelope_ids) -> dict[int, Envelope]:
    """Lock the envelope rows, always in id order so that two batches never deadlock."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("Un mouvement du grand livre se fait dans une transaction.")
    ids = sorted(set(envelope_ids))
    return {e.pk: e for e in Envelope.objects.select_for_update().filter(pk__in=ids).order_by("pk")}


def balances_of(envelope_ids) -> dict[int, Balances]:
    """Derived balances of each envelope (one query). Call after `lock_envelopes` for figures that cannot move."""
    sums: dict[int, dict] = {pk: {} for pk in envelope_ids}
    rows = (
        LedgerEntry.objects.filter(envelope_id__in=list(envelope_ids))
        .values("envelope_id", "kind", "pot")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    for row in rows:
        sums.setdefault(row["envelope_id"], {})[(row["kind"], row["pot"])] = row["total"]
    return {pk: balances_from_sums(s) for pk, s in sums.items()}


def _last_states(envelope_ids) -> dict[int, tuple[int, Decimal, Decimal]]:
    last = (
        LedgerEntry.objects.filter(envelope_id__in=envelope_ids)
        .order_by("envelope_id", "-sequence")
        .distinct("envelope_id")
        .values_list("envelope_id", "sequence", "seed_available_after", "usage_available_after")
    )
    states = {pk: (0, Decimal("0.00"), Decimal("0.00")) for pk in envelope_ids}
    states.update({pk: (seq, seed, usage) for pk, seq, seed, usage in last})
    return states


def append_many(movements: list[Movement], *, locked: bool = False) -> list[LedgerEntry]:
    """Append the movements in order; refuses (ApplicationError) one that would take a balance below zero.

    `locked`: the caller already holds the envelope locks (it checked its limits under them).
    A movement whose `idempotency_key` is already recorded is skipped (it is not returned).
    """
    if not movements:
        return []
    envelope_ids = sorted({m.envelope_id for m in movements})
    if not locked:
        lock_envelopes(envelope_ids)
    keys = [m.idempotency_key for m in movements if m.idempotency_key]
    recorded = set(LedgerEntry.objects.filter(idempotency_key__in=keys).values_list("idempotency_key", flat=True)) if keys else set()
    states = _last_states(envelope_ids)
    now = timezone.now()
    entries = []
    for m in movements:
        if m.idempotency_key and m.idempotency_key in recorded:
            continue
        if m.amount == 0:
            raise ApplicationError("Un mouvement de 0 € ne s'inscrit pas au grand livre.")
        sequence, seed, usage = states[m.envelope_id]
        seed_change, usage_change = available_delta(m.kind, m.pot, Decimal(m.amount))
        seed, usage = seed + seed_change, usage + usage_change
        if seed < 0 or usage < 0:
            pot = "d'amorçage" if seed < 0 else "à l'usage"
            raise ApplicationError(
                f"Crédits {pot} insuffisants dans l'enveloppe : ce mouvement de {m.amount} € la rendrait négative."
            )
        states[m.envelope_id] = (sequence + 1, seed, usage)
        entries.append(
            LedgerEntry(
                envelope_id=m.envelope_id, sequence=sequence + 1, kind=m.kind, pot=m.pot, amount=m.amount,
                effective_on=m.effective_on or timezone.localdate(), establishment_id=m.establishment_id,
                sector=m.sector, is_derogatory=m.is_derogatory, dossier_domain_id=m.dossier_domain_id,
                counterpart_id=m.counterpart_id, corrects_id=m.corrects_id, idempotency_key=m.idempotency_key,
                label=m.label, reference=m.reference, seed_available_after=seed, usage_available_after=usage,
                created_by=m.by, created_at=now,
            )
        )
        if m.idempotency_key:
            recorded.add(m.idempotency_key)
    return LedgerEntry.objects.bulk_create(entries)


def append(movement: Movement, *, locked: bool = False) -> LedgerEntry | None:
    created = append_many([movement], locked=locked)
    return created[0] if created else None
