"""Pure rules of the envelope ledger (annex 2): how each movement changes the available balances, the balances
derived from the sums of the entries, and the limits of seed funding — the 20 % seed pot (annex 2 §2), the
derogatory ceiling of 30 % / 50 % of the seed credits (§5.1), the sector quotas (004) — as French refusal
messages. No database here."""

from dataclasses import dataclass
from decimal import Decimal

from hopen.formatting import french_euros
# The sector rule (004) lives with the establishments: the ledger, the dashboards, the homes and the filters read it.
from hopen.sectors import SECTOR_LABELS, SECTORS, sector_of  # noqa: F401 (sector_of: read by the services)

ZERO = Decimal("0.00")
SEED_SHARE = Decimal("0.20")  # annex 2 §2: « 20% de financement consacré à l'amorçage »


def available_delta(kind: str, pot: str, amount: Decimal) -> tuple[Decimal, Decimal]:
    """(seed, usage) change of the available balances caused by one entry.

    Allocations, redeployments received and refunds received add to the pot; commitments, redeployments given
    and the deduction of a refund from the envelope (annex 2 §2, when the programme sends refunds back to the
    State) take from it; payments consume what was committed, claims are receivables and delegations (annex 2 §3)
    only mark what of the credits the ARS may commit: none of them moves it.
    """
    sign = {
        "allocation": 1, "redeployment_in": 1, "refund_received": 1,
        "redeployment_out": -1, "seed_commitment": -1, "usage_commitment": -1, "refund_deduction": -1,
        "seed_payment": 0, "usage_payment": 0, "refund_claim": 0, "delegation": 0,
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
    # Annex 2 §3: credits delegated by circular (gross), and refunds deducted from the envelope (annex 2 §2).
    seed_delegations: Decimal = ZERO
    usage_delegations: Decimal = ZERO
    seed_refunds_deducted: Decimal = ZERO
    usage_refunds_deducted: Decimal = ZERO

    @property
    def refunds_deducted(self) -> Decimal:
        return self.seed_refunds_deducted + self.usage_refunds_deducted

    # What the ARS has received of its credits: the delegations, less the refunds deducted from the envelope (the
    # money recovered had been delegated and committed; it goes back to the State, not to the region).
    @property
    def seed_delegated(self) -> Decimal:
        return self.seed_delegations - self.seed_refunds_deducted

    @property
    def usage_delegated(self) -> Decimal:
        return self.usage_delegations - self.usage_refunds_deducted

    @property
    def delegated(self) -> Decimal:
        return self.seed_delegated + self.usage_delegated

    @property
    def seed_to_delegate(self) -> Decimal:
        return self.seed_total - self.seed_delegated

    @property
    def usage_to_delegate(self) -> Decimal:
        return self.usage_total - self.usage_delegated

    @property
    def to_delegate(self) -> Decimal:
        return self.seed_to_delegate + self.usage_to_delegate

    @property
    def seed_delegated_available(self) -> Decimal:
        """Delegated seed credits not committed (refunds returned to the region included): today's room."""
        return self.seed_delegated - self.seed_committed + self.seed_refunds_received

    @property
    def usage_delegated_available(self) -> Decimal:
        return self.usage_delegated - self.usage_committed + self.usage_refunds_received

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
        seed_total=total("allocation", "seed") + total("redeployment_in", "seed") - total("redeployment_out", "seed")
        - total("refund_deduction", "seed"),
        usage_total=total("allocation", "usage") + total("redeployment_in", "usage") - total("redeployment_out", "usage")
        - total("refund_deduction", "usage"),
        seed_committed=total("seed_commitment"),
        seed_paid=total("seed_payment"),
        usage_committed=total("usage_commitment"),
        usage_paid=total("usage_payment"),
        refunds_claimed=total("refund_claim"),
        refunds_received=total("refund_received"),
        seed_refunds_received=total("refund_received", "seed"),
        usage_refunds_received=total("refund_received", "usage"),
        seed_delegations=total("delegation", "seed"),
        usage_delegations=total("delegation", "usage"),
        seed_refunds_deducted=total("refund_deduction", "seed"),
        usage_refunds_deducted=total("refund_deduction", "usage"),
    )


