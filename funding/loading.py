"""Loading the amount grid of annex 3 from fixtures/hopen_amount_grid.json (idempotent, audited)."""

import json
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.db import transaction

from ami.estimates import refresh_estimates
from indicators.loading import _upsert
from indicators.models import Programme

from .models import AmountBand, FundingCategory

FIXTURE = Path(settings.BASE_DIR) / "fixtures" / "hopen_amount_grid.json"
THOUSAND = Decimal(1000)


@transaction.atomic
def load_amount_grid(path: Path = FIXTURE, *, data: dict | None = None) -> dict:
    """`data`: the file's content already read (a programme file's `amount_grid` section, with its programme)."""
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    data = data if data is not None else json.loads(Path(path).read_text(encoding="utf-8"))
    programme = Programme.objects.get(code=data["programme"])
    _load_advanced_rate(programme, data, counts)
    categories = []
    for spec in data["categories"]:
        categories.append(
            _upsert(
                FundingCategory, {"programme": programme, "code": spec["code"]},
                {"lower": Decimal(spec["lower"]), "upper": Decimal(spec["upper"])}, counts,
            )
        )
    for domain, rates in data["bands_keur"].items():
        for rate, rows in rates.items():
            for category, (minimum, maximum) in zip(categories, rows, strict=True):
                _upsert(
                    AmountBand, {"category": category, "domain_code": domain, "rate": rate},
                    {"minimum": Decimal(minimum) * THOUSAND, "maximum": Decimal(maximum) * THOUSAND}, counts,
                )
    refresh_estimates(programme_ids=[programme.pk])  # the stored AMI estimates follow the grid
    return counts


def _load_advanced_rate(programme, data: dict, counts: dict) -> None:
    """Annex 3 §3 (HOP'EN): the advanced rate's bonus over the standard amount and, per domain, the structured-format
    indicator whose attainment grants it (`advanced_bonus_percent`, `advanced_rate_indicators` of the grid file)."""
    bonus = Decimal(str(data.get("advanced_bonus_percent", "0")))
    indicators = {str(k).upper(): str(v) for k, v in (data.get("advanced_rate_indicators") or {}).items()}
    if (programme.advanced_rate_bonus_percent, programme.advanced_rate_indicators) == (bonus, indicators):
        counts["unchanged"] += 1
        return
    programme.advanced_rate_bonus_percent, programme.advanced_rate_indicators = bonus, indicators
    programme.save(update_fields=["advanced_rate_bonus_percent", "advanced_rate_indicators"])
    counts["updated"] += 1
