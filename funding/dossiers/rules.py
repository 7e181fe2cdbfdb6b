"""Rules of the dossier workflow as pure functions: plain values in, plain values out (no database, no request).

Sources (../shared/reference/000_eb8a7a77b11ba617.txt): §5.3.2 « Etape 2 » (the ARS initialises a dossier within
1.5 months), annex 2 §2 (seed funding deducted from the total; usage funding = the rest, per domain), annex 3 §2
(flat amount per establishment; a GHT dossier sums its candidate members' amounts), annex 4 §1 (decision within
four months, silence = refusal, reasons of a refusal, re-candidacy delays).
"""

import datetime
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from funding.calendar import Delay, add_delay
from funding.rules import CENT, advanced_amount, amount_for, ght_amount
from hopen.formatting import french_euros
from hopen.validation import sane_date_error

DOMAIN_CODES = ("D1", "D2", "D3", "D4", "D5", "D6", "D7")
STANDARD, ADVANCED = "standard", "advanced"
FINANCIAL, FEASIBILITY = "financial", "feasibility"


def _date(day: datetime.date) -> str:
    return f"{day:%d/%m/%Y}"


# --- Delays (annex 4 §1, §5.3.2) ------------------------------------------------------------------------------------


def recandidacy_allowed_from(refused_on: datetime.date, refusal_kind: str, delay: Delay) -> datetime.date:
    """Annex 4 §1: « Un établissement / GHT non retenu peut candidater de nouveau après la date de refus de l'ARS :
    soit après un délai minimum de six mois […], soit l'année suivante dans le cas où le dossier a été refusé pour
    des motifs financiers (enveloppe annuelle déjà consommée, etc.) ».

    Financial refusal → 1 January of the year after the refusal; a refusal for feasibility or any other reason
    (the silence of the ARS included) → the refusal date plus `delay` (six months in the programme calendar).
    """
    if refusal_kind == FINANCIAL:
        return datetime.date(refused_on.year + 1, 1, 1)
    return add_delay(refused_on, delay)


def review_deadline(transmitted_on: datetime.date, delay: Delay) -> datetime.date:
    """Annex 4 §1: « L'ARS doit se prononcer au bout de quatre mois au plus tard (à compter de la transmission du
    dossier) » — the last day of the decision period; the day after, silence is a refusal."""
    return add_delay(transmitted_on, delay)


def initialisation_deadline(requested_on: datetime.date, delay: Delay) -> datetime.date:
    """§5.3.2 « Etape 2 »: « L'ARS dispose d'un délai de 1 mois et demi pour initialiser le dossier d'un
    établissement / GHT qui en fait la demande »."""
    return add_delay(requested_on, delay)


def target_deadline_passed(
    *, selected: bool, target_deadline: datetime.date | None, targets_reached_at, today: datetime.date
) -> bool:
    """Annex 4 §3 (« La liste des établissements / GHT dont la date d'atteinte des cibles est décalée »): a selected
    domain whose targets are not reached has missed its deadline the day after it (the deadline is the last day,
    as the follow-up sweep reads it, `funding.deadlines.follow_up`)."""
    return (
        selected and targets_reached_at is None and target_deadline is not None
        and target_deadline < today
    )


def recandidacy_message(domain_code: str, refused_on: datetime.date, refusal_kind: str, allowed_from: datetime.date) -> str:
    kind = "pour un motif financier" if refusal_kind == FINANCIAL else "pour un motif de faisabilité ou autre"
    rule = "l'année suivante" if refusal_kind == FINANCIAL else "après un délai de six mois"
    return (
        f"Le domaine {domain_code} a été refusé par l'ARS le {_date(refused_on)} {kind} : une nouvelle candidature "
        f"sur ce domaine n'est possible qu'à partir du {_date(allowed_from)} ({rule}, annexe 4 §1)."
    )


# --- Amounts (annexes 2 and 3) --------------------------------------------------------------------------------------