# --- Seed funding limits (annex 2 §2, §5.1, 004) ------------------------------------------------------------------
#
# Pure functions: the services call them on figures read under the envelope lock and raise the message they return.

DEROGATORY_SHARE = Decimal("0.30")  # §5.1: « 30% des crédits d'amorçage de la région »
DEROGATORY_SHARE_RAISED = Decimal("0.50")  # §5.1: « jusqu'à 50% si le nombre d'établissements […] est insuffisant »
CENT = Decimal("0.01")
def _floor_cent(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding="ROUND_FLOOR")


def derogatory_share(raised: bool) -> Decimal:
    return DEROGATORY_SHARE_RAISED if raised else DEROGATORY_SHARE


def derogatory_ceiling(seed_total: Decimal, raised: bool) -> Decimal:
    """§5.1: derogatory seed funding ≤ 30 % of the region's seed credits (50 % when the ARS raised it), to the cent
    below."""
    return _floor_cent(max(seed_total, ZERO) * derogatory_share(raised))


def sector_ceiling(seed_total: Decimal, share_percent: Decimal) -> Decimal:
    """004: the seed credits reserved to a sector, `share_percent` % of the region's seed credits (cent below)."""
    return _floor_cent(max(seed_total, ZERO) * Decimal(share_percent) / 100)


def _euros(amount) -> str:
    return french_euros(amount)


def _percent(value: Decimal) -> str:
    text = f"{Decimal(value).normalize():f}"
    return text.replace(".", ",")


def seed_pot_refusal(amount: Decimal, seed_available: Decimal) -> str | None:
    """Annex 2 §2: « Les financements consacrés à l'amorçage ne pourront dépasser 20% de l'enveloppe régionale »:
    a seed commitment never exceeds what is left of the region's seed credits."""
    if amount <= seed_available:
        return None
    return (
        f"Crédits d'amorçage insuffisants : {_euros(amount)} demandés, {_euros(max(seed_available, ZERO))} "
        "disponibles dans l'enveloppe régionale (l'amorçage est limité à 20 % de l'enveloppe, annexe 2 §2)."
    )


def derogatory_refusal(amount: Decimal, *, seed_total: Decimal, derogatory_used: Decimal, raised: bool) -> str | None:
    """§5.1: seed funding paid before the HOP'EN prerequisites are reached (derogatory) stays within 30 % of the
    region's seed credits, 50 % when the ARS has recorded that too few establishments reached them."""
    ceiling = derogatory_ceiling(seed_total, raised)
    if derogatory_used + amount <= ceiling:
        return None
    share = int(derogatory_share(raised) * 100)
    return (
        f"Plafond de l'amorçage dérogatoire dépassé : {_euros(derogatory_used)} déjà engagés et {_euros(amount)} "
        f"demandés pour un plafond de {_euros(ceiling)} ({share} % des crédits d'amorçage de la région, "
        f"{_euros(seed_total)} ; instruction §5.1)."
        + ("" if raised else " L'ARS peut porter ce plafond à 50 % si trop peu d'établissements ont atteint les prérequis HOP'EN.")
    )


def sector_quota_refusal(
    amount: Decimal, *, sector: str, seed_total: Decimal, share_percent: Decimal | None, sector_used: Decimal
) -> str | None:
    """004: when the ARS has set a quota for the beneficiary's sector, its seed commitments stay within it."""
    if share_percent is None:
        return None
    ceiling = sector_ceiling(seed_total, share_percent)
    if sector_used + amount <= ceiling:
        return None
    return (
        f"Quota d'amorçage du secteur {SECTOR_LABELS.get(sector, sector)} dépassé : {_euros(sector_used)} déjà "
        f"engagés et {_euros(amount)} demandés pour un quota de {_euros(ceiling)} ({_percent(share_percent)} % des "
        f"crédits d'amorçage de la région)."
    )


