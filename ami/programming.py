"""The ARS's multi-year programming of the AMI (instruction §5.3.2 « Etape 1 », annex 2 §2–3, annex 4 §3) —
pure functions: plain values in, plain values out (no database, no request).

§5.3.2: « Cette programmation prend la forme de la liste des établissements sélectionnés (classés par FINESS) et
de leurs projets (classés par domaines) avec leur échéance d'atteinte de cibles d'usage, et leur financement
correspondant (dont répartition amorçage / usage). Les statuts et les activités des établissements sélectionnés
devront être précisés afin de s'assurer de l'équilibre préconisé dans la répartition des financements. »

Decisions on the text, documented here:

- Planned funding of a domain = the estimated flat amount of annex 3 at the standard rate (`funding.rules`):
  the advanced rate of D1 and D6 (+20 %) depends on interoperability reached at the end of the project, unknown
  at the AMI.
- Seed / usage split (annex 2 §2): « 20% de financement consacré à « l'amorçage » des projets et de 80% consacré
  au soutien financier conditionné à l'atteinte de cibles d'usage »; « Le montant de l'amorçage est à défalquer
  du montant du soutien financier total ». The seed is 20 % of the domain's amount rounded half-up to the cent,
  the usage the rest, so that seed + usage is exactly the amount. The ARS may notify another seed amount per
  establishment (« supérieur ou inférieur à 20% ») — that is a later, per-dossier decision; the programming
  plans the programme's 20 %.
- Years: the seed is paid « lors de la sélection du dossier »; the pre-selection follows the filing, so the seed
  is planned in the filing year. The usage is paid when the targets are reached: the year of the forecast
  semester of target attainment.
- Regional envelope (annex 2 §1, in k€): the plan is compared with it, and the seed with its cap: « Les
  financements consacrés à l'amorçage ne pourront dépasser 20% de l'enveloppe régionale ».
- Balance (§5.1, annex 4 §3: « par statut d'établissements (publics, privés, ESPIC), par activité (MCO, SSR,
  PSY, HAD) »): public establishments; ESPIC = private non-profit establishments recognised as ESPIC, and the
  CLCC (ESPIC by law, article L. 6161-5 du code de la santé publique); private = every other private
  establishment. An establishment counts in each of its activities, so the activity shares may add up to more
  than 100 %.
"""

import datetime
import functools
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Iterable, NamedTuple

from hopen.sectors import sector_of
from funding.rules import amount_for
from indicators.periods import semester_bounds

CENT = Decimal("0.01")
SEED_SHARE = Decimal("0.20")  # annex 2 §2: 20 % seed, 80 % usage
SEED_CAP_SHARE = Decimal("0.20")  # annex 2 §2: the seed never exceeds 20 % of the regional envelope
STANDARD = "standard"
DOMAINS = ("D1", "D2", "D3", "D4", "D5", "D6", "D7")
ACTIVITIES = ("MCO", "SSR", "PSY", "HAD")


# --- Amounts -------------------------------------------------------------------------------------------------------


def estimated_amount(combined_activity, domain: str, grid) -> Decimal | None:
    """Annex 3: the standard flat amount of `domain` for a combined activity; None when unknown (no combined
    activity for the establishment, or the grid not loaded). `grid` is `funding.selectors.AmountGrid`."""
    if combined_activity is None or not grid.categories:
        return None
    bands = grid.bands.get((domain, STANDARD))
    if not bands:
        return None
    return amount_for(Decimal(combined_activity), grid.categories, bands)


def split_seed_usage(amount: Decimal) -> tuple[Decimal, Decimal]:
    """Annex 2 §2: (seed, usage) = (20 % rounded half-up to the cent, the rest); their sum is the amount."""
    amount = Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP)
    seed = (amount * SEED_SHARE).quantize(CENT, rounding=ROUND_HALF_UP)
    return seed, amount - seed


@functools.lru_cache(maxsize=256)  # a few dozen labels, asked once per domain line of the national totals
def semester_year(label: str) -> int:
    """The calendar year of a half-year label such as « 2021 S2 »."""
    return semester_bounds(label)[0].year


def semester_end(label: str) -> datetime.date:
    """The target deadline of a forecast semester: its last day (« 2021 S1 » → 30/06/2021)."""
    return semester_bounds(label)[1]


@dataclass(frozen=True)
class PlannedFunding:
    domain: str
    amount: Decimal
    seed: Decimal
    seed_year: int
    usage: Decimal
    usage_year: int


def planned_funding(*, domain: str, amount: Decimal, filing_year: int, forecast_semester: str) -> PlannedFunding:
    """One pre-selected domain: seed in the filing year (selection), usage in the year of the forecast semester."""
    seed, usage = split_seed_usage(amount)
    return PlannedFunding(
        domain=domain,
        amount=seed + usage,
        seed=seed,
        seed_year=filing_year,
        usage=usage,
        usage_year=semester_year(forecast_semester),
    )


# --- Totals --------------------------------------------------------------------------------------------------------


