"""Regional envelopes (annex 2) and the append-only ledger of every movement of money.

Balances are never stored as mutable figures: they are derived from the entries. Each entry also carries the
envelope's available balances after it (`seed_available_after`, `usage_available_after`) and a per-envelope
sequence number; the database refuses a negative balance (check constraints) and two entries computed from the
same previous state (unique sequence), and a trigger refuses any UPDATE or DELETE of an entry.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Pot(models.TextChoices):
    """Annex 2 §2: 20 % of the envelope for seed funding (amorçage, FMESPP), 80 % for usage funding (AC)."""

    SEED = "seed", "Amorçage"
    USAGE = "usage", "Usage"


class Sector(models.TextChoices):
    """004: seed funds split between the public, private and ESPIC sectors (CLCCs count as ESPIC)."""

    PUBLIC = "public", "Public"
    PRIVATE = "private", "Privé"
    ESPIC = "espic", "ESPIC"


class EntryKind(models.TextChoices):
    ALLOCATION = "allocation", "Dotation"
    REDEPLOYMENT_IN = "redeployment_in", "Redéploiement reçu"
    REDEPLOYMENT_OUT = "redeployment_out", "Redéploiement cédé"
    SEED_COMMITMENT = "seed_commitment", "Engagement d'amorçage"
    SEED_PAYMENT = "seed_payment", "Versement d'amorçage"
    USAGE_COMMITMENT = "usage_commitment", "Engagement à l'usage"
    USAGE_PAYMENT = "usage_payment", "Versement à l'usage"
    REFUND_CLAIM = "refund_claim", "Demande de remboursement"
    REFUND_RECEIVED = "refund_received", "Remboursement reçu"
    # Annex 2 §2, annex 4: « L'enveloppe régionale sera déduite des montants récupérés » — the refund received goes
    # back to the State: the envelope's credits (and what was delegated of them) are reduced by it.
    REFUND_DEDUCTION = "refund_deduction", "Déduction de l'enveloppe (remboursement)"
    # Annex 2 §3: the credits delegated to the ARS by a budget circular; commitments stay within them.
    DELEGATION = "delegation", "Délégation de crédits"


class Envelope(models.Model):
    """A region's envelope for a programme: the row every movement locks (`select_for_update`)."""

    programme = models.ForeignKey("indicators.Programme", on_delete=models.PROTECT, related_name="envelopes")
    region = models.ForeignKey("hopen.Region", on_delete=models.PROTECT, related_name="envelopes")
    # §5.1: derogatory seed funding is capped at 30 % of the region's seed credits, 50 % when too few
    # establishments of the region have reached the HOP'EN prerequisites — which the ARS records here.
    derogatory_ceiling_raised = models.BooleanField("plafond dérogatoire porté à 50 %", default=False)
    derogatory_ceiling_reason = models.TextField("motif", blank=True)
    derogatory_ceiling_raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    derogatory_ceiling_raised_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["region__name"]
        verbose_name = "enveloppe régionale"
        verbose_name_plural = "enveloppes régionales"
        constraints = [
            models.UniqueConstraint(fields=["programme", "region"], name="envelope_unique"),
            models.CheckConstraint(
                name="envelope_raised_ceiling_explained",
                condition=Q(derogatory_ceiling_raised=False) | ~Q(derogatory_ceiling_reason=""),
            ),
        ]

    def __str__(self):
        return f"Enveloppe {self.region} ({self.programme.code})"


class SectorQuota(models.Model):
    """004: optional share of the region's seed credits reserved to a sector (public / private / ESPIC)."""

    envelope = models.ForeignKey(Envelope, on_delete=models.CASCADE, related_name="sector_quotas")
    sector = models.CharField("secteur", max_length=8, choices=Sector.choices)
    share_percent = models.DecimalField("part des crédits d'amorçage (%)", max_digits=5, decimal_places=2)
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    set_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "quota sectoriel d'amorçage"
        constraints = [
            models.UniqueConstraint(fields=["envelope", "sector"], name="sector_quota_unique"),
            models.CheckConstraint(
                name="sector_quota_percent", condition=Q(share_percent__gte=0, share_percent__lte=100)
            ),
        ]


