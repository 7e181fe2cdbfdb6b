"""Funding rules of HOP'EN as pure functions: plain values in, plain values out (no database, no request).

Sources: instruction DGOS, annex 3 (combined activity, categories, amounts), annex 2 (regional shares).
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
HALF = Decimal("0.5")


@dataclass(frozen=True)
class ActivityInputs:
    """The terms of annex 3 §1, already mapped from the SAE columns (see `activity_inputs_from_sae`)."""

    mco_days: int = 0
    mco_sessions: int = 0
    ambulatory_surgery_stays: int = 0
    other_day_stays: int = 0
    ssr_days: int = 0
    psy_days: int = 0
    had_days: int = 0


def combined_activity(inputs: ActivityInputs) -> Decimal:
    """Annex 3 §1: « 1 séance MCO équivaut à 0,5 journée MCO ; 1 hospitalisation de jour de chirurgie
    ambulatoire équivaut à 1,5 journée MCO ; 1 journée SSR, 1 journée PSY ou 1 journée HAD équivalent à
    0,5 journée MCO ; 1 hospitalisation de jour, hors chirurgie ambulatoire, équivaut à 1 journée MCO »."""
    total = (
        Decimal(inputs.mco_days)
        + HALF * inputs.mco_sessions
        + Decimal("1.5") * inputs.ambulatory_surgery_stays
        + Decimal(inputs.other_day_stays)
        + HALF * (inputs.ssr_days + inputs.psy_days + inputs.had_days)
    )
    return total.quantize(CENT, rounding=ROUND_HALF_UP)


def activity_inputs_from_sae(
    *,
    mco_full_days: int,
    mco_sessions: int,
    mco_ambulatory_surgery_stays: int,
    mco_medicine_day_stays: int,
    mco_obstetrics_day_stays: int,
    ssr_full_days: int,
    ssr_partial_days: int,
    psy_full_time_days: int,
    psy_other_full_time_days: int,
    psy_day_attendances: int,
    psy_night_attendances: int,
    had_days: int,
) -> ActivityInputs:
    """Our mapping of the SAE columns onto annex 3 §1 (the programme used 2017 PMSI data, we have SAE 2023):

    - MCO days = JOU_MCO (full-hospitalisation days); MCO sessions = SEA_MCO;
    - ambulatory-surgery day stays = SEJHP_CHI; other day stays = SEJHP_MED + SEJHP_OBS;
    - SSR days = JOUHC + JOUHP: a partial-hospitalisation day is a day of SSR care;
    - PSY days = full-time days (JOU_HTP and the other full-time forms JOU_PFT, JOU_AAT, JOU_ACP, JOU_CCU,
      JOU_HAD) + day and night attendances (VEN_HDJ + VEN_HDN): each attendance is a day of care;
    - HAD days = JOU_HAD.
    """
    return ActivityInputs(
        mco_days=mco_full_days,
        mco_sessions=mco_sessions,
        ambulatory_surgery_stays=mco_ambulatory_surgery_stays,
        other_day_stays=mco_medicine_day_stays + mco_obstetrics_day_stays,
        ssr_days=ssr_full_days + ssr_partial_days,
        psy_days=psy_full_time_days + psy_other_full_time_days + psy_day_attendances + psy_night_attendances,
        had_days=had_days,
    )


@dataclass(frozen=True)
class Category:
    code: str
    lower: Decimal
    upper: Decimal


@dataclass(frozen=True)
class Band:
    """Min and max amounts (euros) of one category for one domain and rate."""

    category: str
    minimum: Decimal
    maximum: Decimal


def category_of(value: Decimal, categories: list[Category]) -> Category:
    """Annex 3 §3: A 0–7 000, B 7 000–22 500, C 22 500–230 000, D from 230 000.

    A boundary value belongs to the upper category (7 000 is B): each category starts at its lower bound.
    The amount does not depend on this choice, since it is continuous at the boundaries.
    """
    if value < 0:
        raise ValueError("L'activité combinée ne peut pas être négative.")
    ordered = sorted(categories, key=lambda c: c.lower)
    chosen = ordered[0]
    for category in ordered:
        if value >= category.lower:
            chosen = category
    return chosen


def amount_for(value: Decimal, categories: list[Category], bands: list[Band]) -> Decimal:
    """The flat amount for a combined activity, in euros rounded half-up to the cent.

    Annex 3 says the amount grows with combined activity, within the category's min–max, the max of a
    category being the min of the next, with a cap at 1 000 000. The official per-establishment formula
    is not published: this is our reading — the continuous piecewise-linear function through
    (lower bound, min) and (upper bound, max) of each category, category D's upper bound being
    1 000 000, and the maximum of D beyond it.
    """
    category = category_of(value, categories)
    band = next(b for b in bands if b.category == category.code)
    if value >= category.upper:
        return band.maximum.quantize(CENT, rounding=ROUND_HALF_UP)
    position = (value - category.lower) / (category.upper - category.lower)
    amount = band.minimum + (band.maximum - band.minimum) * position
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def advanced_amount(standard: Decimal, bonus_percent: Decimal) -> Decimal:
    """Annex 3 §3: « Un forfait avancé qui intègre un bonus de +20 % du forfait standard » — the standard amount (to
    the cent, as notified) times 1 + bonus, rounded half-up once: so it is exactly 1.2 × the standard amount shown,
    never a separate band computation that drifts by a cent."""
    factor = 1 + Decimal(bonus_percent) / 100
    return (Decimal(standard) * factor).quantize(CENT, rounding=ROUND_HALF_UP)


def ght_amount(member_amounts) -> Decimal:
    """Annex 3 §2: a GHT dossier sums the amounts of its candidate members, delegated to the support."""
    return sum((Decimal(a) for a in member_amounts), Decimal("0.00")).quantize(CENT)


def regional_shares(combined_by_region: dict) -> dict:
    """Each region's share of national combined activity, in percent with two decimals (annex 2 table)."""
    total = sum(combined_by_region.values(), Decimal(0))
    if not total:
        return {region: Decimal("0.00") for region in combined_by_region}
    return {
        region: (Decimal(value) * 100 / total).quantize(CENT, rounding=ROUND_HALF_UP)
        for region, value in combined_by_region.items()
    }
