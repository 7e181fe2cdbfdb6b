"""Reads for the funding rules: the amount grid as plain values, estimates, combined activities in scope."""

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Sum
from django.db.models.functions import Coalesce

from .models import AmountBand, CombinedActivity, FundingCategory
from .rules import Band, Category, amount_for, category_of

DOMAINS = ("D1", "D2", "D3", "D4", "D5", "D6", "D7")


@dataclass(frozen=True)
class AmountGrid:
    categories: list
    bands: dict  # (domain, rate) -> [Band]


def amount_grid(programme) -> AmountGrid:
    """The programme's grid (annex 3 §3 for HOP'EN) as plain values: 2 queries. `programme`: a `Programme`."""
    categories = [
        Category(c.code, c.lower, c.upper)
        for c in FundingCategory.objects.filter(programme=programme).order_by("lower")
    ]
    bands = defaultdict(list)
    for band in AmountBand.objects.filter(category__programme=programme).select_related("category"):
        bands[(band.domain_code, band.rate)].append(Band(band.category.code, band.minimum, band.maximum))
    return AmountGrid(categories, dict(bands))


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
        for rate in ("standard", "advanced"):
            bands = grid.bands.get((domain, rate))
            if bands:
                amounts[rate] = amount_for(value, grid.categories, bands)
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