def seed_commitment_refusal(
    amount: Decimal,
    *,
    seed_available: Decimal,
    seed_total: Decimal,
    is_derogatory: bool,
    derogatory_used: Decimal,
    raised: bool,
    sector: str,
    share_percent: Decimal | None,
    sector_used: Decimal,
) -> str | None:
    """The first limit a seed commitment would break (20 % pot, derogatory ceiling, sector quota), or None."""
    if amount <= 0:
        return "Le montant de l'amorçage doit être positif."
    refusal = seed_pot_refusal(amount, seed_available)
    if refusal is None and is_derogatory:
        refusal = derogatory_refusal(amount, seed_total=seed_total, derogatory_used=derogatory_used, raised=raised)
    if refusal is None:
        refusal = sector_quota_refusal(
            amount, sector=sector, seed_total=seed_total, share_percent=share_percent, sector_used=sector_used
        )
    return refusal


def usage_pot_refusal(amount: Decimal, usage_available: Decimal) -> str | None:
    """Annex 2 §2: usage funding comes from the 80 % usage part of the envelope."""
    if amount <= 0:
        return "Le montant du financement à l'usage doit être positif."
    if amount <= usage_available:
        return None
    return (
        f"Crédits d'usage insuffisants : {_euros(amount)} demandés, {_euros(max(usage_available, ZERO))} disponibles "
        "dans l'enveloppe régionale (80 % de l'enveloppe, annexe 2 §2)."
    )


def quotas_refusal(quotas: dict) -> str | None:
    """004: quotas are shares (0–100 %) of the region's seed credits per sector; together at most 100 %."""
    for sector, share in quotas.items():
        if sector not in SECTORS:
            return f"Secteur inconnu « {sector} » : public, privé ou ESPIC."
        if share is not None and not (0 <= Decimal(share) <= 100):
            return f"Le quota du secteur {SECTOR_LABELS[sector]} doit être compris entre 0 et 100 %."
    total = sum((Decimal(s) for s in quotas.values() if s is not None), ZERO)
    if total > 100:
        return f"Les quotas sectoriels totalisent {_percent(total)} % : ils ne peuvent dépasser 100 % des crédits d'amorçage."
    return None


@dataclass(frozen=True)
class SeedBreakdown:
    """Seed commitments (net of corrections) and seed refunds received of one envelope, by sector and for the
    derogatory seed funding; refunds received return to the sector and to the derogatory room they came from."""

    committed_by_sector: dict
    refunds_by_sector: dict
    derogatory_committed: Decimal = ZERO
    derogatory_refunds: Decimal = ZERO

    def sector_used(self, sector: str) -> Decimal:
        return self.committed_by_sector.get(sector, ZERO) - self.refunds_by_sector.get(sector, ZERO)

    @property
    def derogatory_used(self) -> Decimal:
        return self.derogatory_committed - self.derogatory_refunds


def seed_breakdown_from_rows(rows) -> SeedBreakdown:
    """`rows`: (kind, sector, is_derogatory, sum of amounts) of the seed pot's commitments and refunds received."""
    committed, refunds = {}, {}
    derogatory_committed = derogatory_refunds = ZERO
    for kind, sector, is_derogatory, total in rows:
        total = total or ZERO
        if kind == "seed_commitment":
            committed[sector] = committed.get(sector, ZERO) + total
            if is_derogatory:
                derogatory_committed += total
        elif kind == "refund_received":
            refunds[sector] = refunds.get(sector, ZERO) + total
            if is_derogatory:
                derogatory_refunds += total
    return SeedBreakdown(committed, refunds, derogatory_committed, derogatory_refunds)