@dataclass
class FundingSum:
    seed: Decimal = Decimal("0.00")
    usage: Decimal = Decimal("0.00")

    @property
    def total(self) -> Decimal:
        return self.seed + self.usage


@dataclass
class ProgrammingTotals:
    """Planned funding per domain, per year, per domain and year, and overall (seed / usage / total)."""

    by_domain: dict = field(default_factory=dict)  # domain -> FundingSum (seed and usage, whatever their year)
    by_year: dict = field(default_factory=dict)  # year -> FundingSum (the seed of its seed year, the usage of its own)
    by_domain_year: dict = field(default_factory=dict)  # (domain, year) -> FundingSum
    total: FundingSum = field(default_factory=FundingSum)
    lines: int = 0

    @property
    def years(self) -> list[int]:
        return sorted(self.by_year)

    @property
    def domains(self) -> list[str]:
        return [d for d in DOMAINS if d in self.by_domain] + sorted(set(self.by_domain) - set(DOMAINS))

    def table(self) -> list[dict]:
        """One row per domain: {domain, cells: [FundingSum per year], total: FundingSum} — for pages and reports."""
        return [
            {
                "domain": domain,
                "cells": [self.by_domain_year.get((domain, year), FundingSum()) for year in self.years],
                "total": self.by_domain[domain],
            }
            for domain in self.domains
        ]

    def year_row(self) -> list[FundingSum]:
        return [self.by_year[year] for year in self.years]


def programming_totals(plans: Iterable[PlannedFunding]) -> ProgrammingTotals:
    """Sum planned funding per domain and per year: the seed counts in its year, the usage in its own."""
    totals = ProgrammingTotals()

    def cell(mapping, key):
        if key not in mapping:
            mapping[key] = FundingSum()
        return mapping[key]

    for plan in plans:
        totals.lines += 1
        domain = cell(totals.by_domain, plan.domain)
        domain.seed += plan.seed
        domain.usage += plan.usage
        cell(totals.by_year, plan.seed_year).seed += plan.seed
        cell(totals.by_year, plan.usage_year).usage += plan.usage
        cell(totals.by_domain_year, (plan.domain, plan.seed_year)).seed += plan.seed
        cell(totals.by_domain_year, (plan.domain, plan.usage_year)).usage += plan.usage
        totals.total.seed += plan.seed
        totals.total.usage += plan.usage
    return totals


@dataclass
class EstimateTotals:
    """Estimated amounts of the domains applied for, per domain and per year of forecast target attainment."""

    by_domain_year: dict = field(default_factory=dict)  # (domain, year) -> Decimal
    by_domain: dict = field(default_factory=dict)  # domain -> Decimal
    by_year: dict = field(default_factory=dict)  # year -> Decimal
    counts: dict = field(default_factory=dict)  # domain -> number of domain lines
    total: Decimal = Decimal("0.00")
    unknown: int = 0  # lines without an estimate (no combined activity)

    @property
    def years(self) -> list[int]:
        return sorted(self.by_year)

    def year_row(self) -> list[Decimal]:
        return [self.by_year[year] for year in self.years]

    def table(self) -> list[dict]:
        return [
            {
                "domain": domain,
                "count": self.counts.get(domain, 0),
                "cells": [self.by_domain_year.get((domain, year), Decimal("0.00")) for year in self.years],
                "total": self.by_domain.get(domain, Decimal("0.00")),
            }
            for domain in DOMAINS
            if domain in self.counts
        ]


def estimate_totals(lines: Iterable[tuple[str, str, Decimal | None]]) -> EstimateTotals:
    """`lines`: (domain, forecast semester, estimated amount or None) → totals per domain and per year."""
    return estimate_totals_of_groups(
        (domain, semester, 1, 1 if amount is None else 0, amount) for domain, semester, amount in lines
    )


def estimate_totals_of_groups(groups: Iterable[tuple]) -> EstimateTotals:
    """The same totals from lines already summed per (domain, forecast semester) — the national list sums them in
    the database: `groups` are (domain, semester, number of lines, lines without an estimate, sum of the estimates
    or None when none is known)."""
    totals = EstimateTotals()
    for domain, semester, lines, unknown, amount in groups:
        if not lines:
            continue
        totals.counts[domain] = totals.counts.get(domain, 0) + lines
        totals.unknown += unknown
        if unknown == lines:
            continue
        year = semester_year(semester)
        totals.by_domain_year[(domain, year)] = totals.by_domain_year.get((domain, year), Decimal("0.00")) + amount
        totals.by_domain[domain] = totals.by_domain.get(domain, Decimal("0.00")) + amount
        totals.by_year[year] = totals.by_year.get(year, Decimal("0.00")) + amount
        totals.total += amount
    return totals


# --- Regional envelope ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EnvelopeUse:
    envelope: Decimal  # euros
    planned: Decimal
    seed_planned: Decimal | None
    seed_cap: Decimal

    @property
    def remaining(self) -> Decimal:
        return self.envelope - self.planned

    @property
    def overrun(self) -> Decimal:
        """How much the plan exceeds the envelope (zero within it)."""
        return max(self.planned - self.envelope, Decimal("0.00"))

    @property
    def planned_percent(self) -> Decimal | None:
        if not self.envelope:
            return None
        return (self.planned * 100 / self.envelope).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)

    @property
    def over_envelope(self) -> bool:
        return self.planned > self.envelope

    @property
    def seed_over_cap(self) -> bool:
        return self.seed_planned is not None and self.seed_planned > self.seed_cap


