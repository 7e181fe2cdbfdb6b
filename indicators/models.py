"""The programme as data: its calendar, its versioned indicator catalogue, and the values establishments enter.

Annex 1 of the instruction lists the HOP'EN indicators; its guides were "soumis à concertation
publique et donc susceptibles d'évoluer", so the catalogue is versioned and each value keeps the
indicator (hence the version) it was entered against.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from .attainment import rate_percent
from .periods import semester_of


class Programme(models.Model):
    """A programme or campaign (HOP'EN, its successors) on the same establishments. Its rules are data loaded
    from one fixture file (calendar windows, delays, catalogue, amount grid, regional envelopes): the code
    receives a programme, never names one."""

    code = models.CharField("code", max_length=16, unique=True)
    name = models.CharField("nom", max_length=200)
    source = models.TextField("texte de référence", blank=True)
    is_fictitious = models.BooleanField(
        "fictif", default=False, help_text="Campagne de démonstration : aucune décision réelle n'y est prise."
    )
    is_default = models.BooleanField(
        "programme par défaut", default=False, help_text="Le programme affiché quand l'utilisateur n'en a choisi aucun."
    )
    is_selectable = models.BooleanField(
        "proposé dans le sélecteur", default=True,
        help_text="Un programme antérieur (Hôpital numérique) n'est qu'une source de résultats : il n'est pas proposé.",
    )
    prior_programme = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="successors",
        verbose_name="programme antérieur",
        help_text="Le programme dont les résultats conditionnent l'éligibilité (HOP'EN §5.3.1 : Hôpital numérique).",
    )
    # The regional envelope table as the programme's text prints it (annex 2 §1 for HOP'EN): source, totals and
    # one row per region. The ledger opens the envelopes from it; the pages that quote the text read it here.
    regional_envelopes = models.JSONField("table des enveloppes régionales", default=dict, blank=True)
    # What becomes of the money an establishment refunds (annex 2 §2 and annex 4: « L'enveloppe régionale sera
    # déduite des montants récupérés »): by default it goes back to the State and the region's envelope is reduced
    # by it; a programme whose text says otherwise returns it to the region's available credits.
    refunds_return_to_envelope = models.BooleanField(
        "les remboursements reviennent aux crédits de la région", default=False,
        help_text="Non (texte HOP'EN, annexe 2 §2) : l'enveloppe régionale est déduite des montants récupérés. "
        "Oui : les montants récupérés redeviennent disponibles pour la région.",
    )

    # The advanced rate of the amount grid (annex 3 §3 for HOP'EN: « un forfait avancé qui intègre un bonus de +20 %
    # du forfait standard », for D1 and D6, granted when the structured-format indicator is reached: D1.3, D6.1).
    # Loaded with the grid (`funding.loading.load_amount_grid`); a domain absent from the table has no advanced rate.
    advanced_rate_bonus_percent = models.DecimalField(
        "bonus du forfait avancé (%)", max_digits=5, decimal_places=2, default=0,
        help_text="Pourcentage ajouté au forfait standard (HOP'EN, annexe 3 §3 : 20 %).",
    )
    advanced_rate_indicators = models.JSONField(
        "indicateur de format structuré par domaine (forfait avancé)", default=dict, blank=True,
        help_text="Domaine → indicateur dont l'atteinte ouvre le forfait avancé (HOP'EN : D1 → D1.3, D6 → D6.1).",
    )

    class Meta:
        ordering = ["code"]
        verbose_name = "programme"
        constraints = [
            models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True), name="programme_one_default"),
            models.CheckConstraint(
                name="programme_advanced_bonus_range",
                condition=Q(advanced_rate_bonus_percent__gte=0, advanced_rate_bonus_percent__lte=100),
            ),
        ]

    def __str__(self):
        return f"{self.code} — {self.name}"


class Closing(models.TextChoices):
    """How the texts state a closing date: « au plus tard le 30 juin 2019 » includes the day, « avant le
    1er janvier 2023 » does not."""

    ON = "on", "au plus tard le (jour compris)"
    BEFORE = "before", "avant le (jour exclu)"


class ProgrammeDeadline(models.Model):
    """A window of the programme calendar: AMI filing, late filing, dossier filing (Étape 2), prerequisites
    derogatory date, usage-target date, ARS programming deadline… Open from `opens` (always, when empty) up to
    `date`, included or not as `closing` says. The rule that reads it is `indicators.windows`."""

    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="deadlines")
    code = models.SlugField("code", max_length=60)
    label = models.CharField("libellé", max_length=200)
    opens = models.DateField("ouverture", null=True, blank=True)
    date = models.DateField("date de clôture")
    closing = models.CharField("clôture", max_length=8, choices=Closing.choices, default=Closing.ON)
    source = models.CharField("référence", max_length=200, blank=True)

    class Meta:
        ordering = ["date"]
        verbose_name = "fenêtre du calendrier"
        verbose_name_plural = "fenêtres du calendrier"
        constraints = [
            models.UniqueConstraint(fields=["programme", "code"], name="deadline_unique_code"),
            models.CheckConstraint(
                condition=Q(opens__isnull=True) | Q(opens__lte=F("date")), name="deadline_opens_before_closing"
            ),
        ]

    def __str__(self):
        return f"{self.label} : {self.date:%d/%m/%Y}"


class ProgrammeDelay(models.Model):
    """A duration of the programme calendar (the ARS decides within four months, initialises within 1.5 months…),
    counted from an event of the dossier: months then days, as the texts state them."""

    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="delays")
    code = models.SlugField("code", max_length=60)
    label = models.CharField("libellé", max_length=200)
    months = models.PositiveSmallIntegerField("mois", default=0)
    days = models.IntegerField("jours", default=0)
    source = models.CharField("référence", max_length=200, blank=True)

    class Meta:
        ordering = ["programme", "code"]
        verbose_name = "délai du programme"
        constraints = [models.UniqueConstraint(fields=["programme", "code"], name="delay_unique_code")]

    def __str__(self):
        return f"{self.label} : {self.months} mois {self.days} j"


class SemesterRange(models.Model):
    """A range of forecast half-years offered in forms (e.g. HOP'EN prerequisites: 2019 S1 … 2021 S1)."""

    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="semester_ranges")
    code = models.SlugField("code", max_length=60)
    label = models.CharField("libellé", max_length=200)
    first = models.CharField("premier semestre", max_length=7)
    last = models.CharField("dernier semestre", max_length=7)
    source = models.CharField("référence", max_length=200, blank=True)

    class Meta:
        verbose_name = "plage de semestres"
        constraints = [models.UniqueConstraint(fields=["programme", "code"], name="semester_range_unique_code")]

    def __str__(self):
        return f"{self.label} : {self.first} – {self.last}"


class CatalogueVersion(models.Model):
    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="catalogues")
    code = models.CharField("version", max_length=20)
    label = models.CharField("libellé", max_length=200)
    is_current = models.BooleanField("version en vigueur", default=False)

    class Meta:
        ordering = ["programme", "code"]
        verbose_name = "version du catalogue"
        verbose_name_plural = "versions du catalogue"
        constraints = [
            models.UniqueConstraint(fields=["programme", "code"], name="catalogue_unique_code"),
            models.UniqueConstraint(fields=["programme"], condition=Q(is_current=True), name="catalogue_one_current"),
        ]

    def __str__(self):
        return f"{self.programme.code} {self.code}"


