"""The draw (audits.sampling): reproducible, explainable, proportional — pure functions."""

import hashlib

import pytest

from audits.sampling import Unit, allocate, draw, fingerprint, size_from_rate
from hopen.exceptions import ApplicationError


def population(n=40):
    return [Unit(f"REF-{i:03d}", ("32" if i % 4 else "53", "public" if i % 3 else "private")) for i in range(n)]


def test_the_same_population_size_and_seed_give_the_same_sample_whatever_the_order():
    units = population()
    first = draw(units, 10, seed=2026)
    second = draw(list(reversed(units)), 10, seed=2026)
    assert first == second
    assert len(first.sample) == 10 and len(set(first.sample)) == 10


def test_another_seed_gives_another_sample_of_the_same_size():
    units = population()
    samples = {draw(units, 10, seed=seed).sample for seed in range(5)}
    assert len(samples) == 5
    assert all(len(sample) == 10 for sample in samples)


def test_the_fingerprint_is_the_sha256_of_the_sorted_references():
    units = population(3)
    expected = hashlib.sha256("REF-000\nREF-001\nREF-002".encode()).hexdigest()
    assert fingerprint(["REF-002", "REF-000", "REF-001"]) == expected == draw(units, 1, seed=1).fingerprint


def test_strata_are_allocated_in_proportion_with_the_largest_remainder():
    # 10 × 6/13 = 4.62, 10 × 4/13 = 3.08, 10 × 3/13 = 2.31: integer parts 4 + 3 + 2 = 9, the largest remainder (A) gets the 10th.
    assert allocate({("A",): 6, ("B",): 4, ("C",): 3}, 10) == {("A",): 5, ("B",): 3, ("C",): 2}
    # A tie in the remainders goes to the larger stratum.
    assert allocate({("A",): 1, ("B",): 3}, 2) == {("A",): 0, ("B",): 2}


def test_each_stratum_shows_its_population_and_its_draw():
    units = population()
    result = draw(units, 10, seed=7)
    assert sum(s.population for s in result.strata) == 40
    assert sum(s.drawn for s in result.strata) == 10
    assert [s.key for s in result.strata] == sorted(s.key for s in result.strata)
    by_key = {s.key: s for s in result.strata}
    for unit in units:
        if unit.reference in result.sample:
            assert unit.reference in by_key[unit.stratum].references


def test_size_from_rate_rounds_up():
    assert size_from_rate(25, 10) == 3
    assert size_from_rate(40, "12.5") == 5


def test_a_sample_larger_than_the_population_or_an_empty_population_is_refused():
    with pytest.raises(ApplicationError, match="dépasse la population"):
        draw(population(3), 4, seed=1)
    with pytest.raises(ApplicationError, match="population est vide"):
        draw([], 1, seed=1)
