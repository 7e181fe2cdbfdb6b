"""The attainment state, kept on write (`indicators.state.writer.refresh_attainment`, the only writer).

The value history (`IndicatorValue`: drafts, declared values, superseded versions) stays the record; these tables
hold what every « latest declared » and « reached » read needs, for the catalogue in force of each programme:

- `CurrentValue`: the latest declared value (greatest date of measurement) of one indicator for one establishment,
  its attainment against the annex-1 target and its live justificatory documents;
- `GroupState`: the attainment of each indicator group (P1–P4, D1–D7) — annex 2 §2 « les valeurs cibles d'usage
  atteintes » for a domain;
- `EstablishmentState`: the prerequisites (§5.3.1: « la valeur des indicateurs et la totalité des pièces
  justificatives ») and the counts the dashboards aggregate.

Rows exist only for an (establishment, programme) with at least one declared value in the programme's catalogue in
force; no row means nothing declared (every attainment « non renseigné », prerequisites not met). For such an
establishment every group of the catalogue has its `GroupState` row. `rebuild_attainment` recomputes the whole
state from the history and proves it equal.
"""

from django.db import models
from django.db.models import F, Q

from ..attainment import Attainment

ATTAINMENT_CHOICES = [(a.value, a.label) for a in Attainment]


class CurrentValue(models.Model):
    """Latest DECLARED value (greatest `measured_on`) of one indicator of a catalogue in force for one establishment."""

    programme = models.ForeignKey("indicators.Programme", on_delete=models.CASCADE, related_name="+")
    establishment = models.ForeignKey("hopen.Establishment", on_delete=models.CASCADE, related_name="+")
    indicator = models.ForeignKey("indicators.Indicator", on_delete=models.CASCADE, related_name="+")
    value = models.OneToOneField("indicators.IndicatorValue", on_delete=models.PROTECT, related_name="current_of")
    measured_on = models.DateField("date de mesure")
    kind = models.CharField("nature de la valeur", max_length=16)
    numerator = models.PositiveIntegerField("numérateur", null=True, blank=True)
    denominator = models.PositiveIntegerField("dénominateur", null=True, blank=True)
    exists = models.BooleanField("existe", null=True, blank=True)
    attainment = models.CharField("atteinte", max_length=16, choices=ATTAINMENT_CHOICES)
    document_count = models.PositiveIntegerField("pièces justificatives valides")
    declared_at = models.DateTimeField("déclarée le")

    class Meta:
        db_table = "indicators_current_value"
        verbose_name = "valeur déclarée en vigueur"
        verbose_name_plural = "valeurs déclarées en vigueur"
        indexes = [
            models.Index(fields=["programme", "indicator", "attainment"], name="current_value_prog_ind_att"),
            models.Index(fields=["programme", "establishment"], name="current_value_prog_est"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["establishment", "indicator"], name="current_value_one_per_indicator"),
            # A missing value has no row: the stored attainment is never « non renseigné ».
            models.CheckConstraint(
                name="current_value_attainment_known",
                condition=Q(attainment__in=[Attainment.REACHED.value, Attainment.NOT_REACHED.value,
                                            Attainment.NOT_APPLICABLE.value]),
            ),
            models.CheckConstraint(
                name="current_value_rate_fraction",
                condition=~Q(kind="rate") | Q(numerator__isnull=False, denominator__gt=0, numerator__lte=F("denominator")),
            ),
        ]

    def __str__(self):
        return f"{self.establishment_id} / {self.indicator_id} : {self.attainment}"


class GroupState(models.Model):
    """Attainment of one indicator group (P1…P4, D1…D7) of a catalogue in force for one establishment
    (`indicators.attainment.group_attainment` over the group's indicators)."""

    programme = models.ForeignKey("indicators.Programme", on_delete=models.CASCADE, related_name="+")
    establishment = models.ForeignKey("hopen.Establishment", on_delete=models.CASCADE, related_name="+")
    group = models.ForeignKey("indicators.IndicatorGroup", on_delete=models.CASCADE, related_name="+")
    attainment = models.CharField("atteinte", max_length=16, choices=ATTAINMENT_CHOICES)
    declared_count = models.PositiveIntegerField("indicateurs déclarés")
    reached_count = models.PositiveIntegerField("indicateurs atteints")

    class Meta:
        db_table = "indicators_group_state"
        verbose_name = "atteinte d'un groupe d'indicateurs"
        verbose_name_plural = "atteintes des groupes d'indicateurs"
        indexes = [models.Index(fields=["programme", "group", "attainment"], name="group_state_prog_group_att")]
        constraints = [
            models.UniqueConstraint(fields=["establishment", "group"], name="group_state_one_per_group"),
            models.CheckConstraint(name="group_state_reached_le_declared", condition=Q(reached_count__lte=F("declared_count"))),
            # Reached needs one indicator reached at least (annex 1 / `group_attainment`).
            models.CheckConstraint(
                name="group_state_reached_has_one", condition=~Q(attainment=Attainment.REACHED.value) | Q(reached_count__gt=0)
            ),
        ]

    def __str__(self):
        return f"{self.establishment_id} / groupe {self.group_id} : {self.attainment}"


class EstablishmentState(models.Model):
    """Per establishment and programme: the prerequisites and the counts the pages aggregate."""

    programme = models.ForeignKey("indicators.Programme", on_delete=models.CASCADE, related_name="+")
    establishment = models.ForeignKey("hopen.Establishment", on_delete=models.CASCADE, related_name="+")
    # `prerequisites_attainment` over the P-group indicators (values only).
    prerequisites = models.CharField("prérequis (valeurs)", max_length=16, choices=ATTAINMENT_CHOICES)
    # §5.3.1: values AND justificatory documents (`indicators.prerequisites.prerequisites_met`).
    prerequisites_met = models.BooleanField("prérequis atteints (valeurs et pièces)")
    declared_count = models.PositiveIntegerField("indicateurs déclarés")
    reached_count = models.PositiveIntegerField("indicateurs atteints")
    documented_count = models.PositiveIntegerField("indicateurs déclarés avec pièce justificative")
    groups_reached = models.PositiveIntegerField("groupes atteints")
    # The last declaration over every declared value (not superseded) of the catalogue in force, whatever its date of
    # measurement (the completeness page's « Dernière déclaration »).
    last_declared_at = models.DateTimeField("dernière déclaration", null=True, blank=True)

    class Meta:
        db_table = "indicators_establishment_state"
        verbose_name = "atteinte d'un établissement"
        verbose_name_plural = "atteintes des établissements"
        indexes = [models.Index(fields=["programme", "prerequisites_met"], name="est_state_prog_prereq")]
        constraints = [
            models.UniqueConstraint(fields=["programme", "establishment"], name="establishment_state_one_per_programme"),
            models.CheckConstraint(
                name="establishment_state_reached_le_declared", condition=Q(reached_count__lte=F("declared_count"))
            ),
            models.CheckConstraint(
                name="establishment_state_documented_le_declared", condition=Q(documented_count__lte=F("declared_count"))
            ),
            models.CheckConstraint(name="establishment_state_declared_some", condition=Q(declared_count__gt=0)),
            models.CheckConstraint(
                name="establishment_state_met_when_reached",
                condition=Q(prerequisites_met=False) | Q(prerequisites=Attainment.REACHED.value),
            ),
        ]

    def __str__(self):
        return f"{self.establishment_id} / programme {self.programme_id}"
