"""What the support establishment enters for its GHT (§5.3.1 « Pour les GHT »): the master plan (SDSI) documents and
the GHT-level values of the annex-1 indicators declined at GHT level. The GHT CIO stays on
`funding.eligibility.models.GhtItGovernance` (name, e-mail, validated by, validated on)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from indicators.models import PrivateDocument, ValueKind, ValueStatus


class GhtMasterPlan(PrivateDocument):
    """A version of the GHT's SDSI, deposited by the support establishment (private document: type sniffed, SHA-256,
    virus scan, protected download). The latest live one is the GHT's SDSI; §5.3.1 asks for its *validation*, so the
    date the GHT validated it is recorded with it."""

    ght = models.ForeignKey("hopen.Ght", on_delete=models.PROTECT, related_name="master_plans")
    validated_on = models.DateField("validé par le GHT le", null=True, blank=True)

    class Meta(PrivateDocument.Meta):
        verbose_name = "schéma directeur du SI (SDSI) du GHT"
        verbose_name_plural = "schémas directeurs du SI (SDSI) des GHT"
        constraints = [
            models.CheckConstraint(name="ght_master_plan_not_empty", condition=Q(size__gt=0)),
            models.CheckConstraint(
                name="ght_master_plan_deletion_complete",
                condition=Q(deleted_at__isnull=True, deleted_by__isnull=True)
                | Q(deleted_at__isnull=False, deleted_by__isnull=False),
            ),
        ]


GHT_VALUE_KINDS = [(ValueKind.EXISTENCE.value, "Exigence GHT satisfaite (oui / non)"),
                   (ValueKind.NOT_APPLICABLE.value, ValueKind.NOT_APPLICABLE.label)]


class GhtIndicatorValue(models.Model):
    """One version of the GHT-level value of an indicator whose « déclinaison GHT » (annex 1) asks something of the
    GHT as a whole (« ce référentiel d'identités est unique au sein du GHT »…): is the requirement met (yes/no, with
    a description), or not applicable with its reason. Draft → declared (locked) → superseded by a correction; the
    programme is the indicator's catalogue's."""

    ght = models.ForeignKey("hopen.Ght", on_delete=models.PROTECT, related_name="indicator_values")
    indicator = models.ForeignKey("indicators.Indicator", on_delete=models.PROTECT, related_name="ght_values")
    kind = models.CharField("nature de la valeur", max_length=16, choices=GHT_VALUE_KINDS)
    exists = models.BooleanField("exigence satisfaite", null=True, blank=True)
    description = models.TextField("description", blank=True)
    not_applicable_reason = models.TextField("motif de non-applicabilité", blank=True)
    comment = models.TextField("commentaire", blank=True)
    status = models.CharField("statut", max_length=12, choices=ValueStatus.choices, default=ValueStatus.DRAFT)
    version = models.PositiveSmallIntegerField("version", default=1)
    previous = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="correction", verbose_name="version corrigée"
    )
    correction_reason = models.TextField("motif de la correction", blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField("créée le", default=timezone.now)
    updated_at = models.DateTimeField("modifiée le", default=timezone.now)
    declared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    declared_at = models.DateTimeField("déclarée le", null=True, blank=True)

    class Meta:
        ordering = ["ght", "indicator", "-version"]
        verbose_name = "valeur GHT d'un indicateur"
        verbose_name_plural = "valeurs GHT des indicateurs"
        indexes = [models.Index(fields=["ght", "status", "indicator"])]
        constraints = [
            models.CheckConstraint(
                name="ght_value_existence_answered",
                condition=~Q(kind="existence") | Q(exists__isnull=False),
                violation_error_message="Indiquez si l'exigence GHT est satisfaite (oui ou non).",
            ),
            models.CheckConstraint(
                name="ght_value_not_applicable_reason",
                condition=~Q(kind="not_applicable") | ~Q(not_applicable_reason=""),
                violation_error_message="Le motif de non-applicabilité est obligatoire.",
            ),
            models.CheckConstraint(
                name="ght_value_correction_has_reason",
                condition=Q(version=1, previous__isnull=True)
                | (Q(version__gt=1, previous__isnull=False) & ~Q(correction_reason="")),
                violation_error_message="Une correction doit indiquer son motif.",
            ),
            models.CheckConstraint(
                name="ght_value_declared_has_declarer",
                condition=Q(status="draft") | Q(declared_by__isnull=False, declared_at__isnull=False),
            ),
            models.UniqueConstraint(fields=["ght", "indicator", "version"], name="ght_value_unique_version"),
            models.UniqueConstraint(
                fields=["ght", "indicator"], condition=Q(status="draft"), name="ght_value_one_draft",
                violation_error_message="Un brouillon existe déjà pour cet indicateur.",
            ),
            models.UniqueConstraint(
                fields=["ght", "indicator"], condition=Q(status="declared"), name="ght_value_one_declared"
            ),
        ]

    def __str__(self):
        return f"{self.indicator.code} GHT {self.ght.code} v{self.version}"

    @property
    def display(self):
        if self.kind == ValueKind.EXISTENCE:
            return "Oui" if self.exists else "Non"
        return "Non applicable"


class GhtValueDocument(PrivateDocument):
    """A justificatory document of a GHT-level value (same path as `indicators.Evidence`)."""

    value = models.ForeignKey(GhtIndicatorValue, on_delete=models.PROTECT, related_name="documents")

    class Meta(PrivateDocument.Meta):
        verbose_name = "pièce justificative d'une valeur GHT"
        verbose_name_plural = "pièces justificatives des valeurs GHT"
        constraints = [
            models.CheckConstraint(name="ght_value_document_not_empty", condition=Q(size__gt=0)),
            models.CheckConstraint(
                name="ght_value_document_deletion_complete",
                condition=Q(deleted_at__isnull=True, deleted_by__isnull=True)
                | Q(deleted_at__isnull=False, deleted_by__isnull=False),
            ),
        ]
