"""Funding pages: an establishment's estimate of financial support (annex 5, first section « Estimation du
soutien financier »), the amount calculator, and the DGOS view of each region's share of combined activity next
to annex 2.

Every page asks the permission policy: an establishment out of the user's scope answers 404; the regional view
is national (DGOS) and answers 403 to the other roles. The rules themselves are `funding.rules` (annex 3).
"""

from decimal import Decimal

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render

from hopen import permissions
from hopen.formatting import french_euros, french_keur, french_number, french_quantity, french_signed
from indicators.models import CatalogueVersion, GroupKind, IndicatorGroup

from . import rules, selectors
from .forms import FIGURE_LABELS, CalculatorForm
from .loading_envelopes import programme_envelope_table
from .models import CombinedActivity
from .selectors import DOMAINS, amount_grid, estimate
from .services import FIGURE_FIELDS

# Our regional shares are checked against annex 2 within this margin (tests/funding/test_regional_shares.py).
SHARE_TOLERANCE_POINTS = Decimal("1.5")
REGIONAL_SHARES_REFUSED = "La répartition régionale de l'activité combinée est réservée à la DGOS."


# --- Presentation helpers ------------------------------------------------------------------------------------------


def format_number(value, decimals=2) -> str:
    """French number: « 123 456,78 » (no-break space between thousands, decimal comma): `hopen.formatting`."""
    return french_number(value, decimals)


def format_euros(amount) -> str:
    """« 123 456,78 € »: `hopen.formatting.french_euros`."""
    return french_euros(amount)


def _domain_labels(programme) -> dict:
    """D1–D7 labels from the programme's catalogue in force (annex 1); empty when the catalogue is not loaded."""
    return dict(
        IndicatorGroup.objects.filter(
            catalogue__programme=programme, catalogue__is_current=True, kind=GroupKind.DOMAIN
        ).values_list("code", "label")
    )


def _category_range(category, categories) -> str:
    if category.upper >= max(c.upper for c in categories):
        return f"{format_number(category.lower, 0)} et plus"
    return f"{format_number(category.lower, 0)} à {format_number(category.upper, 0)}"


def _band_range(grid, domain, rate, category_code) -> str:
    band = next((b for b in grid.bands.get((domain, rate), []) if b.category == category_code), None)
    return f"{format_euros(band.minimum)} – {format_euros(band.maximum)}" if band else ""


def estimate_context(value, grid, programme) -> dict:
    """Category and amount per domain (annex 3 §2–3) on the programme's grid, ready for `funding/_estimate.html`."""
    result = estimate(value, grid)
    category = next(c for c in grid.categories if c.code == result.category)
    labels = _domain_labels(programme)
    rows = []
    for domain in DOMAINS:
        amounts = result.domains[domain]
        rows.append({
            "code": domain,
            "label": labels.get(domain, ""),
            "standard": format_euros(amounts["standard"]),
            "standard_band": _band_range(grid, domain, "standard", result.category),
            "advanced": format_euros(amounts["advanced"]) if "advanced" in amounts else None,
            "advanced_band": _band_range(grid, domain, "advanced", result.category) if "advanced" in amounts else "",
        })
    return {
        "combined_activity": french_quantity(result.combined_activity),
        "category": result.category,
        "category_range": _category_range(category, grid.categories),
        "categories": [f"{c.code} de {_category_range(c, grid.categories)}" for c in grid.categories],
        "rows": rows,
    }


def breakdown_context(inputs: rules.ActivityInputs) -> dict:
    """Each term of annex 3 §1 with its weight, computed by `rules.combined_activity` itself (one rule, one place)."""
    rows = []
    for name, label in FIGURE_LABELS.items():
        count = getattr(inputs, name)
        weight = rules.combined_activity(rules.ActivityInputs(**{name: 1}))
        rows.append({
            "label": label,
            "count": format_number(count, 0),
            "weight": format_number(weight, 1).removesuffix(",0"),
            "equivalent": french_quantity(rules.combined_activity(rules.ActivityInputs(**{name: count}))),
        })
    return {"rows": rows, "total": french_quantity(rules.combined_activity(inputs))}


def _eligibility_verdicts(establishment, programme):
    """The eligibility per domain on the programme (`funding.eligibility.selectors`, §5.3.1); None without its
    catalogue."""
    from .eligibility.selectors import eligibility_for_establishment  # imported here: written alongside this module

    try:
        return eligibility_for_establishment(establishment, programme=programme)
    except CatalogueVersion.DoesNotExist:
        return None


