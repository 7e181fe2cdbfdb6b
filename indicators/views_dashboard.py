"""Attainment pages: an establishment's dashboard, the regional table, the completeness view.

Every page asks the permission policy: an establishment out of the user's scope answers 404, lists
only show what the user may read. ARS and DGOS read the pages without entry buttons.
"""

from dataclasses import dataclass

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.text import slugify

from hopen import permissions
from hopen.exports import FORMAT_REFUSED, export_filename, export_format
from hopen.forms import EstablishmentFilterForm
from hopen.filtering import filtered_establishments
from hopen.models import Region
from hopen.selectors import establishments_held_by

from . import selectors_dashboard
from .completeness_export import completeness_export
from .models import CatalogueVersion
from .selectors import current_catalogue, establishment_for_indicators

PAGE_SIZE = 25
PREREQUISITES_YES = "oui"
PREREQUISITES_NO = "non"


class AttainmentFilterForm(EstablishmentFilterForm):
    """The establishment filters, plus "prérequis atteints oui / non"."""

    prerequisites = forms.ChoiceField(
        label="Prérequis atteints",
        required=False,
        choices=[
            ("", "Tous"),
            (PREREQUISITES_YES, "Oui (les 15 indicateurs atteints)"),
            (PREREQUISITES_NO, "Non (non atteints ou non renseignés)"),
        ],
    )


def _catalogue_or_none(programme):
    """The catalogue in force of the request's programme: every figure of these pages reads the values of its
    indicators only, never another programme's."""
    try:
        return current_catalogue(programme)
    except CatalogueVersion.DoesNotExist:
        return None


def _table_catalogue_or_none(programme, *, groups=False):
    """The same catalogue for the establishment tables, which show its number of indicators and (the attainment
    table) its groups, never its indicators one by one: `selectors_dashboard.catalogue_for_tables`."""
    try:
        return selectors_dashboard.catalogue_for_tables(programme, groups=groups)
    except CatalogueVersion.DoesNotExist:
        return None


@login_required
def indicators_home(request):
    """The "Indicateurs" menu entry: the dashboard of the user's only establishment, the table otherwise."""
    scope = permissions.scope_of(request.user)
    if not (scope.national or scope.region_ids or scope.ght_ids) and len(scope.establishment_ids) == 1:
        establishment = establishments_held_by(request.user).first()
        if establishment is not None:
            return redirect("indicators:dashboard", finess=establishment.finess)
    return redirect("indicators:regional_table")


# --- Establishment dashboard ---------------------------------------------------------------------------------------


@login_required
def dashboard(request, finess):
    establishment = establishment_for_indicators(request.user, finess)
    catalogue = _catalogue_or_none(request.programme)
    context = {
        "establishment": establishment,
        "programme": request.programme,
        "catalogue": catalogue,
        "can_enter": permissions.can_enter_indicator_values(request.user, establishment),
    }
    if catalogue is not None:
        data = selectors_dashboard.establishment_dashboard(establishment, catalogue)
        context["dashboard"] = data
        context["chart"] = progress_chart(data.progress, data.indicator_count)
    return render(request, "indicators/dashboard.html", context)


@dataclass
class ChartBar:
    semester: str
    reached: int
    x: float
    y: float
    height: float
    label_x: float


@dataclass
class ChartTick:
    value: int
    y: float


CHART_HEIGHT = 220
CHART_TOP = 24
CHART_BOTTOM = 36
CHART_LEFT = 44
BAR_WIDTH = 34
BAR_STEP = 56


def progress_chart(points, total: int) -> dict | None:
    """Geometry of the server-side SVG bar chart (SVG attributes only: the CSP forbids inline styles). Plain numbers:
    the template writes them through the `svg` filter, never localised (« 1 412 » would break the viewBox)."""
    if not points or not total:
        return None
    plot_height = CHART_HEIGHT - CHART_TOP - CHART_BOTTOM
    baseline = CHART_TOP + plot_height

    def y_of(value):
        return round(baseline - plot_height * value / total, 1)

    bars = []
    for index, point in enumerate(points):
        x = CHART_LEFT + 12 + index * BAR_STEP
        y = y_of(point.reached)
        bars.append(
            ChartBar(
                semester=point.semester, reached=point.reached, x=x, y=y,
                height=round(baseline - y, 1), label_x=x + BAR_WIDTH / 2,
            )
        )
    step = 10 if total > 20 else 5
    # Ticks every `step` and at the total, leaving out a tick too close to the total to be read apart from it.
    values = [v for v in range(0, total, step) if total - v >= step / 2 or v == 0] + [total]
    ticks = [ChartTick(value=v, y=y_of(v)) for v in values]
    width = CHART_LEFT + 24 + len(points) * BAR_STEP
    return {
        "bars": bars,
        "ticks": ticks,
        "width": width,
        "height": CHART_HEIGHT,
        "baseline": baseline,
        "left": CHART_LEFT,
        "axis_label_x": CHART_LEFT - 6,
        "right": width - 8,
        "bar_width": BAR_WIDTH,
        "semester_y": baseline + 20,
        "total": total,
    }


# --- Regional table and completeness -------------------------------------------------------------------------------