def to_amount(value) -> Decimal:
    """A euro amount as Decimal to the cent; ValueError on anything that is not a number."""
    try:
        amount = Decimal(str(value).strip().replace(" ", "").replace("\u202f", "").replace("\u00a0", "").replace(",", "."))
    except (InvalidOperation, AttributeError) as error:
        raise ValueError(f"Montant invalide : « {value} ».") from error
    if not amount.is_finite():
        raise ValueError(f"Montant invalide : « {value} ».")
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def member_amount(combined_activity: Decimal, domain_code: str, rate: str, grid) -> Decimal:
    """Annex 3 §2: « Les montants exacts des soutiens financiers sont forfaitaires […] par domaine [et] en fonction
    de l'activité combinée de l'établissement ». `grid` is `funding.selectors.AmountGrid` (plain values);
    ValueError when the grid has no band for this domain and rate."""
    bands = grid.bands.get((domain_code, STANDARD))
    if not grid.categories or not bands or (rate == ADVANCED and domain_code not in grid.advanced_indicators):
        raise ValueError(f"La grille de l'annexe 3 ne définit pas de forfait « {rate} » pour {domain_code}.")
    standard = amount_for(Decimal(combined_activity), grid.categories, bands)
    # Annex 3 §3: the advanced rate is the standard amount plus the bonus, rounded once (`advanced_amount`).
    return advanced_amount(standard, grid.advanced_bonus_percent) if rate == ADVANCED else standard


def domain_total(member_amounts) -> Decimal:
    """Annex 3 §2: « Dans le cadre d'un dossier GHT, le montant du soutien financier reste calculé par activité
    combinée de chaque établissement candidat au sein du GHT, une somme des soutiens financiers est ensuite
    effectuée au niveau du GHT » — for an establishment's own dossier, the sum of its single share."""
    return ght_amount(member_amounts)


def usage_amount(total: Decimal, seed: Decimal) -> Decimal:
    """Annex 2 §2: « Le montant de l'amorçage est à défalquer du montant du soutien financier total » — the usage
    funding of a domain is its total minus its seed funding."""
    total, seed = Decimal(total), Decimal(seed)
    if seed < 0 or seed > total:
        raise ValueError("L'amorçage doit être compris entre 0 et le soutien financier total du domaine.")
    return (total - seed).quantize(CENT)


def seed_parts(seed, amounts) -> list[Decimal]:
    """Annex 2 §2 and annex 3 §2: the seed the ARS decides for a GHT domain, split between the candidate members'
    shares pro rata of their flat amounts, so that each member refunds its own part when it misses the
    prerequisites (« il remboursera les montants perçus au titre de l'amorçage ») and its usage funding is its
    amount minus its part (« montant de l'amorçage soustrait »).

    Cents by the largest remainder: every part is rounded down to the cent, the cents left go one each to the
    largest remainders (ties: the earlier share), so the parts sum exactly to `seed` and none exceeds its amount.
    ValueError when the seed is negative or above the sum of the amounts."""
    seed = Decimal(seed).quantize(CENT)
    amounts = [Decimal(a).quantize(CENT) for a in amounts]
    if seed < 0 or seed > sum(amounts, Decimal("0.00")) or any(a < 0 for a in amounts):
        raise ValueError("L'amorçage doit être compris entre 0 et la somme des montants des établissements candidats.")
    return pro_rata(seed, amounts)


def pro_rata(amount, weights) -> list[Decimal]:
    """`amount` (euros, ≥ 0) split pro rata of `weights` (≥ 0) to the cent by the largest remainder: the parts sum
    exactly to `amount`; ties go to the earlier weight. All weights zero: split evenly. Used for the seed parts
    (`seed_parts`) and for a member's part of a seed paid (annex 2 §2 refund)."""
    amount = Decimal(amount).quantize(CENT)
    weights = [Decimal(w) for w in weights]
    if not weights or amount == 0:
        return [Decimal("0.00") for _ in weights]
    if sum(weights) == 0:
        weights = [Decimal(1) for _ in weights]
    cents, total = int(amount * 100), sum(weights)
    exact = [w * cents / total for w in weights]  # in cents
    floors = [int(e) for e in exact]  # non-negative: int() rounds down
    left = cents - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    return [(Decimal(c) / 100).quantize(CENT) for c in floors]


