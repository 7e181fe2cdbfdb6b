"""The project reviews of a dossier (annex 4 §3): the list, and recording one.

The reviews follow the dossier's reading rules (404), and recording one is for the region's ARS or the
establishment carrying the dossier (403). The write is `funding.reviews.services.project_review_record`.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from funding.dossiers.models import DossierStatus
from hopen import permissions
from hopen.exceptions import ApplicationError, PermissionRefused

from .forms import ProjectReviewForm
from .selectors import dossier_reviews
from .services import NOT_IN_PROGRESS, REVIEW_REFUSED, can_record_review, project_review_record, reviewable_domains


def dossier_detail_url(dossier) -> str:
    return reverse("funding:dossier_detail", args=[dossier.reference])


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