class GroupKind(models.TextChoices):
    PREREQUISITE = "prerequisite", "Prérequis"
    DOMAIN = "domain", "Domaine fonctionnel"


class IndicatorGroup(models.Model):
    """A prerequisite (P1–P4) or a functional domain (D1–D7) of a catalogue version."""

    catalogue = models.ForeignKey(CatalogueVersion, on_delete=models.CASCADE, related_name="groups")
    code = models.CharField("code", max_length=8)
    kind = models.CharField("nature", max_length=16, choices=GroupKind.choices)
    label = models.CharField("libellé", max_length=200)
    position = models.PositiveSmallIntegerField("ordre")

    class Meta:
        ordering = ["catalogue", "position"]
        verbose_name = "groupe d'indicateurs"
        verbose_name_plural = "groupes d'indicateurs"
        constraints = [models.UniqueConstraint(fields=["catalogue", "code"], name="group_unique_code")]

    def __str__(self):
        return f"{self.code} — {self.label}"


class TargetKind(models.TextChoices):
    RATE = "rate", "Taux"
    EXISTENCE = "existence", "Existence"


class Indicator(models.Model):
    catalogue = models.ForeignKey(CatalogueVersion, on_delete=models.CASCADE, related_name="indicators")
    group = models.ForeignKey(IndicatorGroup, on_delete=models.CASCADE, related_name="indicators")
    code = models.CharField("identifiant", max_length=8)
    position = models.PositiveSmallIntegerField("ordre")
    label = models.TextField("libellé HOP'EN")
    ght_declination = models.TextField("déclinaison GHT", blank=True)
    hn_attainment_rate = models.CharField("taux d'atteinte Hôpital numérique", max_length=120, blank=True)
    target_text = models.TextField("seuil d'éligibilité / cible HOP'EN")
    target_kind = models.CharField("nature de la cible", max_length=12, choices=TargetKind.choices)
    target_threshold = models.DecimalField(
        "seuil (%)", max_digits=5, decimal_places=2, null=True, blank=True
    )
    evolution = models.TextField("évolution HN → HOP'EN", blank=True)
    not_applicable_allowed = models.BooleanField("peut être déclaré non applicable", default=False)
    not_applicable_note = models.TextField("règle de non-applicabilité", blank=True)

    class Meta:
        ordering = ["group__position", "position"]
        verbose_name = "indicateur"
        constraints = [
            models.UniqueConstraint(fields=["catalogue", "code"], name="indicator_unique_code"),
            models.CheckConstraint(
                name="indicator_threshold_matches_kind",
                condition=(
                    Q(target_kind="rate", target_threshold__gte=0, target_threshold__lte=100)
                    | Q(target_kind="existence", target_threshold__isnull=True)
                ),
            ),
        ]

    def __str__(self):
        return f"{self.code} — {self.label[:80]}"


