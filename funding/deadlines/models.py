"""What the daily deadline sweep did, once per action (`funding.deadlines`)."""

from django.db import models
from django.utils import timezone

from funding.dossiers.models import Dossier, DossierDomain


class DeadlineEventKind(models.TextChoices):
    SILENCE_REFUSAL = "silence_refusal", "Refus implicite après quatre mois"
    REVIEW_REMINDER = "review_reminder", "Rappel à l'ARS (3 mois et 3 semaines)"
    INITIALISATION_OVERDUE = "initialisation_overdue", "Initialisation non faite sous 1,5 mois"
    PREREQUISITES_REFUND = "prerequisites_refund", "Remboursement : prérequis non atteints à l'échéance"
    TARGET_DEADLINE_SOON = "target_deadline_soon", "Échéance des cibles proche"
    TARGET_DEADLINE_PASSED = "target_deadline_passed", "Échéance des cibles dépassée"
    PROGRAMME_DEADLINE_SOON = "programme_deadline_soon", "Échéance du programme proche"
    PROGRAMME_DEADLINE_PASSED = "programme_deadline_passed", "Échéance du programme dépassée"
    ANNUAL_REPORT_REMINDER = "annual_report_reminder", "Rappel du rapport annuel de l'ARS"


class DeadlineEvent(models.Model):
    """What a deadline job did, once: the unique key makes a second run (even a concurrent one) a no-op."""

    kind = models.CharField("type", max_length=32, choices=DeadlineEventKind.choices)
    key = models.CharField("clé", max_length=160, unique=True)
    dossier = models.ForeignKey(Dossier, on_delete=models.PROTECT, null=True, blank=True, related_name="deadline_events")
    domain = models.ForeignKey(
        DossierDomain, on_delete=models.PROTECT, null=True, blank=True, related_name="deadline_events"
    )
    region = models.ForeignKey("hopen.Region", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    as_of = models.DateField("date de référence")
    detail = models.TextField("détail", blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "échéance traitée"
        verbose_name_plural = "échéances traitées"
