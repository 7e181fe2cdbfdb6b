"""National export of the declared indicator values (issue 17): every establishment of the scope × its latest
declared value of each indicator of the programme's catalogue in force, with its attainment and its live
justificatory documents — read from the attainment state (`indicators.state.CurrentValue`, kept on every
declaration), never from the value history.

One SELECT, formatted and streamed by PostgreSQL (`hopen.exports_copy`): constant memory whatever the number of
lines. An establishment with no declared value has no line (the completeness export lists it).
"""

from django.db.models import DecimalField, F

from hopen.exports import BOOLEAN, COUNT, DATE, DATETIME, DECIMAL, Column
from hopen.exports_copy import SqlTemplate, choice_labels, copy_table_response

from .attainment import Attainment
from .models import ValueKind
from .state.models import CurrentValue

COLUMNS = [
    Column("Région", width=24),
    Column("Code région", width=8),
    Column("FINESS établissement", width=12),
    Column("Raison sociale", width=40),
    Column("Groupe", width=8),
    Column("Indicateur", width=10),
    Column("Date de mesure", DATE, 12),
    Column("Nature de la valeur", width=18),
    Column("Numérateur", COUNT, 12),
    Column("Dénominateur", COUNT, 12),
    Column("Taux (%)", DECIMAL, 10),
    Column("Existence", BOOLEAN, 10),
    Column("Atteinte", width=14),
    Column("Pièces justificatives", COUNT, 12),
    Column("Déclarée le", DATETIME, 16),
]



def values_queryset(programme, region_ids=None):
    """(queryset, names): one annotated column per COLUMNS entry, ordered by region, establishment, group and
    indicator. `region_ids`: None for the nation."""
    rows = CurrentValue.objects.filter(programme=programme)
    if region_ids is not None:
        rows = rows.filter(establishment__region_id__in=list(region_ids))
    columns = [
        F("establishment__region__name"),
        F("establishment__region__code"),
        F("establishment__finess"),
        F("establishment__name"),
        F("indicator__group__code"),
        F("indicator__code"),
        F("measured_on"),
        choice_labels("kind", ValueKind.choices),
        F("numerator"),
        F("denominator"),
        # The rate as the pages print it: numerator / denominator in percent, one decimal.
        SqlTemplate(
            F("kind"), F("numerator"), F("denominator"),
            sql="CASE WHEN {0} = 'rate' AND {2} > 0 THEN round(100.0 * {1} / {2}, 1) END",
            output_field=DecimalField(),
        ),
        F("exists"),
        choice_labels("attainment", [(a.value, a.label) for a in Attainment]),
        F("document_count"),
        F("declared_at"),
    ]
    names = [f"c{index}" for index in range(len(columns))]
    queryset = rows.annotate(**dict(zip(names, columns))).order_by(
        "establishment__region__code", "establishment__finess", "indicator__group__position", "indicator__position"
    )
    return queryset, names


def values_export(fmt: str, programme, region_ids, filename: str):
    queryset, names = values_queryset(programme, region_ids)
    return copy_table_response(fmt, filename, "Valeurs déclarées", COLUMNS, queryset, names)