def seed_amount_errors(seed, total: Decimal) -> list[str]:
    """Annex 2 §2: the ARS sets the seed of each domain, « d'un montant supérieur ou inférieur à 20 % du soutien
    financier total », deducted from the total: so between 0 and the domain's total."""
    try:
        amount = to_amount(seed)
    except ValueError as error:
        return [str(error)]
    if amount < 0:
        return ["Le montant de l'amorçage ne peut pas être négatif."]
    if amount > Decimal(total):
        return [
            f"L'amorçage ({french_euros(amount)}) ne peut pas dépasser le soutien financier total du domaine "
            f"({french_euros(Decimal(total))}) dont il est déduit (annexe 2 §2)."
        ]
    return []


# --- Input of a dossier's domains -----------------------------------------------------------------------------------


@dataclass
class DomainInput:
    """One domain of a dossier as the establishment declares it: its code, target deadline, rate and the software
    vendors of the project (`SoftwareVendor` ids)."""

    code: str
    target_deadline: datetime.date | None
    rate: str = STANDARD
    vendors: list = field(default_factory=list)


def domain_input_errors(
    domains: list[DomainInput], *, today: datetime.date, targets_window=None, advanced_domains=frozenset()
) -> dict[str, list[str]]:
    """Every problem with the domains of a dossier, by domain code ("__all__" for the whole), in French.

    `targets_window`: the programme's usage-target window (`indicators.windows.Window`, §5.3.1 « avant le 1er
    janvier 2023 » for HOP'EN): a target deadline after its last day is refused, with the date and the section.
    `advanced_domains`: the domains for which the programme has an advanced rate (annex 3 §3 for HOP'EN: D1, D6 —
    `Programme.advanced_rate_indicators`)."""
    advanced = frozenset(advanced_domains)
    errors: dict[str, list[str]] = {}

    def add(key, message):
        errors.setdefault(key, []).append(message)

    if not domains:
        add("__all__", "Choisissez au moins un domaine fonctionnel (D1 à D7).")
    codes = [d.code for d in domains]
    for code in sorted({c for c in codes if codes.count(c) > 1}):
        add(code, f"Le domaine {code} est choisi plusieurs fois.")
    for domain in domains:
        if domain.code not in DOMAIN_CODES:
            add("__all__", f"Domaine inconnu « {domain.code} » : choisissez entre D1 et D7.")
            continue
        if domain.rate not in (STANDARD, ADVANCED):
            add(domain.code, f"{domain.code} : forfait inconnu « {domain.rate} » (standard ou avancé).")
        elif domain.rate == ADVANCED and domain.code not in advanced:
            which = ", ".join(sorted(advanced)) or "aucun domaine"
            add(domain.code, f"{domain.code} : le programme ne prévoit de forfait avancé que pour {which} (annexe 3 §3).")
        if domain.target_deadline is None:
            add(domain.code, f"{domain.code} : indiquez l'échéance d'atteinte des cibles d'usage.")
        elif sane_date_error(domain.target_deadline):
            add(domain.code, f"{domain.code} : {sane_date_error(domain.target_deadline)}")
        elif domain.target_deadline < today:
            add(
                domain.code,
                f"{domain.code} : l'échéance d'atteinte des cibles ({_date(domain.target_deadline)}) est déjà passée.",
            )
        elif targets_window is not None and domain.target_deadline > targets_window.last_day:
            add(domain.code, target_beyond_window_message(domain.code, domain.target_deadline, targets_window))
    return errors


def target_beyond_window_message(code: str, deadline: datetime.date, window) -> str:
    """§5.3.1: a target deadline after the programme's usage-target window, in French with the date and section."""
    return (
        f"{code} : l'échéance d'atteinte des cibles ({_date(deadline)}) dépasse la date limite du programme : "
        f"cibles d'usage atteintes au plus tard le {_date(window.last_day)} ({window.citation})."
    )


def dossier_reference(programme_code: str, region_code: str, year: int, number: int) -> str:
    """« HOPEN-32-2020-00042 » (the dossier's programme, region, year of filing): unique through the primary key."""
    return f"{programme_code}-{region_code}-{year}-{number:05d}"