# --- Pages ---------------------------------------------------------------------------------------------------------


@login_required
def estimate_establishment(request, finess):
    """Annex 5, first section: combined activity, category and estimated amount per domain of one establishment."""
    establishment = permissions.get_establishment_for_reading(request.user, finess)
    record = CombinedActivity.objects.filter(establishment=establishment).first()
    programme = request.programme
    grid = amount_grid(programme)
    context = {
        "establishment": establishment, "record": record, "grid_missing": not grid.categories, "programme": programme,
    }
    if record is not None:
        context["combined_activity_value"] = french_quantity(record.value)
        context["combined_activity_computed"] = french_quantity(record.computed)
        figures = establishment.activity_figures.filter(source_year=record.source_year).first()
        if figures is not None:
            inputs = rules.activity_inputs_from_sae(**{field: getattr(figures, field) for field in FIGURE_FIELDS})
            context["breakdown"] = breakdown_context(inputs)
        if grid.categories:
            context["estimate"] = estimate_context(record.value, grid, programme)
    context["verdicts"] = _eligibility_verdicts(establishment, programme)
    return render(request, "funding/estimate_establishment.html", context)


@login_required
def calculator(request):
    """Category and amounts for a typed combined activity, or for the activity figures it comes from."""
    form = CalculatorForm(request.GET or None)
    grid = amount_grid(request.programme)
    context = {
        "form": form,
        "programme": request.programme,
        "grid_missing": not grid.categories,
        "can_see_regional_shares": permissions.scope_of(request.user).national,
    }
    if form.is_bound and form.is_valid() and grid.categories:
        context["estimate"] = estimate_context(form.value, grid, request.programme)
        if form.inputs is not None:
            context["breakdown"] = breakdown_context(form.inputs)
    return render(request, "funding/calculator.html", context)


@login_required
def regional_shares(request):
    """DGOS: each region's share of national combined activity (our data) next to the share of the programme's
    envelope table (annex 2 for HOP'EN)."""
    if not permissions.scope_of(request.user).national:
        raise PermissionDenied(REGIONAL_SHARES_REFUSED)
    table = programme_envelope_table(request.programme)
    if table is None:
        return render(
            request, "funding/regional_shares.html", {"programme": request.programme, "table_missing": True, "empty": True}
        )
    by_region = selectors.combined_activity_by_region()
    totals = {code: total for code, (total, _) in by_region.items()}
    shares = rules.regional_shares({**{region.region_code: Decimal(0) for region in table.regions}, **totals})
    rows = []
    for region in table.regions:
        total, count = by_region.get(region.region_code, (Decimal(0), 0))
        difference = shares[region.region_code] - region.share_percent
        rows.append({
            "code": region.region_code,
            "name": region.region_name,
            "establishments": format_number(count, 0),
            "combined_activity": format_number(total, 0),
            "share": format_number(shares[region.region_code]),
            "annex_share": format_number(region.share_percent),
            "difference": french_signed(difference),
            "beyond_tolerance": abs(difference) > SHARE_TOLERANCE_POINTS,
            "annex_envelope": french_keur(region.envelope_keur),
        })
    national = sum(totals.values(), Decimal(0))
    context = {
        "rows": rows,
        "source": table.source,
        "tolerance": format_number(SHARE_TOLERANCE_POINTS, 1),
        "beyond_count": sum(row["beyond_tolerance"] for row in rows),
        "total_combined_activity": format_number(national, 0),
        "total_establishments": format_number(sum(count for _, count in by_region.values()), 0),
        "total_share": format_number(sum(shares.values(), Decimal(0))),
        "annex_total_share": format_number(table.total_share_percent),
        "annex_sum_share": format_number(sum((region.share_percent for region in table.regions), Decimal(0))),
        # The national envelope is the sum of the regional rows, as the ledger opens them (419 999 k€ for HOP'EN):
        # the total printed under the annex (420 000 k€) is quoted beside it, never used as a second figure.
        "annex_sum_envelope": sum((region.envelope_keur for region in table.regions), Decimal(0)) * 1000,
        "annex_total_envelope": french_keur(table.total_envelope_keur),
        "empty": not national,
        "programme": request.programme,
    }
    return render(request, "funding/regional_shares.html", context)
