"""Attainment of the HOP'EN targets — pure functions on plain values (no database).

Annex 1 gives each indicator its target: a rate threshold ("90 % des comptes-rendus") or an
existence requirement. §5.3.1 of the instruction: a domain indicator may be declared
"non applicable / non concerné" (more than one per domain makes the project ineligible — that rule
belongs to the eligibility functions of the funding app); such a value counts as neither reached nor
missing here.
"""

from decimal import ROUND_HALF_UP, Decimal
from enum import Enum


class Attainment(str, Enum):
    REACHED = "reached"
    NOT_REACHED = "not_reached"
    NOT_APPLICABLE = "not_applicable"
    MISSING = "missing"

    @property
    def label(self):
        return {
            "reached": "Atteint",
            "not_reached": "Non atteint",
            "not_applicable": "Non applicable",
            "missing": "Non renseigné",
        }[self.value]


def rate_percent(numerator: int, denominator: int) -> Decimal:
    """The rate in percent, rounded half-up to one decimal (numerator ≤ denominator, denominator > 0)."""
    if denominator <= 0:
        raise ValueError("Le dénominateur doit être strictement positif.")
    if not 0 <= numerator <= denominator:
        raise ValueError("Le numérateur doit être compris entre 0 et le dénominateur.")
    return (Decimal(numerator) * 100 / Decimal(denominator)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def value_attainment(
    *,
    target_kind: str,
    threshold: Decimal | None,
    value_kind: str | None,
    numerator: int | None = None,
    denominator: int | None = None,
    exists: bool | None = None,
) -> Attainment:
    """Annex 1: a rate reaches its target when rate ≥ threshold; an existence target when it exists.

    The comparison uses the exact fraction (numerator × 100 ≥ threshold × denominator), not the
    rounded percentage, so that 899/1000 never counts as 90 %.
    """
    if value_kind is None:
        return Attainment.MISSING
    if value_kind == "not_applicable":
        return Attainment.NOT_APPLICABLE
    if target_kind == "rate":
        if value_kind != "rate" or numerator is None or not denominator:
            return Attainment.MISSING
        reached = Decimal(numerator) * 100 >= Decimal(threshold) * Decimal(denominator)
    else:
        if value_kind != "existence" or exists is None:
            return Attainment.MISSING
        reached = bool(exists)
    return Attainment.REACHED if reached else Attainment.NOT_REACHED


def group_attainment(attainments) -> Attainment:
    """A group (P1…P4, D1…D7) is reached when every indicator is reached or not applicable, one at least reached.

    One indicator not reached settles it: the group is not reached, whatever is still missing;
    otherwise a missing value leaves the group "missing".
    """
    attainments = list(attainments)
    if Attainment.NOT_REACHED in attainments:
        return Attainment.NOT_REACHED
    if not attainments or Attainment.MISSING in attainments:
        return Attainment.MISSING
    if Attainment.REACHED in attainments:
        return Attainment.REACHED
    return Attainment.NOT_APPLICABLE


def prerequisites_attainment(attainments) -> Attainment:
    """The HOP'EN prerequisites (P1–P4, 15 indicators) are reached only when all of them are (§5.3.1)."""
    attainments = list(attainments)
    if any(a in (Attainment.NOT_REACHED, Attainment.NOT_APPLICABLE) for a in attainments):
        return Attainment.NOT_REACHED
    if not attainments or Attainment.MISSING in attainments:
        return Attainment.MISSING
    return Attainment.REACHED