class LedgerEntry(models.Model):
    """One movement of money (euros). Never updated nor deleted; a correction is a new entry that points to the
    entry it corrects (`corrects`) with an opposite amount."""

    envelope = models.ForeignKey(Envelope, on_delete=models.PROTECT, related_name="entries")
    sequence = models.PositiveIntegerField("n° d'ordre dans l'enveloppe")
    kind = models.CharField("mouvement", max_length=20, choices=EntryKind.choices)
    pot = models.CharField("part", max_length=5, choices=Pot.choices)
    amount = models.DecimalField("montant (€)", max_digits=14, decimal_places=2)
    effective_on = models.DateField("date d'effet", default=timezone.localdate)
    establishment = models.ForeignKey(
        "hopen.Establishment", on_delete=models.PROTECT, null=True, blank=True, related_name="ledger_entries",
        verbose_name="bénéficiaire",
    )
    sector = models.CharField("secteur", max_length=8, choices=Sector.choices, blank=True)
    is_derogatory = models.BooleanField("amorçage dérogatoire", default=False)
    dossier_domain = models.ForeignKey(
        "funding.DossierDomain", on_delete=models.PROTECT, null=True, blank=True, related_name="ledger_entries"
    )
    counterpart = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        help_text="Pour un redéploiement reçu : l'écriture cédée dans l'autre enveloppe (même transaction).",
    )
    corrects = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="corrections",
        verbose_name="écriture corrigée",
    )
    # Names the event an entry records when the same event must never be recorded twice (a refund claim
    # raised by a deadline job, for instance).
    idempotency_key = models.CharField(max_length=160, null=True, blank=True, unique=True)
    label = models.TextField("libellé")
    reference = models.CharField(
        "référence", max_length=200, blank=True, help_text="Pour une délégation : la circulaire budgétaire (annexe 2 §3)."
    )
    seed_available_after = models.DecimalField("amorçage disponible après", max_digits=14, decimal_places=2)
    usage_available_after = models.DecimalField("usage disponible après", max_digits=14, decimal_places=2)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField("enregistré le", default=timezone.now)

    class Meta:
        ordering = ["envelope", "sequence"]
        verbose_name = "écriture"
        verbose_name_plural = "grand livre"
        indexes = [models.Index(fields=["envelope", "kind", "pot"], name="ledger_envelope_kind_pot")]
        constraints = [
            models.UniqueConstraint(fields=["envelope", "sequence"], name="ledger_sequence_unique"),
            models.CheckConstraint(
                name="ledger_amount_sign", condition=Q(amount__gt=0) | (Q(amount__lt=0) & Q(corrects__isnull=False))
            ),
            models.CheckConstraint(name="ledger_seed_never_negative", condition=Q(seed_available_after__gte=0)),
            models.CheckConstraint(name="ledger_usage_never_negative", condition=Q(usage_available_after__gte=0)),
            models.CheckConstraint(
                name="ledger_redeployment_paired",
                condition=~Q(kind="redeployment_in") | Q(counterpart__isnull=False) | Q(corrects__isnull=False),
            ),
            models.CheckConstraint(name="ledger_label_not_empty", condition=~Q(label="")),
            models.CheckConstraint(
                name="ledger_delegation_referenced",
                condition=~Q(kind="delegation") | ~Q(reference="") | Q(corrects__isnull=False),
            ),
            models.CheckConstraint(
                name="ledger_deduction_paired",
                condition=~Q(kind="refund_deduction") | Q(counterpart__isnull=False),
            ),
        ]

    def __str__(self):
        return f"#{self.sequence} {self.get_kind_display()} {self.amount} €"

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ValueError("Le grand livre est en ajout seul : une écriture ne se modifie pas, elle se corrige.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Le grand livre est en ajout seul : une écriture ne se supprime pas.")


# The money columns of `BeneficiaryMoney`, one per kind of movement paid to or claimed from an establishment (the
# dashboard's distribution, annex 4 §3). Migration 0005's trigger sums the entries of these kinds into them.
MONEY_COLUMNS = {
    EntryKind.SEED_COMMITMENT: "seed_committed", EntryKind.SEED_PAYMENT: "seed_paid",
    EntryKind.USAGE_COMMITMENT: "usage_committed", EntryKind.USAGE_PAYMENT: "usage_paid",
    EntryKind.REFUND_CLAIM: "refunds_claimed", EntryKind.REFUND_RECEIVED: "refunds_received",
}


def _money_column(label: str):
    return models.DecimalField(label, max_digits=16, decimal_places=2, default=0)


class BeneficiaryMoney(models.Model):
    """The ledger's sums per envelope, beneficiary and sector written on the entries (issue 17: the dashboards'
    distribution read the whole ledger of their scope on every request), kept on write by a trigger on the ledger
    (migration 0005) in the transaction of each insert, whatever inserts it: `envelopes.ledger.append_many`, a bulk
    load, a test factory. Derived, never a source: the money gates read the ledger itself. The application's database
    role may only read it (`hopen.db_roles`); `manage.py rebuild_beneficiary_money --check` proves it equal to the
    ledger."""

    envelope = models.ForeignKey(Envelope, on_delete=models.CASCADE, related_name="+")
    establishment = models.ForeignKey("hopen.Establishment", on_delete=models.CASCADE, related_name="+")
    # The entry's own sector (004 quotas), empty when the entry has none: the reader then takes the establishment's.
    sector = models.CharField("secteur", max_length=8, choices=Sector.choices, blank=True)
    seed_committed = _money_column("amorçage engagé")
    seed_paid = _money_column("amorçage versé")
    usage_committed = _money_column("usage engagé")
    usage_paid = _money_column("usage versé")
    refunds_claimed = _money_column("remboursements demandés")
    refunds_received = _money_column("remboursements reçus")

    class Meta:
        db_table = "envelopes_beneficiary_money"
        verbose_name = "montants d'un bénéficiaire"
        verbose_name_plural = "montants des bénéficiaires"
        constraints = [
            models.UniqueConstraint(fields=["envelope", "establishment", "sector"], name="beneficiary_money_unique"),
        ]

    def __str__(self):
        return f"enveloppe {self.envelope_id} / établissement {self.establishment_id} {self.sector}".strip()
