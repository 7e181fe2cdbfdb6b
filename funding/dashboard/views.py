"""The ARS's and the DGOS's funding dashboard (« pilotage », annex 4 §3) of a region or of the nation.

Every page asks the permission policy: the dashboard answers 403 to the establishments' roles at /pilotage/ and
404 on a region page out of the user's scope (an ARS reads only its region). The figures are
`funding.dashboard.selectors`; the project reviews of a dossier are `funding.reviews.views`.
"""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.functional import SimpleLazyObject
from django.views.decorators.http import require_GET

from hopen import permissions
from hopen.write_version import request_write_version

from . import charts
from .figures import cached_dashboard, figures_scope, pagination
from .lists import SLIPPED_LIMIT
from .selectors import (
    DASHBOARD_REFUSED,
    ESTABLISHMENT_LIMIT,
    DashboardScope,
    can_view_dashboard,
    dashboard_regions,
    dashboard_scope,
)

MONEY_SERIES = [("Engagé", "hopen-bar--committed"), ("Versé", "hopen-bar--paid")]
ENVELOPE_SERIES = [
    ("Versé", "hopen-bar--paid"),
    ("Engagé, non versé", "hopen-bar--committed"),
    ("Disponible", "hopen-bar--available"),
]


# --- Dashboard ---------------------------------------------------------------------------------------------------


def _charts(data):
    b = data.balances
    envelope = charts.stacked_bars(
        [
            ("Amorçage", [b.seed_paid, b.seed_committed - b.seed_paid, b.seed_available], b.seed_total),
            ("Usage", [b.usage_paid, b.usage_committed - b.usage_paid, b.usage_available], b.usage_total),
        ],
        ENVELOPE_SERIES,
    )
    sectors = charts.grouped_bars([(row.label, [row.committed, row.paid]) for row in data.sectors], MONEY_SERIES)
    activities = charts.grouped_bars(  # short labels (MCO, SSR…): the table next to it spells them out
        [(row.key, [row.committed, row.paid]) for row in data.activities], MONEY_SERIES
    )
    regions = None
    if data.scope.national:
        regions = charts.grouped_bars(
            [(row.region.name, [row.balances.committed, row.balances.paid]) for row in data.regions], MONEY_SERIES,
            label_width=210,
        )
    return {"envelope": envelope, "sectors": sectors, "activities": activities, "regions": regions}


def _render_dashboard(request, scope: DashboardScope):
    # Lazy: when every cached section of the template is a hit, the figures are not even read from the cache.
    version, number = request_write_version(request), request.GET.get("page")
    data = SimpleLazyObject(lambda: cached_dashboard(
        request.user, scope, programme=request.programme, page_number=number, version=version,
    ))
    regions = dashboard_regions(request.user) if permissions.scope_of(request.user).national else []
    context = {
        "data": data,
        "scope": scope,
        "charts": SimpleLazyObject(lambda: _charts(data)),
        "pagination": pagination(
            request.user, scope, programme=request.programme, page_number=number, dashboard_figures=data,
            version=version,
        ),
        "regions": regions,
        "national_user": permissions.scope_of(request.user).national,
        "establishment_limit": ESTABLISHMENT_LIMIT,
        "slipped_limit": SLIPPED_LIMIT,
        "programme": request.programme,
        "figures_scope": figures_scope(scope, request.programme),  # the key of the page's cached sections
    }
    return render(request, "funding/dashboard/dashboard.html", context)


@login_required
@require_GET
def dashboard_home(request):
    """/pilotage/: the nation for the DGOS (with its region selector), the ARS's own region."""
    if not can_view_dashboard(request.user):
        raise PermissionDenied(DASHBOARD_REFUSED)
    code = request.GET.get("region", "").strip()
    if code:
        return redirect("funding:dashboard_region", region_code=code)
    if not permissions.scope_of(request.user).national:
        regions = dashboard_regions(request.user)
        if len(regions) == 1:
            return redirect("funding:dashboard_region", region_code=regions[0].code)
        return render(request, "funding/dashboard/choose_region.html", {"regions": regions})
    return _render_dashboard(request, dashboard_scope(request.user, None))


@login_required
@require_GET
def dashboard_region(request, region_code):
    """/pilotage/<code>/: one region's dashboard (its ARS, or the DGOS); 404 out of the user's scope."""
    if not can_view_dashboard(request.user):
        raise Http404("Région introuvable.")
    return _render_dashboard(request, dashboard_scope(request.user, region_code))
