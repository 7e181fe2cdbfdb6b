"""Pure rules of the envelope ledger (annex 2): how each movement changes the available balances, and the
balances derived from the sums of the entries. No database here."""

from dataclasses import dataclass
from decimal import Decimal

ZERO = Decimal("0.00")
SEED_SHARE = Decimal("0.20")  # annex 2 §2: « 20% de financement consacré à l'amorçage »


def available_delta(kind: str, pot: str, amount: Decimal) -> tuple[Decimal, Decimal]:
    """(seed, usage) change of the available balances caused by one entry.

    Allocations, redeployments received and refunds received add to the pot; commitments and redeployments
    given take from it; payments consume what was committed and claims are receivables: neither moves it.
    """
    sign = {
        "allocation": 1, "redeployment_in": 1, "refund_received": 1,
        "redeployment_out": -1, "seed_commitment": -1, "usage_commitment": -1,
        "seed_payment": 0, "usage_payment": 0, "refund_claim": 0,
    }[kind]
    change = amount * sign
    return (change, ZERO) if pot == "seed" else (ZERO, change)


def split_envelope(total_euros: Decimal) -> tuple[Decimal, Decimal]:
    """Annex 2 §2: (seed, usage) parts of an envelope, to the cent; the usage part takes the rounding."""
    seed = (total_euros * SEED_SHARE).quantize(Decimal("0.01"))
    return seed, total_euros - seed


@dataclass(frozen=True)
class Balances:
    """Annex 4 §3 figures of one envelope, in euros, derived from the sums of its entries by kind and pot."""

    seed_total: Decimal = ZERO
    usage_total: Decimal = ZERO
    seed_committed: Decimal = ZERO
    seed_paid: Decimal = ZERO
    usage_committed: Decimal = ZERO
    usage_paid: Decimal = ZERO
    refunds_claimed: Decimal = ZERO
    refunds_received: Decimal = ZERO
    seed_refunds_received: Decimal = ZERO
    usage_refunds_received: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.seed_total + self.usage_total

    @property
    def committed(self) -> Decimal:
        return self.seed_committed + self.usage_committed

    @property
    def paid(self) -> Decimal:
        return self.seed_paid + self.usage_paid

    @property
    def seed_available(self) -> Decimal:
        return self.seed_total - self.seed_committed + self.seed_refunds_received

    @property
    def usage_available(self) -> Decimal:
        return self.usage_total - self.usage_committed + self.usage_refunds_received

    @property
    def available(self) -> Decimal:
        return self.seed_available + self.usage_available


def balances_from_sums(sums: dict) -> Balances:
    """`sums`: {(kind, pot): sum of amounts} → Balances (corrections are negative entries of the same kind)."""

    def total(kind, pot=None):
        return sum((v for (k, p), v in sums.items() if k == kind and (pot is None or p == pot)), ZERO)

    return Balances(
        seed_total=total("allocation", "seed") + total("redeployment_in", "seed") - total("redeployment_out", "seed"),
        usage_total=total("allocation", "usage") + total("redeployment_in", "usage") - total("redeployment_out", "usage"),
        seed_committed=total("seed_commitment"),
        seed_paid=total("seed_payment"),
        usage_committed=total("usage_commitment"),
        usage_paid=total("usage_payment"),
        refunds_claimed=total("refund_claim"),
        refunds_received=total("refund_received"),
        seed_refunds_received=total("refund_received", "seed"),
        usage_refunds_received=total("refund_received", "usage"),
    )
