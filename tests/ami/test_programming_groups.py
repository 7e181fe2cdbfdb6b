"""The national list sums its domain lines in the database (ami.selectors.domain_totals): the totals and the
balance computed from those sums equal the ones computed line by line, on random lines."""

import random
from collections import defaultdict
from decimal import Decimal

import pytest

from ami import programming

SEMESTERS = ["2020 S1", "2020 S2", "2021 S1", "2022 S2"]
STATUSES = [programming.PUBLIC, programming.PRIVATE, programming.ESPIC]


def _random_lines(seed):
    rng = random.Random(seed)
    establishments = {
        pk: (rng.choice(STATUSES), tuple(a for a in programming.ACTIVITIES if rng.random() < 0.5)) for pk in range(30)
    }
    lines = []
    for _ in range(rng.randint(0, 200)):
        pk = rng.randrange(30)
        amount = None if rng.random() < 0.2 else Decimal(rng.randint(0, 10**8)) / 100
        lines.append((pk, *establishments[pk], rng.choice(programming.DOMAINS), rng.choice(SEMESTERS), amount))
    return lines


def _estimate_groups(lines):
    groups = defaultdict(lambda: [0, 0, None])
    for _, _, _, domain, semester, amount in lines:
        group = groups[(domain, semester)]
        group[0] += 1
        if amount is None:
            group[1] += 1
        else:
            group[2] = (group[2] or 0) + amount
    return [(*key, *values) for key, values in groups.items()]


def _balance_groups(lines):
    """What the grouped query returns: per status, distinct establishments, lines and amounts, overall and per
    activity."""
    by_status = defaultdict(list)
    for line in lines:
        by_status[line[1]].append(line)
    groups = []
    for status, status_lines in by_status.items():
        activities = {}
        for activity in programming.ACTIVITIES:
            matching = [line for line in status_lines if activity in line[2]]
            if matching:
                activities[activity] = (
                    len({line[0] for line in matching}), len(matching), sum((line[5] or 0 for line in matching), 0)
                )
        groups.append(programming.BalanceGroup(
            status_group=status, establishments=len({line[0] for line in status_lines}), domains=len(status_lines),
            amount=sum((line[5] or 0 for line in status_lines), Decimal("0")), activities=activities,
        ))
    return groups


def _rows(result):
    return [
        (row.key, row.establishments, row.domains, row.amount, row.establishment_percent, row.amount_percent)
        for row in [*result["statuses"], *result["activities"]]
    ]


@pytest.mark.parametrize("seed", range(12))
def test_grouped_estimate_totals_equal_the_line_by_line_ones(seed):
    lines = _random_lines(seed)
    by_line = programming.estimate_totals((domain, semester, amount) for _, _, _, domain, semester, amount in lines)
    grouped = programming.estimate_totals_of_groups(_estimate_groups(lines))
    assert (grouped.counts, grouped.unknown, grouped.total) == (by_line.counts, by_line.unknown, by_line.total)
    assert grouped.by_domain_year == by_line.by_domain_year and grouped.by_year == by_line.by_year
    assert grouped.table() == by_line.table()


@pytest.mark.parametrize("seed", range(12))
def test_grouped_balance_equals_the_line_by_line_one(seed):
    lines = _random_lines(seed)
    by_line = programming.balance(
        programming.BalanceLine(pk, status, activities, amount) for pk, status, activities, _, _, amount in lines
    )
    grouped = programming.balance_of_groups(_balance_groups(lines))
    assert (grouped["establishments"], grouped["amount"]) == (by_line["establishments"], by_line["amount"])
    assert _rows(grouped) == _rows(by_line)


def test_a_group_without_any_estimate_counts_its_lines_as_unknown():
    totals = programming.estimate_totals_of_groups([("D2", "2021 S1", 3, 3, None), ("D3", "2021 S1", 0, 0, None)])
    assert totals.counts == {"D2": 3} and totals.unknown == 3 and totals.total == 0 and totals.years == []
