"""The random draw of an audit campaign (instruction §5.2.1: « des audits sur un échantillon aléatoire de dossiers »):
pure functions of plain values, so that anyone can redo a draw from what the campaign stores.

The algorithm, documented on the campaign page:

1. the population is the list of the dossiers' references, each with its stratum (a tuple of labels such as
   (region code, sector); the empty tuple when the draw is not stratified);
2. its fingerprint is the SHA-256 of the sorted references joined by a line feed: the same population, whatever
   the order it was read in, has the same fingerprint;
3. the sample size is split between the strata in proportion to their counts, by the largest remainder method
   (each stratum gets the integer part of size × count / population, then the units left go to the largest
   remainders; ties to the larger stratum, then to the smaller stratum key) — a stratum never gets more than its count;
4. one generator `random.Random(seed)` draws, stratum after stratum in the order of their keys, `sample(k)` of
   the stratum's references sorted alphabetically.

Same population, size, strata and seed: same sample, on any machine (Python's Mersenne Twister and
`random.sample` are stable for an integer seed).
"""

import hashlib
import math
import random
from dataclasses import dataclass
from fractions import Fraction

from hopen.exceptions import ApplicationError


@dataclass(frozen=True)
class Unit:
    reference: str
    stratum: tuple = ()


@dataclass(frozen=True)
class StratumDraw:
    key: tuple
    population: int
    drawn: int
    references: tuple


@dataclass(frozen=True)
class Draw:
    fingerprint: str
    population_count: int
    sample: tuple  # the references drawn, sorted
    strata: tuple  # StratumDraw, by key


def fingerprint(references) -> str:
    """SHA-256 of the sorted references, one per line."""
    return hashlib.sha256("\n".join(sorted(references)).encode("utf-8")).hexdigest()


def size_from_rate(population_count: int, rate_percent) -> int:
    """The sample size for a rate (percent of the population), rounded up: 10 % of 25 dossiers is 3."""
    return math.ceil(Fraction(str(rate_percent)) * population_count / 100)


def allocate(counts: dict, size: int) -> dict:
    """{stratum key: count} → {stratum key: units drawn}, proportional with the largest remainder (see above)."""
    total = sum(counts.values())
    if size > total:
        raise ApplicationError(f"L'échantillon demandé ({size}) dépasse la population ({total} dossiers).")
    quotas = {key: Fraction(size * count, total) for key, count in counts.items()} if total else {}
    allocation = {key: math.floor(quota) for key, quota in quotas.items()}
    left = size - sum(allocation.values())
    order = sorted(quotas, key=lambda key: (-(quotas[key] - allocation[key]), -counts[key], key))
    for key in order[:left]:
        allocation[key] += 1
    return allocation


def draw(units, size: int, seed: int) -> Draw:
    """The reproducible draw of `size` units among `units` (see the module's documentation)."""
    units = list(units)
    references = [unit.reference for unit in units]
    if len(set(references)) != len(references):
        raise ValueError("A reference appears twice in the population.")
    if not units:
        raise ApplicationError("La population est vide : aucun dossier ne répond aux critères de la campagne.")
    if size < 1:
        raise ApplicationError("La taille de l'échantillon doit être d'au moins un dossier.")
    if size > len(units):
        raise ApplicationError(
            f"L'échantillon demandé ({size}) dépasse la population ({len(units)} dossiers) : réduisez la taille "
            "ou élargissez les critères."
        )
    by_stratum = {}
    for unit in units:
        by_stratum.setdefault(tuple(unit.stratum), []).append(unit.reference)
    allocation = allocate({key: len(refs) for key, refs in by_stratum.items()}, size)
    generator = random.Random(int(seed))
    strata = []
    for key in sorted(by_stratum):
        population = sorted(by_stratum[key])
        chosen = tuple(sorted(generator.sample(population, allocation[key])))
        strata.append(StratumDraw(key=key, population=len(population), drawn=len(chosen), references=chosen))
    sample = tuple(sorted(ref for stratum in strata for ref in stratum.references))
    return Draw(fingerprint=fingerprint(references), population_count=len(units), sample=sample, strata=tuple(strata))