# --- Delegations of credits (annex 2 §3) ---------------------------------------------------------------------------
#
# « Les fonds sont délégués aux ARS via les circulaires » (seed « dès 2019 », usage « à partir de 2020 », amounts
# adjusted to the ARS's annual programming): a region commits, on each date, only what was delegated to it up to
# that date. The rhythm table is not in the text we hold: delegations are entered by the DGOS, never derived.

DELEGATION_SECTION = "annexe 2 §3"
DELEGATION_REFUSAL_CODE = "delegated_credits_insufficient"
POT_NAMES = {"seed": "d'amorçage", "usage": "à l'usage"}
# How each kind of entry changes the delegated credits not yet committed (the commitment room).
ROOM_SIGN = {
    "delegation": 1, "refund_received": 1,
    "seed_commitment": -1, "usage_commitment": -1, "refund_deduction": -1,
}


def room_events_from_rows(rows) -> list:
    """`rows`: (kind, effective date, sum of amounts) of one pot → [(date, change of the commitment room)]."""
    return [(day, (total or ZERO) * ROOM_SIGN[kind]) for kind, day, total in rows if kind in ROOM_SIGN]


def delegation_room(events, on) -> Decimal:
    """What a new movement dated `on` may take from the delegated credits: the lowest room from `on` onwards, so
    that no later date ends with more committed than delegated by then (a commitment dated `on` counts on every
    later day). `events`: (effective date, change) of the delegations, commitments, refunds and deductions."""
    by_day: dict = {}
    for day, change in events:
        by_day[day] = by_day.get(day, ZERO) + change
    room = sum((change for day, change in by_day.items() if day <= on), ZERO)
    lowest = room
    for day in sorted(d for d in by_day if d > on):
        room += by_day[day]
        lowest = min(lowest, room)
    return lowest


def delegated_credits_refusal(amount: Decimal, *, pot: str, room: Decimal, on) -> str | None:
    """Annex 2 §3: a commitment stays within the credits delegated to the region up to its date."""
    if amount <= room:
        return None
    return (
        f"Crédits délégués insuffisants : {_euros(amount)} demandés, {_euros(max(room, ZERO))} de crédits "
        f"{POT_NAMES.get(pot, pot)} délégués à la région et non engagés au {on:%d/%m/%Y} (annexe 2 §3 : les crédits "
        "sont délégués aux ARS par circulaire selon leur programmation annuelle ; le reste de l'enveloppe est à déléguer)."
    )


def delegation_refusal(
    amount: Decimal, *, pot: str, year: int, on, today, first_year: int | None, to_delegate: Decimal
) -> str | None:
    """A delegation of `amount` of the `pot` credits for the budget year `year`, dated `on`: within the year, not in
    the future, not before the programme's first year of that pot (annex 2 §3: seed « dès 2019 », usage « à partir
    de 2020 » for HOP'EN), and never more than what is left to delegate of the envelope."""
    if amount <= 0:
        return "Le montant délégué doit être positif."
    if on.year != year:
        return f"La date de la délégation ({on:%d/%m/%Y}) n'est pas dans l'exercice {year} : indiquez la date de la circulaire."
    if on > today:
        return f"La date de la délégation ({on:%d/%m/%Y}) est à venir : une délégation s'enregistre une fois la circulaire publiée."
    if first_year is not None and year < first_year:
        return (
            f"Les crédits {POT_NAMES.get(pot, pot)} ne sont délégués qu'à partir de {first_year} ({DELEGATION_SECTION})."
        )
    if amount > to_delegate:
        return (
            f"Délégation supérieure aux crédits à déléguer : {_euros(amount)} demandés, {_euros(max(to_delegate, ZERO))} "
            f"de crédits {POT_NAMES.get(pot, pot)} de l'enveloppe restent à déléguer ({DELEGATION_SECTION})."
        )
    return None
