"""Project reviews of a dossier (annex 4 §3) and the target deadlines they re-forecast; written by
`funding.reviews.services`."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from funding.dossiers.models import Dossier, DossierDomain


class ProjectReview(models.Model):
    """Annex 4 §3: a project review (at least every semester), with the new forecast dates it records."""

    dossier = models.ForeignKey(Dossier, on_delete=models.CASCADE, related_name="reviews")
    held_on = models.DateField("date de la revue")
    participants = models.TextField("participants")
    notes = models.TextField("compte rendu", blank=True)
    prerequisites_forecast = models.DateField("nouvelle date d'atteinte des prérequis", null=True, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-held_on", "-id"]
        verbose_name = "revue de projet"
        verbose_name_plural = "revues de projet"
        constraints = [models.CheckConstraint(name="project_review_has_participants", condition=~Q(participants=""))]


class ProjectReviewForecast(models.Model):
    """A domain's target deadline as re-forecast at a review."""

    review = models.ForeignKey(ProjectReview, on_delete=models.CASCADE, related_name="forecasts")
    domain = models.ForeignKey(DossierDomain, on_delete=models.CASCADE, related_name="review_forecasts")
    previous_deadline = models.DateField("échéance précédente")
    target_deadline = models.DateField("nouvelle échéance")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["review", "domain"], name="project_review_forecast_unique")]