def envelope_use(*, envelope: Decimal, planned: Decimal, seed_planned: Decimal | None = None) -> EnvelopeUse:
    """Annex 2: the plan against the regional envelope (in euros), the seed against its 20 % cap."""
    envelope = Decimal(envelope)
    return EnvelopeUse(
        envelope=envelope,
        planned=Decimal(planned),
        seed_planned=None if seed_planned is None else Decimal(seed_planned),
        seed_cap=(envelope * SEED_CAP_SHARE).quantize(CENT, rounding=ROUND_HALF_UP),
    )


# --- Balance between statuses and activities --------------------------------------------------------------------


PUBLIC, PRIVATE, ESPIC = "public", "private", "espic"
BALANCE_STATUSES = ((PUBLIC, "Publics"), (PRIVATE, "Privés"), (ESPIC, "ESPIC"))
BALANCE_STATUS_LABELS = dict(BALANCE_STATUSES)
STATUS_GROUP_LABELS = {PUBLIC: "Public", PRIVATE: "Privé", ESPIC: "ESPIC"}  # one establishment's group


def balance_status(status: str, is_espic: bool) -> str:
    """§5.1 « statuts d'établissements (publics, privés, ESPIC) »: the sector rule of the envelopes."""
    return sector_of(status, is_espic)


class BalanceLine(NamedTuple):
    """One domain line for the balance: whose it is, the establishment's status group and activities, its amount.
    A named tuple: the national list builds one per domain line (thousands), a frozen dataclass costs 3× more."""

    establishment_id: int
    status_group: str
    activities: tuple
    amount: Decimal | None


@dataclass
class BalanceRow:
    key: str
    label: str
    establishments: int = 0
    domains: int = 0
    amount: Decimal = Decimal("0.00")
    establishment_percent: Decimal | None = None
    amount_percent: Decimal | None = None


def _percent(part, whole) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def balance(lines: Iterable[BalanceLine]) -> dict:
    """{"statuses": [BalanceRow], "activities": [BalanceRow], "establishments": n, "amount": total}: establishments
    (distinct), domain lines and estimated amounts per status group and per activity, with their shares."""
    establishments, status_establishments = set(), defaultdict(set)
    activity_establishments = defaultdict(set)
    statuses = {key: BalanceRow(key, label) for key, label in BALANCE_STATUSES}
    activities = {key: BalanceRow(key, key) for key in ACTIVITIES}
    total = Decimal("0.00")
    for line in lines:
        amount = line.amount or Decimal("0.00")
        establishments.add(line.establishment_id)
        total += amount
        row = statuses[line.status_group]
        row.domains += 1
        row.amount += amount
        status_establishments[line.status_group].add(line.establishment_id)
        for activity in line.activities:
            row = activities[activity]
            row.domains += 1
            row.amount += amount
            activity_establishments[activity].add(line.establishment_id)
    for key, row in statuses.items():
        row.establishments = len(status_establishments[key])
    for key, row in activities.items():
        row.establishments = len(activity_establishments[key])
    return _balance_shares(statuses, activities, len(establishments), total)


@dataclass(frozen=True)
class BalanceGroup:
    """Domain lines already summed per establishment status (the national list sums them in the database): an
    establishment has one status, so distinct establishments of different groups never overlap."""

    status_group: str
    establishments: int  # distinct
    domains: int
    amount: Decimal  # estimates, unknown ones counting 0
    activities: dict  # activity -> (distinct establishments, domain lines, amount)


def balance_of_groups(groups: Iterable[BalanceGroup]) -> dict:
    """`balance` from `BalanceGroup`s: the same rows, shares and totals."""
    statuses = {key: BalanceRow(key, label) for key, label in BALANCE_STATUSES}
    activities = {key: BalanceRow(key, key) for key in ACTIVITIES}
    establishments, total = 0, Decimal("0.00")
    for group in groups:
        establishments += group.establishments
        total += group.amount
        row = statuses[group.status_group]
        row.establishments += group.establishments
        row.domains += group.domains
        row.amount += group.amount
        for activity, (activity_establishments, domains, amount) in group.activities.items():
            row = activities[activity]
            row.establishments += activity_establishments
            row.domains += domains
            row.amount += amount
    return _balance_shares(statuses, activities, establishments, total)


def _balance_shares(statuses: dict, activities: dict, establishments: int, total: Decimal) -> dict:
    for row in [*statuses.values(), *activities.values()]:
        row.establishment_percent = _percent(row.establishments, establishments)
        row.amount_percent = _percent(row.amount, total)
    return {
        "statuses": list(statuses.values()),
        "activities": list(activities.values()),
        "establishments": establishments,
        "amount": total,
    }
