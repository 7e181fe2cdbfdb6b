"""Reads for the funding rules: the amount grid as plain values, estimates, combined activities in scope."""

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Sum
from django.db.models.functions import Coalesce

from .models import AmountBand, CombinedActivity, FundingCategory
from .rules import Band, Category, advanced_amount, amount_for, category_of

DOMAINS = ("D1", "D2", "D3", "D4", "D5", "D6", "D7")


@dataclass(frozen=True)
class AmountGrid:
    categories: list
    bands: dict  # (domain, rate) -> [Band]
    # Annex 3 §3: the advanced rate = standard amount × (1 + bonus) for the domains of `advanced_indicators`
    # ({domain: structured-format indicator code}); the grid's « advanced » bands only display its range.
    advanced_bonus_percent: Decimal = Decimal("0")
    advanced_indicators: dict = field(default_factory=dict)


def amount_grid(programme) -> AmountGrid:
    """The programme's grid (annex 3 §3 for HOP'EN) as plain values: 2 queries. `programme`: a `Programme`."""
    categories = [
        Category(c.code, c.lower, c.upper)
        for c in FundingCategory.objects.filter(programme=programme).order_by("lower")
    ]
    bands = defaultdict(list)
    for band in AmountBand.objects.filter(category__programme=programme).select_related("category"):
        bands[(band.domain_code, band.rate)].append(Band(band.category.code, band.minimum, band.maximum))
    return AmountGrid(
        categories, dict(bands), advanced_bonus_percent=Decimal(programme.advanced_rate_bonus_percent),
        advanced_indicators=dict(programme.advanced_rate_indicators or {}),
    )


@dataclass(frozen=True)
class Estimate:
    combined_activity: Decimal
    category: str
    domains: dict  # domain -> {"standard": Decimal, "advanced": Decimal (D1, D6 only)}


def estimate(value: Decimal, grid: AmountGrid) -> Estimate:
    """Category and flat amount per domain and rate for a combined activity (annex 3 §2–3)."""
    domains = {}
    for domain in DOMAINS:
        amounts = {}
        bands = grid.bands.get((domain, "standard"))
        if bands:
            amounts["standard"] = amount_for(value, grid.categories, bands)
            if domain in grid.advanced_indicators:
                amounts["advanced"] = advanced_amount(amounts["standard"], grid.advanced_bonus_percent)
        domains[domain] = amounts
    return Estimate(Decimal(value).quantize(Decimal("0.01")), category_of(value, grid.categories).code, domains)


def combined_activity_by_region() -> dict:
    """{region code: (combined activity, establishments counted)} over every CombinedActivity value (1 query)."""
    rows = (
        CombinedActivity.objects.values("establishment__region__code")
        .annotate(total=Sum(Coalesce("override", "computed")), count=Count("id"))
        .order_by()
    )
    return {row["establishment__region__code"]: (row["total"], row["count"]) for row in rows}
