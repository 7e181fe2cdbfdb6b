from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import render

from . import audit_trail as trail
from . import exports, permissions, selectors, work_queues
from .audit_display import present
from .filtering import filtered_establishments

LIST_PAGE_SIZE = 25
AUDIT_PAGE_SIZE = 50


@login_required
def home(request):
    """The landing page of the user's role: own establishments, region, or the whole country."""
    scope = permissions.scope_of(request.user)
    context = {"scope": scope, "roles": request.user.role_assignments.select_related("establishment", "ght", "region")}
    if scope.national:
        context["region_counts"] = selectors.establishment_counts_by_region(request.user)
        context["total"] = sum(row.total for row in context["region_counts"])
        # Administrator's task: the ARS whose letters print no postal address yet (empty for other roles).
        context["regions_without_ars_address"] = list(selectors.regions_without_ars_address(request.user))
        template = "hopen/home_national.html"
    elif scope.region_ids:
        context["region_counts"] = selectors.establishment_counts_by_region(request.user)
        context["total"] = sum(row.total for row in context["region_counts"])
        template = "hopen/home_region.html"
    else:
        context["establishments"] = list(selectors.establishments_held_by(request.user))
        context["support_ghts"] = selectors.ghts_supported_by(request.user)
        template = "hopen/home_establishment.html"
    context["work"] = work_queues.work_queue_of(
        request.user, context.get("establishments", []), _programme_or_none(request)
    )
    return render(request, template, context)


def _programme_or_none(request):
    """The request's programme, or None on a fresh database without any programme (the home still renders)."""
    try:
        programme = request.programme
        programme.pk  # noqa: B018 — evaluates the lazy programme
    except Http404:
        return None
    return programme


@login_required
def establishment_list(request):
    form, _, establishments = filtered_establishments(request)
    page = Paginator(establishments, LIST_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "hopen/establishment_list.html",
        {"form": form, "page": page, "query": query.urlencode()},
    )


@login_required
def establishment_detail(request, finess):
    establishment = permissions.get_establishment_for_reading(request.user, finess)
    context = {
        "establishment": establishment,
        "activity": establishment.activity_figures.first(),
        "ght_members": (
            establishment.ght.members.order_by("name").only("finess", "name", "city") if establishment.ght else []
        ),
        "can_enter_data": permissions.can_enter_establishment_data(request.user, establishment),
    }
    return render(request, "hopen/establishment_detail.html", context)


def _require_audit_trail(user):
    if not permissions.can_browse_audit_trail(user):
        raise PermissionDenied("La piste d'audit est réservée aux administrateurs et aux auditeurs.")


@login_required
def audit_trail(request):
    _require_audit_trail(request.user)
    filters = trail.filtered_records(request.user, request.GET)
    records = filters.qs if filters.is_valid() else filters.queryset.none()
    page = Paginator(records, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("format", None)
    return render(request, "hopen/audit_trail.html", {
        "filters": filters, "page": page, "lines": present(page.object_list), "query": query.urlencode(),
    })


@login_required
def audit_trail_export(request):
    """The page's records, filtered the same way, as CSV or XLSX (streamed, `Cache-Control: no-store`)."""
    _require_audit_trail(request.user)
    fmt = exports.export_format(request)
    if fmt is None:
        return HttpResponseBadRequest(exports.FORMAT_REFUSED)
    filters = trail.filtered_records(request.user, request.GET)
    if not filters.is_valid():
        return HttpResponseBadRequest("Filtres invalides : " + " ".join(
            str(message) for errors in filters.errors.values() for message in errors
        ))
    return trail.export_response(fmt, filters.qs)