class ValueKind(models.TextChoices):
    RATE = "rate", "Taux (numérateur / dénominateur)"
    EXISTENCE = "existence", "Existence (oui / non)"
    NOT_APPLICABLE = "not_applicable", "Non applicable / non concerné"


class ValueStatus(models.TextChoices):
    DRAFT = "draft", "Brouillon"
    DECLARED = "declared", "Déclarée"
    SUPERSEDED = "superseded", "Remplacée par une correction"


class IndicatorValue(models.Model):
    """One version of an establishment's value of an indicator for a date of measurement.

    A draft is editable; declaring it locks it. Correcting a declared value creates the next version
    (with its reason); once that one is declared, the previous one is kept as "superseded".
    """

    establishment = models.ForeignKey("hopen.Establishment", on_delete=models.PROTECT, related_name="indicator_values")
    indicator = models.ForeignKey(Indicator, on_delete=models.PROTECT, related_name="values")
    measured_on = models.DateField("date de mesure")
    kind = models.CharField("nature de la valeur", max_length=16, choices=ValueKind.choices)
    numerator = models.PositiveIntegerField("numérateur", null=True, blank=True)
    denominator = models.PositiveIntegerField("dénominateur", null=True, blank=True)
    exists = models.BooleanField("existe", null=True, blank=True)
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
        ordering = ["-measured_on", "-version"]
        verbose_name = "valeur d'indicateur"
        verbose_name_plural = "valeurs d'indicateurs"
        indexes = [models.Index(fields=["establishment", "indicator", "status", "-measured_on"])]
        constraints = [
            models.CheckConstraint(
                name="value_rate_fraction",
                condition=~Q(kind="rate")
                | Q(numerator__isnull=False, denominator__gt=0, numerator__lte=F("denominator")),
                violation_error_message="Pour un taux, le numérateur doit être inférieur ou égal au dénominateur, "
                "et le dénominateur strictement positif.",
            ),
            models.CheckConstraint(
                name="value_existence_answered",
                condition=~Q(kind="existence") | Q(exists__isnull=False),
                violation_error_message="Indiquez si l'élément existe (oui ou non).",
            ),
            models.CheckConstraint(
                name="value_not_applicable_reason",
                condition=~Q(kind="not_applicable") | ~Q(not_applicable_reason=""),
                violation_error_message="Le motif de non-applicabilité est obligatoire.",
            ),
            models.CheckConstraint(
                name="value_correction_has_reason",
                condition=Q(version=1, previous__isnull=True) | (Q(version__gt=1, previous__isnull=False) & ~Q(correction_reason="")),
                violation_error_message="Une correction doit indiquer son motif.",
            ),
            models.CheckConstraint(
                name="value_declared_has_declarer",
                condition=Q(status="draft") | Q(declared_by__isnull=False, declared_at__isnull=False),
            ),
            models.UniqueConstraint(
                fields=["establishment", "indicator", "measured_on", "version"], name="value_unique_version"
            ),
            models.UniqueConstraint(
                fields=["establishment", "indicator", "measured_on"],
                condition=Q(status="draft"),
                name="value_one_draft_per_period",
                violation_error_message="Un brouillon existe déjà pour cette date de mesure.",
            ),
            models.UniqueConstraint(
                fields=["establishment", "indicator", "measured_on"],
                condition=Q(status="declared"),
                name="value_one_declared_per_period",
            ),
        ]

    def __str__(self):
        return f"{self.indicator.code} {self.establishment.finess} {self.semester} v{self.version}"

    @property
    def semester(self):
        return semester_of(self.measured_on)

    @property
    def percentage(self):
        if self.kind == ValueKind.RATE and self.denominator:
            return rate_percent(self.numerator, self.denominator)
        return None

    @property
    def display(self):
        if self.kind == ValueKind.RATE:
            return f"{self.percentage} % ({self.numerator} / {self.denominator})".replace(".", ",")
        if self.kind == ValueKind.EXISTENCE:
            return "Oui" if self.exists else "Non"
        return "Non applicable"