def _filtered_establishments(request, catalogue):
    """The establishments the user may read, filtered by the form (a bad value drops that filter only)."""
    form, filters, establishments = filtered_establishments(request, AttainmentFilterForm)
    prerequisites = filters.get("prerequisites")
    if catalogue is not None and prerequisites in (PREREQUISITES_YES, PREREQUISITES_NO):
        establishments = selectors_dashboard.filter_by_prerequisites(
            establishments, catalogue, reached=prerequisites == PREREQUISITES_YES
        )
    return form, establishments


def _query_without_page(request):
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


# One group's cell of the attainment table, with the whitespace the template's loop used to write around it.
ATTAINMENT_CELL = (
    '\n        <td class="hopen-attainment-cell" data-label="{code}" data-group="{code}" data-attainment="{attainment}">'
    '<span class="fr-badge fr-badge--sm fr-badge--no-icon {css}" title="{code} : {label}">'
    '<span aria-hidden="true">{short}</span><span class="fr-sr-only">{code} : {label}</span></span></td>\n        '
)


@dataclass
class AttainmentTableRow(selectors_dashboard.AttainmentRow):
    cells: str = ""  # the HTML of the group cells


def _with_attainment_cells(rows) -> list[AttainmentTableRow]:
    """The rows with the HTML of their group cells: a page has 25 rows × 9 groups but at most 9 × 4 distinct cells,
    each written once here (escaped as the template would) instead of ten template lookups per cell — most of the
    table's rendering at national scale (issue 17; the same idea as hopen.widgets.Select)."""
    written = {}

    def cell(group, badge):
        key = (group.code, badge.attainment)
        if key not in written:
            written[key] = format_html(
                ATTAINMENT_CELL, code=group.code, attainment=badge.code, css=badge.css, label=badge.label,
                short=badge.short,
            )
        return written[key]

    return [
        AttainmentTableRow(
            establishment=row.establishment, prerequisites=row.prerequisites, groups=row.groups,
            cells=mark_safe("".join(cell(group, badge) for group, badge in row.groups)),
        )
        for row in rows
    ]


@login_required
def regional_table(request):
    """Annex 4 §3: the ARS follows "le niveau d'atteinte des prérequis et des cibles d'usage" of its establishments."""
    catalogue = _table_catalogue_or_none(request.programme, groups=True)
    form, establishments = _filtered_establishments(request, catalogue)
    page = Paginator(establishments, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = selectors_dashboard.attainment_rows(page.object_list, catalogue) if catalogue is not None else []
    rows = _with_attainment_cells(rows)
    return render(
        request,
        "indicators/regional_table.html",
        {
            "form": form,
            "page": page,
            "rows": rows,
            "programme": request.programme,
            "catalogue": catalogue,
            "groups": list(catalogue.groups.all()) if catalogue is not None else [],
            "scope_national": permissions.scope_of(request.user).national,
            "query": _query_without_page(request),
        },
    )


@login_required
def completeness(request):
    """Who has declared what: indicators declared out of the catalogue, drafts, missing documents (§5.3.1)."""
    catalogue = _table_catalogue_or_none(request.programme)
    form, establishments = _filtered_establishments(request, catalogue)
    indicator_count = catalogue.indicator_count if catalogue is not None else 0
    totals = None
    if catalogue is not None:
        totals = selectors_dashboard.completeness_totals(establishments, catalogue, indicator_count)
        establishments = selectors_dashboard.with_completeness(establishments, catalogue)
    paginator = Paginator(establishments, PAGE_SIZE)
    if totals is not None:
        paginator.count = totals["establishments"]  # the totals counted the same establishments: no second COUNT
    page = paginator.get_page(request.GET.get("page"))
    return render(
        request,
        "indicators/completeness.html",
        {
            "form": form,
            "page": page,
            "totals": totals,
            "programme": request.programme,
            "catalogue": catalogue,
            "indicator_count": indicator_count,
            "query": _query_without_page(request),
            "may_export_values": permissions.can_export_national_tables(request.user),
        },
    )


def _scope_codes(request, form) -> list[str] | None:
    """The regions an export covers, for its file name: the region filter, else the user's regions (None: the
    nation; « etablissements » for an establishment's or a GHT's scope)."""
    region = getattr(form, "cleaned_data", {}).get("region")
    if region:
        return [region]
    scope = permissions.scope_of(request.user)
    if scope.national:
        return None
    codes = list(Region.objects.filter(pk__in=scope.region_ids).values_list("code", flat=True))
    return codes or ["etablissements"]


@login_required
def completeness_export_view(request):
    """The completeness view as CSV or XLSX: the page's establishments (its scope and filters), streamed."""
    fmt = export_format(request)
    if fmt is None:
        return HttpResponseBadRequest(FORMAT_REFUSED)
    catalogue = _table_catalogue_or_none(request.programme)
    if catalogue is None:
        raise Http404("Le catalogue des indicateurs de ce programme n'est pas encore chargé.")
    form, establishments = _filtered_establishments(request, catalogue)
    indicator_count = catalogue.indicator_count
    rows = selectors_dashboard.completeness_export_rows(
        selectors_dashboard.with_completeness(establishments, catalogue)
    )
    filename = export_filename(f"completude-{slugify(request.programme.code)}", _scope_codes(request, form))
    return completeness_export(fmt, rows, indicator_count, filename)
