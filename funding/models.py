"""The models of the funding app (app label « funding »): the registry Django and the migrations read.

Declared here: the amount grid of annex 3 (programme data) and the combined activity per establishment (the
estimate part, at the top of the app). Every other part declares its models in its own package and is imported
below: eligibility referentials (`funding.eligibility.models`), dossiers (`funding.dossiers.models`), project
reviews (`funding.reviews.models`), letters (`funding.letters.models`), deadline events
(`funding.deadlines.models`)."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone


class Rate(models.TextChoices):
    STANDARD = "standard", "Forfait standard"
    ADVANCED = "advanced", "Forfait avancé"


class FundingCategory(models.Model):
    """Annex 3 §3: categories of establishments by combined activity."""

    programme = models.ForeignKey("indicators.Programme", on_delete=models.CASCADE, related_name="funding_categories")
    code = models.CharField("catégorie", max_length=2)
    lower = models.DecimalField("activité combinée, borne basse", max_digits=12, decimal_places=2)
    upper = models.DecimalField("activité combinée, borne haute", max_digits=12, decimal_places=2)

    class Meta:
        ordering = ["programme", "lower"]
        verbose_name = "catégorie de financement"
        verbose_name_plural = "catégories de financement"
        constraints = [
            models.UniqueConstraint(fields=["programme", "code"], name="funding_category_unique"),
            models.CheckConstraint(name="funding_category_bounds", condition=Q(lower__gte=0, upper__gt=F("lower"))),
        ]

    def __str__(self):
        return f"{self.code} ({self.lower} – {self.upper})"


class AmountBand(models.Model):
    """Annex 3 §3: min and max flat amount (euros) of a category for a domain and a rate."""

    category = models.ForeignKey(FundingCategory, on_delete=models.CASCADE, related_name="bands")
    domain_code = models.CharField("domaine", max_length=4)
    rate = models.CharField("forfait", max_length=10, choices=Rate.choices, default=Rate.STANDARD)
    minimum = models.DecimalField("minimum (€)", max_digits=12, decimal_places=2)
    maximum = models.DecimalField("maximum (€)", max_digits=12, decimal_places=2)

    class Meta:
        ordering = ["domain_code", "rate", "category__lower"]
        verbose_name = "montant par catégorie"
        verbose_name_plural = "grille des montants"
        constraints = [
            models.UniqueConstraint(fields=["category", "domain_code", "rate"], name="amount_band_unique"),
            models.CheckConstraint(name="amount_band_bounds", condition=Q(minimum__gte=0, maximum__gte=F("minimum"))),
        ]

    def __str__(self):
        return f"{self.domain_code} {self.rate} {self.category.code}: {self.minimum} – {self.maximum}"


class CombinedActivity(models.Model):
    """Annex 3 §1 combined activity of an establishment, computed from its activity figures of a source year.

    The programme used one national computation on 2017 figures; an administrator may enter another
    figure (`override`), which wins over the computed one.
    """

    establishment = models.OneToOneField("hopen.Establishment", on_delete=models.CASCADE, related_name="combined_activity")
    source_year = models.PositiveSmallIntegerField("année source")
    computed = models.DecimalField("activité combinée calculée", max_digits=14, decimal_places=2)
    override = models.DecimalField("activité combinée saisie", max_digits=14, decimal_places=2, null=True, blank=True)
    override_reason = models.TextField("motif de la saisie", blank=True)
    override_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    override_at = models.DateTimeField("saisie le", null=True, blank=True)
    computed_at = models.DateTimeField("calculée le", default=timezone.now)

    class Meta:
        verbose_name = "activité combinée"
        verbose_name_plural = "activités combinées"
        constraints = [
            models.CheckConstraint(name="combined_activity_positive", condition=Q(computed__gte=0)),
            models.CheckConstraint(
                name="combined_activity_override_documented",
                condition=Q(override__isnull=True) | (Q(override__gte=0) & ~Q(override_reason="") & Q(override_by__isnull=False)),
            ),
        ]

    def __str__(self):
        return f"{self.establishment.finess} : {self.value}"

    @property
    def value(self):
        return self.override if self.override is not None else self.computed

    @property
    def source_label(self):
        if self.override is not None:
            return f"saisie par un administrateur ({self.override_reason})"
        return f"calculée sur les données SAE {self.source_year}"


# --- The parts' models (imported so that the app registry and the migrations see them) ----------------------------

from .deadlines.models import DeadlineEvent, DeadlineEventKind  # noqa: E402,F401
from .dossiers.models import (  # noqa: E402,F401
    DOMAIN_CODES,
    ClosureKind,
    DomainStatus,
    Dossier,
    DossierDomain,
    DossierDomainShare,
    DossierMember,
    DossierStatus,
    RefusalKind,
)
from .eligibility.models import GhtItGovernance, SoftwareVendor  # noqa: E402,F401
from .letters.models import DossierLetter, LetterKind  # noqa: E402,F401
from .reviews.models import ProjectReview, ProjectReviewForecast  # noqa: E402,F401
