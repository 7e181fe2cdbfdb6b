"""Attainment rules (pure): annex 1 targets, §5.3.1 for non-applicable values, periods."""

import datetime
from decimal import Decimal

import pytest

from indicators.attainment import (
    Attainment,
    group_attainment,
    prerequisites_attainment,
    rate_percent,
    value_attainment,
)
from indicators.periods import semester_bounds, semester_of, semesters_between

R, N, NA, M = Attainment.REACHED, Attainment.NOT_REACHED, Attainment.NOT_APPLICABLE, Attainment.MISSING


@pytest.mark.parametrize(
    "numerator, denominator, expected",
    [(90, 100, R), (899, 1000, N), (9, 10, R), (1, 1, R), (0, 5, N), (91, 100, R)],
)
def test_rate_reaches_when_at_least_the_threshold_exactly(numerator, denominator, expected):
    assert value_attainment(
        target_kind="rate", threshold=Decimal("90"), value_kind="rate", numerator=numerator, denominator=denominator
    ) == expected


def test_existence_target():
    assert value_attainment(target_kind="existence", threshold=None, value_kind="existence", exists=True) == R
    assert value_attainment(target_kind="existence", threshold=None, value_kind="existence", exists=False) == N


def test_not_applicable_and_missing():
    assert value_attainment(target_kind="rate", threshold=Decimal("90"), value_kind="not_applicable") == NA
    assert value_attainment(target_kind="rate", threshold=Decimal("90"), value_kind=None) == M


@pytest.mark.parametrize(
    "items, expected",
    [([R, R], R), ([R, NA], R), ([R, N], N), ([R, M], M), ([NA, NA], NA), ([N, M], N), ([], M)],
)
def test_group_attainment(items, expected):
    assert group_attainment(items) == expected


def test_prerequisites_need_all_fifteen_reached():
    assert prerequisites_attainment([R] * 15) == R
    assert prerequisites_attainment([R] * 14 + [N]) == N
    assert prerequisites_attainment([R] * 14 + [M]) == M
    assert prerequisites_attainment([N] + [R] * 13 + [M]) == N


def test_rate_percent_rounds_half_up_to_one_decimal():
    assert rate_percent(2, 3) == Decimal("66.7")
    assert rate_percent(1, 8) == Decimal("12.5")
    with pytest.raises(ValueError):
        rate_percent(3, 2)
    with pytest.raises(ValueError):
        rate_percent(0, 0)


def test_semesters():
    assert semester_of(datetime.date(2020, 6, 30)) == "2020 S1"
    assert semester_of(datetime.date(2020, 7, 1)) == "2020 S2"
    assert semester_bounds("2021 S2") == (datetime.date(2021, 7, 1), datetime.date(2021, 12, 31))
    assert semesters_between("2019 S1", "2021 S1") == ["2019 S1", "2019 S2", "2020 S1", "2020 S2", "2021 S1"]
    with pytest.raises(ValueError, match="Semestre invalide"):
        semester_bounds("2021-S3")
