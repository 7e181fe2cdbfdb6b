"""Annex 3 §2–3: categories and flat amounts per domain, from the grid fixture (fixtures/hopen_amount_grid.json)."""

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given, settings as hypothesis_settings
from hypothesis import strategies as st

from funding.rules import Band, Category, advanced_amount, amount_for, category_of, ght_amount
from funding.selectors import estimate

# Annex 3 §3, in k€: (category A, B, C, D) min–max per domain and rate.
ANNEX_3 = {
    ("D1", "standard"): [(50, 170), (170, 275), (275, 425), (425, 575)],
    ("D1", "advanced"): [(60, 204), (204, 330), (330, 510), (510, 690)],
    ("D2", "standard"): [(50, 250), (250, 350), (350, 500), (500, 700)],
    ("D3", "standard"): [(50, 200), (200, 300), (300, 450), (450, 600)],
    ("D4", "standard"): [(40, 75), (75, 200), (200, 400), (400, 550)],
    ("D5", "standard"): [(40, 75), (75, 125), (125, 250), (250, 400)],
    ("D6", "standard"): [(40, 75), (75, 125), (125, 250), (250, 400)],
    ("D6", "advanced"): [(48, 90), (90, 150), (150, 300), (300, 480)],
    ("D7", "standard"): [(40, 60), (60, 105), (105, 225), (225, 350)],
}
BOUNDS = [0, 7000, 22500, 230000, 1000000]
CATEGORIES = [Category(code, Decimal(lo), Decimal(hi)) for code, lo, hi in zip("ABCD", BOUNDS, BOUNDS[1:])]


def bands(key):
    return [Band(code, Decimal(lo * 1000), Decimal(hi * 1000)) for code, (lo, hi) in zip("ABCD", ANNEX_3[key])]


def test_fixture_grid_is_annex_3(grid):
    assert [(c.code, c.lower, c.upper) for c in grid.categories] == [(c.code, c.lower, c.upper) for c in CATEGORIES]
    for key, rows in ANNEX_3.items():
        assert [(b.category, b.minimum, b.maximum) for b in grid.bands[key]] == [
            (code, Decimal(lo * 1000), Decimal(hi * 1000)) for code, (lo, hi) in zip("ABCD", rows)
        ]
    assert set(grid.bands) == set(ANNEX_3)  # "advanced" exists for D1 and D6 only


@pytest.mark.parametrize(
    "value, category",
    [(0, "A"), (6999.99, "A"), (7000, "B"), (22499.99, "B"), (22500, "C"), (229999.99, "C"), (230000, "D"),
     (1000000, "D"), (5000000, "D")],
)
def test_annex_3_categories_and_boundaries_belong_to_the_upper_category(value, category):
    assert category_of(Decimal(str(value)), CATEGORIES).code == category


def test_negative_activity_is_refused():
    with pytest.raises(ValueError, match="négative"):
        category_of(Decimal("-1"), CATEGORIES)


@pytest.mark.parametrize("key", sorted(ANNEX_3))
@pytest.mark.parametrize("index", range(4))
def test_annex_3_corners_of_every_domain_and_category(key, index):
    """At each lower bound the amount is the category's min; just under the upper bound it tends to its max."""
    lower, upper = BOUNDS[index], BOUNDS[index + 1]
    minimum, maximum = (Decimal(k * 1000) for k in ANNEX_3[key][index])
    assert amount_for(Decimal(lower), CATEGORIES, bands(key)) == minimum
    assert amount_for(Decimal(upper), CATEGORIES, bands(key)) == (
        maximum if index == 3 else Decimal(ANNEX_3[key][index + 1][0] * 1000)
    )
    middle = Decimal(lower + upper) / 2
    assert amount_for(middle, CATEGORIES, bands(key)) == ((minimum + maximum) / 2).quantize(Decimal("0.01"))