class PriorResultKind(models.TextChoices):
    PREREQUISITES_REACHED = "prerequisites_reached", "Prérequis atteints"
    USAGE_TARGETS_REACHED = "usage_targets_reached", "Cibles d'usage atteintes (domaine)"
    INDICATORS_COMPLETE = "indicators_complete", "Indicateurs entièrement saisis"
    FUNDING_RECEIVED = "funding_received", "Financement reçu (domaine)"


class PriorProgrammeResult(models.Model):
    """What an establishment achieved in an earlier programme (Hôpital numérique), as §5.3.1 needs it.

    Per-domain results (usage targets, funding) name the domain in the earlier programme's codes.
    """

    establishment = models.ForeignKey("hopen.Establishment", on_delete=models.CASCADE, related_name="prior_results")
    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, related_name="results")
    kind = models.CharField("résultat", max_length=32, choices=PriorResultKind.choices)
    domain_code = models.CharField("domaine", max_length=8, blank=True)
    achieved = models.BooleanField("atteint / reçu")
    achieved_on = models.DateField("date", null=True, blank=True)
    amount = models.DecimalField("montant (€)", max_digits=12, decimal_places=2, null=True, blank=True)
    source = models.CharField("source", max_length=200, blank=True, help_text="Par exemple : export oSIS du 01/03/2019.")

    class Meta:
        verbose_name = "résultat d'un programme antérieur"
        verbose_name_plural = "résultats des programmes antérieurs"
        constraints = [
            models.UniqueConstraint(
                fields=["establishment", "programme", "kind", "domain_code"], name="prior_result_unique"
            ),
            models.CheckConstraint(
                name="prior_result_domain_when_per_domain",
                condition=Q(kind__in=["usage_targets_reached", "funding_received"], domain_code__gt="")
                | Q(kind__in=["prerequisites_reached", "indicators_complete"], domain_code=""),
            ),
            models.CheckConstraint(name="prior_result_amount_positive", condition=Q(amount__isnull=True) | Q(amount__gte=0)),
        ]

    def __str__(self):
        domain = f" {self.domain_code}" if self.domain_code else ""
        return f"{self.establishment.finess} {self.programme.code} {self.get_kind_display()}{domain}"


