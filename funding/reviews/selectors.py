"""Reads of the project reviews of a dossier (annex 4 §3). The caller has already checked that the user may read
the dossier (`hopen.permissions.get_dossier_for_reading`)."""

from django.db.models import Prefetch

from .models import ProjectReview, ProjectReviewForecast


def dossier_reviews(dossier):
    """The dossier's reviews, latest first, with their re-forecast domains and their author (three queries)."""
    return (
        ProjectReview.objects.filter(dossier=dossier)
        .select_related("recorded_by")
        .prefetch_related(
            Prefetch(
                "forecasts",
                queryset=ProjectReviewForecast.objects.select_related("domain").order_by("domain__domain_code"),
            )
        )
        .order_by("-held_on", "-id")
    )
