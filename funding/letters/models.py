"""The letters of a dossier (PDF generated after a decision); written by `funding.letters.services`."""

from django.db import models
from django.utils import timezone

from funding.dossiers.models import Dossier, DossierDomain


class LetterKind(models.TextChoices):
    SELECTION = "selection", "Courrier de sélection"
    SEED_DECISION = "seed_decision", "Décision de financement d'amorçage"
    USAGE_NOTIFICATION = "usage_notification", "Notification du financement à l'usage"
    REFUND_CLAIM = "refund_claim", "Demande de remboursement"
    FUNDING_AGREEMENT = "funding_agreement", "Convention de financement (trame)"


def letter_storage_key(instance, filename):
    import uuid

    return f"letters/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.pdf"


class DossierLetter(models.Model):
    """A PDF generated after a decision (WeasyPrint, in a Celery task) and attached to the dossier.

    `event_key` names the decision it documents, so that a letter is generated once per decision. It is dated by
    that decision (`dated_on`), not by the day it is generated; a reissue (`reissued_at`) keeps that date.
    """

    dossier = models.ForeignKey(Dossier, on_delete=models.PROTECT, related_name="letters")
    domain = models.ForeignKey(DossierDomain, on_delete=models.PROTECT, null=True, blank=True, related_name="letters")
    kind = models.CharField("type", max_length=20, choices=LetterKind.choices)
    event_key = models.CharField("décision documentée", max_length=120)
    reference = models.CharField("référence", max_length=60, unique=True)
    file = models.FileField("fichier", upload_to=letter_storage_key, max_length=255, blank=True)
    size = models.PositiveBigIntegerField("taille (octets)", default=0)
    sha256 = models.CharField("empreinte SHA-256", max_length=64, blank=True)
    requested_at = models.DateTimeField("demandé le", default=timezone.now)
    generated_at = models.DateTimeField("généré le", null=True, blank=True)
    # The date printed on the letter: the day of the decision it carries (`documents.decision_date`), fixed at the
    # first generation so that a reissue keeps it.
    dated_on = models.DateField("daté du", null=True, blank=True)
    reissued_at = models.DateTimeField("réédité le", null=True, blank=True)

    class Meta:
        ordering = ["requested_at", "id"]
        verbose_name = "courrier"
        verbose_name_plural = "courriers"
        constraints = [models.UniqueConstraint(fields=["kind", "event_key"], name="dossier_letter_once_per_event")]

    def __str__(self):
        return f"{self.get_kind_display()} {self.reference}"