@pytest.mark.parametrize("key", sorted(ANNEX_3))
@pytest.mark.parametrize("value", [1000000, 1000001, 2500000, 10**9])
def test_annex_3_cap_at_and_above_one_million(key, value):
    assert amount_for(Decimal(value), CATEGORIES, bands(key)) == Decimal(ANNEX_3[key][3][1] * 1000)


def test_annex_3_advanced_rate_is_exactly_1_2_times_the_standard_amount_rounded_once(grid):
    """Annex 3 §3: « Un forfait avancé qui intègre un bonus de +20 % du forfait standard » — at every point, the
    advanced amount is the standard amount × 1.2 rounded half-up once (the separate advanced bands drifted by 0,01 €
    at about 29 % of points)."""
    assert grid.advanced_bonus_percent == Decimal("20")
    assert grid.advanced_indicators == {"D1": "D1.3", "D6": "D6.1"}
    drifted = 0
    for step in range(0, 1_000_001, 997):
        value = Decimal(step) + Decimal("0.37")
        result = estimate(value, grid)
        for domain in ("D1", "D6"):
            standard, advanced = result.domains[domain]["standard"], result.domains[domain]["advanced"]
            assert advanced == (standard * Decimal("1.2")).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
            drifted += advanced != amount_for(value, CATEGORIES, bands((domain, "advanced")))
    assert drifted > 0  # the old computation from the advanced bands gave other cents at some points


def test_advanced_amount_rounds_half_up_once():
    assert advanced_amount(Decimal("40002.86"), Decimal("20")) == Decimal("48003.43")  # 48 003,432
    assert advanced_amount(Decimal("100000.04"), Decimal("20")) == Decimal("120000.05")  # 120 000,048
    assert advanced_amount(Decimal("100000.00"), Decimal("0")) == Decimal("100000.00")


def test_estimate_of_615000_combined_activity(grid):
    result = estimate(Decimal("615000"), grid)
    assert (result.combined_activity, result.category) == (Decimal("615000.00"), "D")
    # D1 standard: 425 000 + 150 000 × (615 000 − 230 000) / 770 000 = 500 000.
    assert result.domains["D1"] == {"standard": Decimal("500000.00"), "advanced": Decimal("600000.00")}
    assert set(result.domains["D2"]) == {"standard"}


def test_amounts_are_rounded_half_up_to_the_cent():
    # D7 in A: 40 000 + 20 000 × 1/7000 = 40 002.857… → 40 002.86
    assert amount_for(Decimal(1), CATEGORIES, bands(("D7", "standard"))) == Decimal("40002.86")


def test_annex_3_section_2_ght_amount_is_the_sum_of_members():
    assert ght_amount([Decimal("100000.10"), Decimal("250000.00"), "49999.90"]) == Decimal("400000.00")
    assert ght_amount([]) == Decimal("0.00")


activities = st.decimals(min_value=0, max_value=2_000_000, places=2, allow_nan=False, allow_infinity=False)


@hypothesis_settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(ANNEX_3)), activities, activities)
def test_amount_never_decreases_as_activity_grows(key, first, second):
    low, high = sorted((first, second))
    assert amount_for(low, CATEGORIES, bands(key)) <= amount_for(high, CATEGORIES, bands(key))


@hypothesis_settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(ANNEX_3)), activities)
def test_amount_stays_within_its_category_min_and_max(key, value):
    category = category_of(value, CATEGORIES)
    band = next(b for b in bands(key) if b.category == category.code)
    assert band.minimum <= amount_for(value, CATEGORIES, bands(key)) <= band.maximum


@hypothesis_settings(max_examples=100, deadline=None)
@given(st.sampled_from(sorted(ANNEX_3)), st.sampled_from(BOUNDS[1:4]))
def test_amount_is_continuous_at_the_boundaries(key, bound):
    """Just below and at a boundary the amounts differ by at most a cent (the max of N is the min of N+1)."""
    below = amount_for(Decimal(bound) - Decimal("0.0001"), CATEGORIES, bands(key))
    at = amount_for(Decimal(bound), CATEGORIES, bands(key))
    assert Decimal(0) <= at - below <= Decimal("0.01")
