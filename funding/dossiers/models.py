"""Dossiers (instruction §5.3.2 « Etape 2 », annex 4): an establishment's or a GHT's application per domain,
its ARS decisions, its seed and usage funding. Its project reviews (`funding.reviews.models`), the letters
generated for it (`funding.letters.models`) and the deadline events (`funding.deadlines.models`) are declared
with their parts.

The states and the allowed transitions are declared once, in `funding.dossiers.states`; the services of
`funding.dossiers.services` are the only writers.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

DOMAIN_CODES = [(f"D{i}", f"D{i}") for i in range(1, 8)]


class DossierStatus(models.TextChoices):
    INITIALISATION_REQUESTED = "initialisation_requested", "Initialisation demandée à l'ARS"
    DRAFT = "draft", "En préparation"
    TRANSMITTED = "transmitted", "Transmis à l'ARS"
    UNDER_REVIEW = "under_review", "En instruction"
    IN_PROGRESS = "in_progress", "Sélectionné — projet en cours"
    REFUSED = "refused", "Refusé"
    COMPLETED = "completed", "Soldé"
    CLOSED = "closed", "Clôturé"


class DomainStatus(models.TextChoices):
    PENDING = "pending", "En attente de décision"
    SELECTED = "selected", "Sélectionné"
    REFUSED = "refused", "Refusé"
    TARGETS_REACHED = "targets_reached", "Cibles atteintes"
    USAGE_NOTIFIED = "usage_notified", "Financement à l'usage notifié"
    PAID = "paid", "Versé"


# A domain counts as selected from the ARS's selection on, whatever happened next (annex 4 §1, « dossier retenu »): the
# seed is paid on it, it is funded (and may be audited), the dashboard and the letters list it among the selected.
SELECTED_DOMAIN_STATUSES = (
    DomainStatus.SELECTED, DomainStatus.TARGETS_REACHED, DomainStatus.USAGE_NOTIFIED, DomainStatus.PAID,
)


class RefusalKind(models.TextChoices):
    """Annex 4 §1: the kind of refusal sets when the establishment may apply again."""

    FINANCIAL = "financial", "Motif financier (enveloppe consommée…)"
    FEASIBILITY = "feasibility", "Faisabilité ou autre motif"


class ClosureKind(models.TextChoices):
    AUDIT_FAILURE = "audit_failure", "Contrôle non conforme (annexe 4)"
    ABANDONMENT = "abandonment", "Abandon du projet"


SILENCE_REFUSAL_REASON = "absence de décision de l'ARS dans le délai de quatre mois"


class Dossier(models.Model):
    """Filed by an establishment for itself, or by a GHT's support establishment for its candidate members."""

    programme = models.ForeignKey("indicators.Programme", on_delete=models.PROTECT, related_name="dossiers")
    reference = models.CharField("référence", max_length=40, unique=True)
    establishment = models.ForeignKey(
        "hopen.Establishment", on_delete=models.PROTECT, related_name="dossiers",
        verbose_name="établissement porteur (support pour un dossier de GHT)",
    )
    ght = models.ForeignKey("hopen.Ght", on_delete=models.PROTECT, null=True, blank=True, related_name="dossiers")
    region = models.ForeignKey("hopen.Region", on_delete=models.PROTECT, related_name="dossiers")
    status = models.CharField("statut", max_length=24, choices=DossierStatus.choices, default=DossierStatus.DRAFT)
    comment = models.TextField("commentaire de l'établissement", blank=True)
    prerequisites_forecast_initial = models.DateField("atteinte prévue des prérequis (initiale)", null=True, blank=True)
    prerequisites_forecast = models.DateField("atteinte prévue des prérequis", null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField("créé le", default=timezone.now)
    initialisation_requested_at = models.DateTimeField("initialisation demandée le", null=True, blank=True)
    initialised_at = models.DateTimeField("initialisé par l'ARS le", null=True, blank=True)
    initialised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    transmitted_at = models.DateTimeField("transmis le", null=True, blank=True)
    transmitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    review_started_at = models.DateTimeField("instruction ouverte le", null=True, blank=True)
    decided_at = models.DateTimeField("décision rendue le", null=True, blank=True)
    closed_at = models.DateTimeField("clôturé le", null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    closure_kind = models.CharField("motif de clôture", max_length=16, choices=ClosureKind.choices, blank=True)
    closure_reason = models.TextField("explication de la clôture", blank=True)
    updated_at = models.DateTimeField("modifié le", default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "dossier"
        verbose_name_plural = "dossiers"
        indexes = [models.Index(fields=["status", "transmitted_at"], name="dossier_status_transmitted")]
        constraints = [
            models.CheckConstraint(
                name="dossier_transmitted_has_date",
                condition=Q(status__in=["initialisation_requested", "draft"]) | Q(transmitted_at__isnull=False),
            ),
            models.CheckConstraint(
                name="dossier_closed_is_explained",
                condition=~Q(status="closed") | (Q(closed_at__isnull=False) & ~Q(closure_kind="") & ~Q(closure_reason="")),
            ),
            models.CheckConstraint(
                name="dossier_initialisation_requested_has_date",
                condition=~Q(status="initialisation_requested") | Q(initialisation_requested_at__isnull=False),
            ),
        ]

    def __str__(self):
        return f"Dossier {self.reference}"

    @property
    def is_ght_dossier(self):
        return self.ght_id is not None


class DossierMember(models.Model):
    """A candidate establishment of the dossier: the establishment itself, or each GHT member applying (annex 3 §2)."""

    dossier = models.ForeignKey(Dossier, on_delete=models.CASCADE, related_name="members")
    establishment = models.ForeignKey("hopen.Establishment", on_delete=models.PROTECT, related_name="dossier_memberships")

    class Meta:
        verbose_name = "établissement candidat"
        constraints = [models.UniqueConstraint(fields=["dossier", "establishment"], name="dossier_member_unique")]


class DossierDomain(models.Model):
    """One domain of a dossier, with its own state, target deadline, decision and amounts (euros)."""

    dossier = models.ForeignKey(Dossier, on_delete=models.CASCADE, related_name="domains")
    domain_code = models.CharField("domaine", max_length=4, choices=DOMAIN_CODES)
    status = models.CharField("statut", max_length=16, choices=DomainStatus.choices, default=DomainStatus.PENDING)
    rate = models.CharField("forfait", max_length=10, default="standard")
    target_deadline_initial = models.DateField("échéance d'atteinte des cibles (initiale)")
    target_deadline = models.DateField("échéance d'atteinte des cibles")
    total_amount = models.DecimalField("soutien financier total (€)", max_digits=14, decimal_places=2, default=0)
    seed_amount = models.DecimalField("amorçage (€)", max_digits=14, decimal_places=2, default=0)
    seed_is_derogatory = models.BooleanField("amorçage dérogatoire (prérequis HOP'EN non atteints)", default=False)
    seed_paid_at = models.DateTimeField("amorçage versé le", null=True, blank=True)
    usage_amount = models.DecimalField("financement à l'usage (€)", max_digits=14, decimal_places=2, null=True, blank=True)
    vendors = models.ManyToManyField("funding.SoftwareVendor", blank=True, related_name="dossier_domains")
    decision_reason = models.TextField("motif de la décision", blank=True)
    refusal_kind = models.CharField("nature du refus", max_length=12, choices=RefusalKind.choices, blank=True)
    refused_for_silence = models.BooleanField("refus implicite (silence de l'ARS)", default=False)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField("décidé le", null=True, blank=True)
    targets_reached_at = models.DateTimeField("cibles atteintes le", null=True, blank=True)
    usage_notified_at = models.DateTimeField("usage notifié le", null=True, blank=True)
    usage_notified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    paid_at = models.DateTimeField("versé le", null=True, blank=True)
    # §5.3.2 « Exceptionnellement … si l'ARS et son enveloppe régionale le permettent »: a late candidature without
    # AMI pre-selection, admitted by the ARS with its reason (`funding.dossiers.services.domain_admit_without_ami`).
    admitted_without_ami_reason = models.TextField("admis sans présélection AMI — motif de l'ARS", blank=True)
    admitted_without_ami_at = models.DateTimeField("admis sans présélection AMI le", null=True, blank=True)
    admitted_without_ami_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["dossier", "domain_code"]
        verbose_name = "domaine du dossier"
        verbose_name_plural = "domaines des dossiers"
        indexes = [models.Index(fields=["status", "target_deadline"], name="dossier_domain_status_deadline")]
        constraints = [
            models.UniqueConstraint(fields=["dossier", "domain_code"], name="dossier_domain_unique"),
            models.CheckConstraint(
                name="dossier_domain_refusal_explained",
                condition=~Q(status="refused") | (~Q(decision_reason="") & ~Q(refusal_kind="") & Q(decided_at__isnull=False)),
            ),
            models.CheckConstraint(
                name="dossier_domain_amounts",
                condition=Q(total_amount__gte=0, seed_amount__gte=0, seed_amount__lte=models.F("total_amount")),
            ),
            models.CheckConstraint(
                name="dossier_domain_admission_explained",
                condition=Q(admitted_without_ami_at__isnull=True)
                | (Q(admitted_without_ami_by__isnull=False) & ~Q(admitted_without_ami_reason="")),
            ),
            models.CheckConstraint(
                name="dossier_domain_usage_is_remainder",
                condition=Q(usage_amount__isnull=True)
                | Q(usage_amount=models.F("total_amount") - models.F("seed_amount")),
            ),
        ]

    def __str__(self):
        return f"{self.dossier.reference} {self.domain_code}"


class ShareStage(models.TextChoices):
    """Where a member's share of a selected domain stands (annex 2 §2), derived from its dates."""

    WAITING = "waiting", "Cibles non constatées"
    TARGETS_REACHED = "targets_reached", "Cibles atteintes"
    USAGE_NOTIFIED = "usage_notified", "Usage notifié"
    PAID = "paid", "Versé"


class DossierDomainShare(models.Model):
    """Annex 3 §2: the flat amount of each candidate establishment; the domain's total is their sum.

    Annex 2 §2 « le soutien financier intervient à chaque atteinte des cibles d'usage par un établissement partie
    pour un domaine fonctionnel »: each share has its own state — its part of the domain's seed (the ARS's seed
    split pro rata of the shares' amounts, `funding.dossiers.rules.seed_parts`, set at the selection), its targets
    reached, its usage funding (its amount − its seed part) notified and paid. The domain's status follows its
    shares (`funding.dossiers.services.shares`); an establishment's own dossier has exactly one share."""

    domain = models.ForeignKey(DossierDomain, on_delete=models.CASCADE, related_name="shares")
    establishment = models.ForeignKey("hopen.Establishment", on_delete=models.PROTECT, related_name="+")
    combined_activity = models.DecimalField("activité combinée", max_digits=14, decimal_places=2, null=True)
    amount = models.DecimalField("montant forfaitaire (€)", max_digits=14, decimal_places=2)
    seed_part = models.DecimalField("part de l'amorçage (€)", max_digits=14, decimal_places=2, default=0)
    targets_reached_at = models.DateTimeField("cibles atteintes le", null=True, blank=True)
    usage_amount = models.DecimalField("financement à l'usage (€)", max_digits=14, decimal_places=2, null=True, blank=True)
    usage_notified_at = models.DateTimeField("usage notifié le", null=True, blank=True)
    usage_notified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    paid_at = models.DateTimeField("versé le", null=True, blank=True)

    class Meta:
        verbose_name = "montant par établissement"
        constraints = [
            models.UniqueConstraint(fields=["domain", "establishment"], name="dossier_share_unique"),
            models.CheckConstraint(name="dossier_share_positive", condition=Q(amount__gte=0)),
            models.CheckConstraint(
                name="dossier_share_seed_part", condition=Q(seed_part__gte=0, seed_part__lte=models.F("amount"))
            ),
            models.CheckConstraint(
                name="dossier_share_usage_is_remainder",
                condition=Q(usage_amount__isnull=True) | Q(usage_amount=models.F("amount") - models.F("seed_part")),
            ),
            models.CheckConstraint(
                name="dossier_share_notified_has_amount",
                condition=Q(usage_notified_at__isnull=True)
                | (Q(usage_amount__isnull=False) & Q(targets_reached_at__isnull=False)),
            ),
            models.CheckConstraint(
                name="dossier_share_paid_after_notified",
                condition=Q(paid_at__isnull=True) | Q(usage_notified_at__isnull=False),
            ),
        ]

    def __str__(self):
        return f"{self.domain} — {self.establishment}"

    @property
    def stage(self) -> str:
        if self.paid_at is not None:
            return ShareStage.PAID
        if self.usage_notified_at is not None:
            return ShareStage.USAGE_NOTIFIED
        if self.targets_reached_at is not None:
            return ShareStage.TARGETS_REACHED
        return ShareStage.WAITING

    def get_stage_display(self) -> str:
        return ShareStage(self.stage).label