def evidence_storage_key(instance, filename):
    """Files live under random keys: the stored name never comes from the user."""
    return f"evidence/{timezone.now():%Y/%m}/{uuid.uuid4().hex}"


class ScanStatus(models.TextChoices):
    PENDING = "pending", "Analyse antivirus en cours"
    CLEAN = "clean", "Sain"
    INFECTED = "infected", "Infecté"
    NOT_SCANNED = "not_scanned", "Non analysé (pas d'antivirus configuré)"


DOWNLOADABLE_SCAN_STATUSES = (ScanStatus.CLEAN, ScanStatus.NOT_SCANNED)


def scan_allows_download(status) -> bool:
    """A clean file is served; a file never scanned (no antivirus configured) only when scanning is not required
    (`FILE_SCAN_REQUIRED`, on in production); a pending or infected one never."""
    if status == ScanStatus.NOT_SCANNED:
        return not getattr(settings, "FILE_SCAN_REQUIRED", False)
    return status in DOWNLOADABLE_SCAN_STATUSES


def scan_awaited(status) -> bool:
    """The file waits for its scan (« en cours d'analyse »): pending, or not scanned while scanning is required."""
    return status == ScanStatus.PENDING or (status == ScanStatus.NOT_SCANNED and not scan_allows_download(status))


class PrivateDocument(models.Model):
    """A file deposited by a user, stored privately under a random key, type-checked and virus-scanned; deleting it
    only hides it (the row and the file stay for the audit trail). Shared by every kind of uploaded document."""

    file = models.FileField("fichier", upload_to=evidence_storage_key, max_length=255)
    original_name = models.CharField("nom du fichier", max_length=255)
    size = models.PositiveBigIntegerField("taille (octets)")
    content_type = models.CharField("type détecté", max_length=120)
    sha256 = models.CharField("empreinte SHA-256", max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField("déposé le", default=timezone.now)
    scan_status = models.CharField("antivirus", max_length=12, choices=ScanStatus.choices, default=ScanStatus.PENDING)
    scanned_at = models.DateTimeField("analysé le", null=True, blank=True)
    scan_detail = models.CharField("résultat de l'analyse", max_length=255, blank=True)
    deleted_at = models.DateTimeField("supprimé le", null=True, blank=True)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        abstract = True
        ordering = ["uploaded_at", "id"]

    def __str__(self):
        return self.original_name

    @property
    def is_downloadable(self):
        return self.deleted_at is None and scan_allows_download(self.scan_status)

    @property
    def awaits_scan(self):
        return scan_awaited(self.scan_status)


class Evidence(PrivateDocument):
    """Pièce justificative: a file justifying an indicator value."""

    value = models.ForeignKey(IndicatorValue, on_delete=models.PROTECT, related_name="documents")

    class Meta(PrivateDocument.Meta):
        verbose_name = "pièce justificative"
        verbose_name_plural = "pièces justificatives"
        constraints = [
            models.CheckConstraint(name="evidence_not_empty", condition=Q(size__gt=0)),
            models.CheckConstraint(
                name="evidence_deletion_complete",
                condition=Q(deleted_at__isnull=True, deleted_by__isnull=True)
                | Q(deleted_at__isnull=False, deleted_by__isnull=False),
            ),
        ]


# --- The attainment state (kept on write by `indicators.state.writer`; imported for the app registry) -------------

from .state.models import CurrentValue, EstablishmentState, GroupState  # noqa: E402,F401
