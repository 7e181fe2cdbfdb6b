"""Export of the completeness view (`/indicateurs/completude/`): per establishment of the user's (filtered) scope,
how many indicators of the catalogue are declared, the drafts waiting, the values without justificatory document
(§5.3.1: the prerequisites are measured by « la saisie […] de la valeur des indicateurs et de la totalité des pièces
justificatives ») and the date of the latest declaration — the figures of the page, as CSV or XLSX through the
platform's export module (`hopen.exports`).

The caller has checked the scope (the page's establishments) and passes the rows of
`selectors_dashboard.completeness_export_rows`.
"""

from typing import Iterable

from hopen.exports import BOOLEAN, COUNT, DATETIME, Column, table_response
from hopen.models import EstablishmentStatus
from hopen.sectors import SECTOR_CHOICES, sector_of

STATUS_LABELS = dict(EstablishmentStatus.choices)
SECTOR_NAMES = dict(SECTOR_CHOICES)

COMPLETENESS_COLUMNS = [
    Column("Région", width=24),
    Column("Code région", width=8),
    Column("FINESS établissement", width=12),
    Column("Raison sociale", width=40),
    Column("Commune", width=20),
    Column("GHT", width=10),
    Column("Secteur (public, privé, ESPIC)", width=10),
    Column("Statut juridique", width=18),
    Column("Indicateurs déclarés", COUNT, 12),
    Column("Indicateurs du catalogue", COUNT, 12),
    Column("Tous les indicateurs déclarés", BOOLEAN, 12),
    Column("Brouillons en attente", COUNT, 12),
    Column("Valeurs sans pièce justificative", COUNT, 14),
    Column("Dernière déclaration", DATETIME, 16),
]


def completeness_line(row: dict, indicator_count: int) -> list:
    """One export line (in COMPLETENESS_COLUMNS order) from a `completeness_export_rows` dict."""
    return [
        row["region__name"],
        row["region__code"],
        row["finess"],
        row["name"],
        row["city"],
        row["ght__code"],
        SECTOR_NAMES[sector_of(row["status"], row["is_espic"])],
        STATUS_LABELS.get(row["status"], row["status"]),
        row["declared_count"],
        indicator_count,
        row["declared_count"] >= indicator_count,
        row["draft_count"],
        row["missing_documents_count"],
        row["last_declared_at"],
    ]


def completeness_export(fmt: str, rows: Iterable[dict], indicator_count: int, filename: str):
    """The completeness lines of `rows` as a streaming CSV or XLSX response."""
    lines = (completeness_line(row, indicator_count) for row in rows)
    return table_response(fmt, filename, "Complétude", COMPLETENESS_COLUMNS, lines)
