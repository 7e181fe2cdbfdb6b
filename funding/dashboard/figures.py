"""The dashboard's figures, computed once per version of the data (`hopen.figure_cache`) and shared by every reader
of the same scope: the national page costs its SQL aggregates once per write, not once per request.

The permission is checked and the scope resolved before the cache is asked (`dashboard_scope`, then the same check
as `selectors.dashboard`): the key holds the scope (region code or nation), the programme and the page — an ARS
never reads another region's entry, and an ARS is never served the nation's (it cannot resolve that scope).
A write anywhere raises the write version, so a declaration or a ledger movement shows at the next request.
"""

from dataclasses import replace

from django.core.paginator import Page, Paginator
from django.http import Http404

from hopen import permissions
from hopen.figure_cache import cached_figures

from .lists import SELECTED_PAGE_SIZE, selected_dossiers_page
from .selectors import Dashboard, DashboardScope, catalogue_groups, dashboard, selected_dossiers


def figures_scope(scope: DashboardScope, programme) -> tuple:
    """The key parts of the scope's figures: the nation or the region, and the programme."""
    return ("nation" if scope.national else f"region-{scope.region.code}", programme.pk)


def _page_number(value) -> int:
    """A positive page number; anything else is the first page (as `Paginator.get_page` does)."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return 1
    return max(number, 1)


def portable_page(page: Page) -> Page:
    """The same page over a plain list (a paginator over a queryset would be re-evaluated when pickled)."""
    paginator = Paginator(range(page.paginator.count), page.paginator.per_page)
    return Page(list(page.object_list), page.number, paginator)


def _computed(user, scope, programme) -> Dashboard:
    data = dashboard(user, scope, programme=programme, page_number=1)
    return replace(data, selected_page=portable_page(data.selected_page))


def _check(user, scope: DashboardScope) -> None:
    if not (scope.national or permissions.can_read_region_money(user, scope.region)):
        raise Http404("Région introuvable.")


def cached_dashboard(user, scope: DashboardScope, *, programme, page_number=None, version=None) -> Dashboard:
    """`selectors.dashboard` for `scope` (resolved by `dashboard_scope`), read from the figure cache at the current
    write version. The figures are cached once per scope and programme; a page of the selected dossiers other than
    the first is cached apart, its number bounded by the real number of pages (no key per invented page number)."""
    _check(user, scope)
    parts = figures_scope(scope, programme)
    data = cached_figures("dashboard", parts, lambda: _computed(user, scope, programme), version=version)
    number = min(_page_number(page_number), data.selected_page.paginator.num_pages)
    if number == 1:
        return data
    page = cached_figures(
        "dashboard-page", (*parts, number),
        lambda: portable_page(selected_dossiers_page(
            selected_dossiers(scope, programme), number, count=data.selected_page.paginator.count,
            national=scope.national, programme=programme, group_ids=catalogue_groups(programme),
        )),
        version=version,
    )
    return replace(data, selected_page=page)



def pagination(user, scope: DashboardScope, *, programme, page_number=None, dashboard_figures, version=None) -> Page:
    """The number and count of the page of selected dossiers, without its rows (the pagination links): the count is
    a small entry of its own, so that a request whose sections are all cached (`{% cached_figures %}`) never loads
    the figures. `dashboard_figures` is a lazy `cached_dashboard`, evaluated on a miss only."""
    _check(user, scope)
    count = cached_figures(
        "dashboard-count", figures_scope(scope, programme),
        lambda: dashboard_figures.selected_page.paginator.count, version=version,
    )
    return Paginator(range(count), SELECTED_PAGE_SIZE).get_page(_page_number(page_number))
