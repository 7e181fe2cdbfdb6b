"""The referentials the eligibility rules of §5.3.1 read: software vendors (RELIMS) and GHT IT governance."""

from django.conf import settings
from django.db import models


class SoftwareVendor(models.Model):
    """RELIMS referential (DGOS): software vendors and integrators, and their QHN certification commitment (§5.3.1)."""

    name = models.CharField("raison sociale", max_length=200, unique=True)
    relims_reference = models.CharField("référence RELIMS", max_length=40, blank=True)
    qhn_engaged = models.BooleanField("engagé dans la démarche QHN", default=False)

    class Meta:
        ordering = ["name"]
        verbose_name = "éditeur de logiciel"
        verbose_name_plural = "éditeurs de logiciels (RELIMS)"

    def __str__(self):
        return self.name

    @property
    def is_referenced(self):
        return bool(self.relims_reference)


class GhtItGovernance(models.Model):
    """What §5.3.1 asks of a GHT whose members apply: the IT master plan (SDSI) and a validated GHT CIO."""

    ght = models.OneToOneField("hopen.Ght", on_delete=models.CASCADE, related_name="it_governance")
    master_plan = models.FileField("schéma directeur du SI (SDSI)", upload_to="ght-master-plans/", blank=True)
    master_plan_uploaded_at = models.DateTimeField(null=True, blank=True)
    master_plan_uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    cio_name = models.CharField("DSI de GHT", max_length=200, blank=True)
    cio_email = models.EmailField("courriel du DSI de GHT", blank=True)
    cio_validated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name="DSI validé par",
    )
    cio_validated_at = models.DateTimeField("DSI validé le", null=True, blank=True)
    convergence_indicators_entered = models.BooleanField("indicateurs de convergence saisis", default=False)

    class Meta:
        verbose_name = "gouvernance SI du GHT"
        verbose_name_plural = "gouvernance SI des GHT"

    def __str__(self):
        return str(self.ght)

    @property
    def has_master_plan(self):
        return bool(self.master_plan)

    @property
    def has_validated_cio(self):
        return bool(self.cio_name) and self.cio_validated_at is not None
