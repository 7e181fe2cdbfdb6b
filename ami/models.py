"""AMI pre-candidature (instruction §5.3.2 « Etape 1 », annex 5: the oSIS tab and its four sections)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from indicators.models import PrivateDocument

DOMAIN_CODES = [(f"D{i}", f"D{i}") for i in range(1, 8)]


class Position(models.TextChoices):
    """Annex 5, second section: « Choix proposés : Aucune, En projet, Définitive »."""

    NONE = "none", "Aucune"
    PLANNED = "planned", "En projet"
    FINAL = "final", "Définitive"


class FilingStatus(models.TextChoices):
    DRAFT = "draft", "En préparation"
    AWAITING_SUPPORT = "awaiting_support", "Validée par l'établissement, en attente de l'établissement support"
    FILED = "filed", "Déposée"


class PreCandidature(models.Model):
    establishment = models.ForeignKey("hopen.Establishment", on_delete=models.PROTECT, related_name="pre_candidatures")
    programme = models.ForeignKey("indicators.Programme", on_delete=models.PROTECT, related_name="pre_candidatures")
    position = models.CharField("positionnement", max_length=10, choices=Position.choices, default=Position.NONE)
    hn_prerequisites_reached = models.BooleanField("prérequis HN atteints", null=True, blank=True)
    hn_prerequisites_forecast = models.CharField("période prévisionnelle d'atteinte des prérequis HN", max_length=7, blank=True)
    hopen_prerequisites_forecast = models.CharField(
        "période prévisionnelle d'atteinte des prérequis HOP'EN", max_length=7, blank=True
    )
    referent_name = models.CharField("référent HOP'EN — nom", max_length=200, blank=True)
    referent_function = models.CharField("référent HOP'EN — fonction", max_length=200, blank=True)
    referent_email = models.EmailField("référent HOP'EN — courriel", blank=True)
    referent_phone = models.CharField("référent HOP'EN — téléphone", max_length=30, blank=True)
    legal_representative_name = models.CharField("représentant légal — nom", max_length=200, blank=True)
    legal_representative_function = models.CharField("représentant légal — fonction", max_length=200, blank=True)
    comment = models.TextField("commentaire", blank=True)
    investment_amount = models.DecimalField(
        "poids de l'investissement (€)", max_digits=14, decimal_places=2, null=True, blank=True
    )
    business_stakes = models.TextField("enjeux métiers et retour sur investissement", blank=True)
    status = models.CharField("statut", max_length=20, choices=FilingStatus.choices, default=FilingStatus.DRAFT)
    is_late = models.BooleanField("déposée hors délai (candidature tardive)", default=False)
    validated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    validated_at = models.DateTimeField("validée par la direction le", null=True, blank=True)
    support_validated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    support_validated_at = models.DateTimeField("validée par l'établissement support le", null=True, blank=True)
    filed_at = models.DateTimeField("déposée le", null=True, blank=True)
    updated_at = models.DateTimeField("modifiée le", default=timezone.now)

    class Meta:
        verbose_name = "pré-candidature AMI"
        verbose_name_plural = "pré-candidatures AMI"
        constraints = [
            models.UniqueConstraint(fields=["establishment", "programme"], name="pre_candidature_one_per_programme"),
            models.CheckConstraint(
                name="pre_candidature_filed_has_date",
                condition=~Q(status="filed") | Q(filed_at__isnull=False, validated_at__isnull=False),
            ),
            models.CheckConstraint(
                name="pre_candidature_hn_forecast_only_if_not_reached",
                condition=Q(hn_prerequisites_forecast="") | Q(hn_prerequisites_reached=False),
            ),
        ]

    def __str__(self):
        return f"AMI {self.programme.code} — {self.establishment}"


class Decision(models.TextChoices):
    PENDING = "pending", "En attente"
    PRESELECTED = "preselected", "Présélectionné"
    REJECTED = "rejected", "Non retenu"


class PreCandidatureDomain(models.Model):
    """A domain the establishment applies on: choosing a forecast semester is applying (annex 5)."""

    pre_candidature = models.ForeignKey(PreCandidature, on_delete=models.CASCADE, related_name="domains")
    domain_code = models.CharField("domaine", max_length=4, choices=DOMAIN_CODES)
    forecast_semester = models.CharField("semestre prévisionnel d'atteinte des cibles", max_length=7)
    priority = models.PositiveSmallIntegerField("priorité")
    planning = models.TextField("planning et périodes d'observation", blank=True)
    decision = models.CharField("décision ARS", max_length=12, choices=Decision.choices, default=Decision.PENDING)
    decision_reason = models.TextField("motif", blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    decided_at = models.DateTimeField("décidé le", null=True, blank=True)
    # Annex 3 standard flat amount of the domain for the establishment's combined activity, kept by
    # ami.estimates.refresh_estimates when the line, the combined activity or the grid change (None: no combined
    # activity or no grid) — read by the lists, the programming and the exports instead of recomputed per line.
    estimated_amount = models.DecimalField(
        "montant estimé (€, forfait standard)", max_digits=12, decimal_places=2, null=True, blank=True
    )

    class Meta:
        ordering = ["priority"]
        verbose_name = "domaine de la pré-candidature"
        constraints = [
            models.UniqueConstraint(fields=["pre_candidature", "domain_code"], name="pre_candidature_domain_unique"),
            models.UniqueConstraint(
                fields=["pre_candidature", "priority"], name="pre_candidature_priority_unique",
                violation_error_message="Chaque domaine choisi a un rang de priorité différent.",
            ),
            models.CheckConstraint(name="pre_candidature_priority_positive", condition=Q(priority__gte=1)),
            models.CheckConstraint(
                name="pre_candidature_rejection_has_reason",
                condition=~Q(decision="rejected") | ~Q(decision_reason=""),
            ),
        ]

    def __str__(self):
        return f"{self.domain_code} ({self.forecast_semester}, priorité {self.priority})"


class PreCandidatureComment(models.Model):
    """The thread between the establishment and its ARS on a pre-candidature."""

    pre_candidature = models.ForeignKey(PreCandidature, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField("message")
    created_at = models.DateTimeField("envoyé le", default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = "message sur la pré-candidature"
        constraints = [models.CheckConstraint(name="pre_candidature_comment_not_empty", condition=~Q(body=""))]


class PreCandidatureAttachment(PrivateDocument):
    """Complementary documents (e.g. the GHT master plan), with the upload rules of justificatory documents."""

    pre_candidature = models.ForeignKey(PreCandidature, on_delete=models.PROTECT, related_name="attachments")

    class Meta(PrivateDocument.Meta):
        verbose_name = "pièce complémentaire de pré-candidature"
        constraints = [
            models.CheckConstraint(name="ami_attachment_not_empty", condition=Q(size__gt=0)),
            models.CheckConstraint(
                name="ami_attachment_deletion_complete",
                condition=Q(deleted_at__isnull=True, deleted_by__isnull=True)
                | Q(deleted_at__isnull=False, deleted_by__isnull=False),
            ),
        ]
