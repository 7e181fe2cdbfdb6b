"""DGOS audits (instruction §5.2.1, annex 4 « Des contrôles seront réalisés de façon aléatoire … dans le respect de
la mise en œuvre d'une procédure contradictoire »): a campaign draws dossiers at random (`audits.sampling`); each
drawn dossier gets an audit, its checklist of the values it was funded on, the draft findings sent to the
establishment, its answer, and the final decision. Written only by `audits.services`."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from indicators.models import PrivateDocument


class StratumDimension(models.TextChoices):
    REGION = "region", "Région"
    SECTOR = "sector", "Secteur"


class AuditCampaign(models.Model):
    """A draw of dossiers of one programme; what it stores lets anyone redo the draw (`audits.sampling`)."""

    programme = models.ForeignKey("indicators.Programme", on_delete=models.PROTECT, related_name="audit_campaigns")
    name = models.CharField("nom", max_length=200)
    filters = models.JSONField("critères de la population", default=dict, blank=True)
    strata = models.JSONField("strates", default=list, blank=True)
    exclude_recently_audited = models.BooleanField("exclure les dossiers contrôlés récemment", default=False)
    recent_months = models.PositiveSmallIntegerField("période d'exclusion (mois)", null=True, blank=True)
    sample_rate = models.DecimalField("taux d'échantillonnage (%)", max_digits=5, decimal_places=2, null=True, blank=True)
    sample_size = models.PositiveIntegerField("taille de l'échantillon")
    seed = models.BigIntegerField("graine du tirage")
    population_count = models.PositiveIntegerField("population")
    population_fingerprint = models.CharField("empreinte de la population (SHA-256)", max_length=64)
    strata_table = models.JSONField("tirage par strate", default=list, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField("créée le", default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "campagne de contrôle"
        verbose_name_plural = "campagnes de contrôle"
        constraints = [
            models.CheckConstraint(
                name="audit_campaign_sample_within_population",
                condition=Q(sample_size__gte=1, sample_size__lte=models.F("population_count")),
            ),
            models.CheckConstraint(
                name="audit_campaign_rate_percent",
                condition=Q(sample_rate__isnull=True) | Q(sample_rate__gt=0, sample_rate__lte=100),
            ),
        ]

    def __str__(self):
        return self.name


class AuditStatus(models.TextChoices):
    DRAWN = "drawn", "Tiré au sort"
    UNDER_REVIEW = "under_review", "En cours de vérification"
    AWAITING_RESPONSE = "awaiting_response", "Constats provisoires envoyés — procédure contradictoire"
    CONCLUDED = "concluded", "Conclu"


class AuditDecision(models.TextChoices):
    CONFORM = "conform", "Conforme"
    NON_CONFORM = "non_conform", "Non conforme"


class Audit(models.Model):
    """The audit of one drawn dossier."""

    campaign = models.ForeignKey(AuditCampaign, on_delete=models.PROTECT, related_name="audits")
    dossier = models.ForeignKey("funding.Dossier", on_delete=models.PROTECT, related_name="audits")
    stratum = models.CharField("strate", max_length=120, blank=True)
    status = models.CharField("statut", max_length=20, choices=AuditStatus.choices, default=AuditStatus.DRAWN)
    created_at = models.DateTimeField("tiré le", default=timezone.now)
    findings_sent_at = models.DateTimeField("constats provisoires envoyés le", null=True, blank=True)
    findings_sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    response_due_on = models.DateField("réponse attendue au plus tard le", null=True, blank=True)
    response_text = models.TextField("réponse de l'établissement", blank=True)
    responded_at = models.DateTimeField("réponse reçue le", null=True, blank=True)
    responded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    response_late = models.BooleanField("réponse hors délai", default=False)
    decision = models.CharField("décision", max_length=12, choices=AuditDecision.choices, blank=True)
    decision_reason = models.TextField("motif de la décision", blank=True)
    decided_at = models.DateTimeField("conclu le", null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["campaign", "dossier__reference"]
        verbose_name = "contrôle"
        verbose_name_plural = "contrôles"
        constraints = [
            models.UniqueConstraint(fields=["campaign", "dossier"], name="audit_once_per_campaign"),
            models.CheckConstraint(
                name="audit_sent_has_deadline",
                condition=Q(findings_sent_at__isnull=True) | Q(response_due_on__isnull=False),
            ),
            models.CheckConstraint(
                name="audit_concluded_is_decided",
                condition=~Q(status="concluded")
                | (~Q(decision="") & ~Q(decision_reason="") & Q(decided_at__isnull=False, findings_sent_at__isnull=False)),
            ),
            models.CheckConstraint(
                name="audit_response_complete",
                condition=Q(responded_at__isnull=True) | (~Q(response_text="") & Q(findings_sent_at__isnull=False)),
            ),
        ]

    def __str__(self):
        return f"Contrôle du dossier {self.dossier.reference}"


class Finding(models.TextChoices):
    PENDING = "pending", "À vérifier"
    CONFORM = "conform", "Conforme"
    NON_CONFORM = "non_conform", "Non conforme"
    DOCUMENT_MISSING = "document_missing", "Pièce justificative manquante"


FAILING_FINDINGS = (Finding.NON_CONFORM, Finding.DOCUMENT_MISSING)


class AuditLine(models.Model):
    """One line of the checklist: an indicator the dossier was funded on (a prerequisite, or an indicator of a
    selected domain), for one candidate establishment, with the declared value read when the dossier was drawn."""

    audit = models.ForeignKey(Audit, on_delete=models.CASCADE, related_name="lines")
    establishment = models.ForeignKey("hopen.Establishment", on_delete=models.PROTECT, related_name="+")
    indicator = models.ForeignKey("indicators.Indicator", on_delete=models.PROTECT, related_name="+")
    group_code = models.CharField("prérequis ou domaine", max_length=8)
    value = models.ForeignKey(
        "indicators.IndicatorValue", on_delete=models.PROTECT, null=True, blank=True, related_name="audit_lines",
        verbose_name="valeur déclarée contrôlée",
    )
    finding = models.CharField("constat", max_length=20, choices=Finding.choices, default=Finding.PENDING)
    comment = models.TextField("commentaire", blank=True)
    checked_at = models.DateTimeField("vérifié le", null=True, blank=True)
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["audit", "establishment__name", "indicator__group__position", "indicator__position"]
        verbose_name = "ligne de contrôle"
        verbose_name_plural = "lignes de contrôle"
        constraints = [
            models.UniqueConstraint(fields=["audit", "establishment", "indicator"], name="audit_line_unique"),
            models.CheckConstraint(
                name="audit_line_checked_has_author",
                condition=Q(finding="pending") | Q(checked_at__isnull=False, checked_by__isnull=False),
            ),
        ]

    def __str__(self):
        return f"{self.indicator.code} — {self.establishment}"


class AuditResponseDocument(PrivateDocument):
    """A document the establishment joins to its answer (private storage, type-checked, virus-scanned)."""

    audit = models.ForeignKey(Audit, on_delete=models.PROTECT, related_name="response_documents")

    class Meta(PrivateDocument.Meta):
        verbose_name = "pièce jointe à la réponse"
        verbose_name_plural = "pièces jointes aux réponses"
        constraints = [models.CheckConstraint(name="audit_response_document_not_empty", condition=Q(size__gt=0))]


class AuditLetterKind(models.TextChoices):
    DRAFT_FINDINGS = "draft_findings", "Constats provisoires du contrôle"
    FINAL_DECISION = "final_decision", "Décision finale du contrôle"


def audit_letter_storage_key(instance, filename):
    import uuid

    return f"audit-letters/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.pdf"


class AuditLetter(models.Model):
    """A PDF letter of an audit (WeasyPrint), generated once per event after the commit (`audits.letters`)."""

    audit = models.ForeignKey(Audit, on_delete=models.PROTECT, related_name="letters")
    kind = models.CharField("type", max_length=20, choices=AuditLetterKind.choices)
    reference = models.CharField("référence", max_length=80, unique=True)
    file = models.FileField("fichier", upload_to=audit_letter_storage_key, max_length=255, blank=True)
    size = models.PositiveBigIntegerField("taille (octets)", default=0)
    sha256 = models.CharField("empreinte SHA-256", max_length=64, blank=True)
    requested_at = models.DateTimeField("demandé le", default=timezone.now)
    generated_at = models.DateTimeField("généré le", null=True, blank=True)

    class Meta:
        ordering = ["requested_at", "id"]
        verbose_name = "courrier de contrôle"
        verbose_name_plural = "courriers de contrôle"
        constraints = [models.UniqueConstraint(fields=["audit", "kind"], name="audit_letter_once_per_kind")]

    def __str__(self):
        return f"{self.get_kind_display()} {self.reference}"


class AuditDeadlineEvent(models.Model):
    """What the deadline sweep did for an audit, once (the unique key makes a second run a no-op)."""

    key = models.CharField("clé", max_length=160, unique=True)
    audit = models.ForeignKey(Audit, on_delete=models.PROTECT, related_name="deadline_events")
    as_of = models.DateField("date de référence")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "échéance de contrôle traitée"
        verbose_name_plural = "échéances de contrôle traitées"
