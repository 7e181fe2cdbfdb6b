from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import render

from . import permissions, selectors
from .filtering import filtered_establishments
from .models import AuditRecord

LIST_PAGE_SIZE = 25


@login_required
def home(request):
    """The landing page of the user's role: own establishments, region, or the whole country."""
    scope = permissions.scope_of(request.user)
    context = {"scope": scope, "roles": request.user.role_assignments.select_related("establishment", "ght", "region")}
    if scope.national:
        context["region_counts"] = selectors.establishment_counts_by_region(request.user)
        context["total"] = sum(row.total for row in context["region_counts"])
        template = "hopen/home_national.html"
    elif scope.region_ids:
        context["region_counts"] = selectors.establishment_counts_by_region(request.user)
        context["total"] = sum(row.total for row in context["region_counts"])
        template = "hopen/home_region.html"
    else:
        context["establishments"] = selectors.establishments_held_by(request.user)
        context["support_ghts"] = selectors.ghts_supported_by(request.user)
        template = "hopen/home_establishment.html"
    return render(request, template, context)


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


@login_required
def audit_trail(request):
    if not permissions.can_browse_audit_trail(request.user):
        raise PermissionDenied("La piste d'audit est réservée aux administrateurs et aux auditeurs.")
    records = AuditRecord.objects.all()
    search = request.GET.get("q", "").strip()
    if search:
        records = records.filter(
            Q(actor_email__icontains=search) | Q(action__icontains=search) | Q(object_repr__icontains=search)
        )
    page = Paginator(records, 50).get_page(request.GET.get("page"))
    return render(request, "hopen/audit_trail.html", {"page": page, "search": search})
