"""The ARS's and the DGOS's pages of annex 4 §3: the funding dashboard (« pilotage ») of a region or of the nation,
and the project reviews of a dossier.

Every page asks the permission policy: the dashboard answers 403 to the establishments' roles at /pilotage/ and
404 on a region page out of the user's scope (an ARS reads only its region); the reviews follow the dossier's
reading rules (404), and recording one is for the region's ARS or the establishment carrying the dossier (403).
The figures are `funding.selectors_dashboard`, the write is `funding.services_reviews.project_review_record`.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from hopen import permissions
from hopen.exceptions import ApplicationError, PermissionRefused

from . import charts
from .forms_reviews import ProjectReviewForm
from .models_dossiers import DossierStatus
from .selectors_dashboard import (
    DASHBOARD_REFUSED,
    ESTABLISHMENT_LIMIT,
    SLIPPED_LIMIT,
    DashboardScope,
    can_view_dashboard,
    dashboard,
    dashboard_regions,
    dashboard_scope,
)
from .selectors_reviews import dossier_reviews
from .services_reviews import (
    NOT_IN_PROGRESS,
    REVIEW_REFUSED,
    can_record_review,
    project_review_record,
    reviewable_domains,
)

MONEY_SERIES = [("Engagé", "hopen-bar--committed"), ("Versé", "hopen-bar--paid")]
ENVELOPE_SERIES = [
    ("Versé", "hopen-bar--paid"),
    ("Engagé, non versé", "hopen-bar--committed"),
    ("Disponible", "hopen-bar--available"),
]


def dossier_detail_url(dossier) -> str:
    return reverse("funding:dossier_detail", args=[dossier.reference])


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
    data = dashboard(request.user, scope, page_number=request.GET.get("page"))
    regions = dashboard_regions(request.user) if permissions.scope_of(request.user).national else []
    context = {
        "data": data,
        "scope": scope,
        "charts": _charts(data),
        "regions": regions,
        "national_user": permissions.scope_of(request.user).national,
        "establishment_limit": ESTABLISHMENT_LIMIT,
        "slipped_limit": SLIPPED_LIMIT,
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


# --- Project reviews ---------------------------------------------------------------------------------------------


@login_required
@require_GET
def dossier_reviews_page(request, reference):
    """The reviews of a dossier, for whoever may read it."""
    dossier = permissions.get_dossier_for_reading(request.user, reference)
    context = {
        "dossier": dossier,
        "reviews": dossier_reviews(dossier),
        "can_record_review": can_record_review(request.user, dossier) and dossier.status == DossierStatus.IN_PROGRESS,
        "dossier_url": dossier_detail_url(dossier),
    }
    return render(request, "funding/reviews/reviews.html", context)


def _copy_errors(form, error: ValidationError):
    for name, errors in getattr(error, "message_dict", {"__all__": error.messages}).items():
        form.add_error(name if name in form.fields else None, errors)


@login_required
@require_http_methods(["GET", "POST"])
def review_create(request, reference):
    """Annex 4 §3: record a project review and its new forecast dates (prerequisites, target deadlines)."""
    dossier = permissions.get_dossier_for_reading(request.user, reference)
    if not can_record_review(request.user, dossier):
        raise PermissionDenied(REVIEW_REFUSED)
    in_progress = dossier.status == DossierStatus.IN_PROGRESS
    domains = reviewable_domains(dossier) if in_progress else []
    form = ProjectReviewForm(request.POST or None, dossier=dossier, domains=domains)
    status = 200
    if request.method == "POST":
        if not in_progress:
            form.add_error(None, NOT_IN_PROGRESS)
            status = 409
        elif form.is_valid():
            try:
                project_review_record(
                    dossier=dossier,
                    held_on=form.cleaned_data["held_on"],
                    participants=form.cleaned_data["participants"],
                    notes=form.cleaned_data["notes"],
                    prerequisites_forecast=form.cleaned_data["prerequisites_forecast"],
                    domain_deadlines=form.domain_deadlines(),
                    by=request.user,
                )
            except PermissionRefused as exc:
                raise PermissionDenied(exc.message) from exc
            except ApplicationError as exc:
                form.add_error(None, exc.message)
                status = 409
            except ValidationError as exc:
                _copy_errors(form, exc)
                status = 400
            else:
                messages.success(request, "Revue de projet enregistrée ; l'autre partie est notifiée.")
                return redirect("funding:dossier_reviews", reference=dossier.reference)
        else:
            status = 400
    context = {
        "dossier": dossier,
        "form": form,
        "in_progress": in_progress,
        "not_in_progress_message": NOT_IN_PROGRESS,
        "dossier_url": dossier_detail_url(dossier),
    }
    return render(request, "funding/reviews/review_form.html", context, status=status)
