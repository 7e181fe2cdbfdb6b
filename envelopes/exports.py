"""Export of the envelope ledger (annex 2, annex 4 §3: the ARS follows its envelope, the DGOS consolidates the
regions): every entry with its date, kind, pot, amount, dossier and label, in the order of the ledger, as CSV or
XLSX through the platform's export module (`hopen.exports`: streamed, typed cells, euro format).

The caller has checked the permission policy and passes the rows of `selectors.ledger_export_rows`, already
limited to the user's regions.
"""

from typing import Iterable

from hopen.exports import AMOUNT, BOOLEAN, DATE, DATETIME, NUMBER, Column, table_response

from .models import EntryKind, Pot, Sector

KIND_LABELS = dict(EntryKind.choices)
POT_LABELS = dict(Pot.choices)
SECTOR_LABELS = dict(Sector.choices)

LEDGER_COLUMNS = [
    Column("Région", width=24),
    Column("Code région", width=8),
    Column("N° d'écriture", NUMBER, 8),
    Column("Date d'effet", DATE, 12),
    Column("Mouvement", width=28),
    Column("Part", width=10),
    Column("Montant (€)", AMOUNT, 16),
    Column("Corrige l'écriture n°", NUMBER, 10),
    Column("Amorçage dérogatoire", BOOLEAN, 10),
    Column("Secteur", width=10),
    Column("FINESS bénéficiaire", width=12),
    Column("Bénéficiaire", width=36),
    Column("Dossier", width=18),
    Column("Domaine", width=8),
    Column("Référence (circulaire)", width=24),
    Column("Libellé", width=60),
    Column("Amorçage disponible après (€)", AMOUNT, 16),
    Column("Usage disponible après (€)", AMOUNT, 16),
    Column("Enregistrée le", DATETIME, 16),
    Column("Enregistrée par", width=28),
]


def _author(row: dict) -> str:
    name = f"{row['created_by__first_name']} {row['created_by__last_name']}".strip()
    return name or row["created_by__email"] or ""  # an entry written by a periodic job has no author


def ledger_line(row: dict) -> list:
    """One export line (in LEDGER_COLUMNS order) from a `selectors.ledger_export_rows` dict."""
    return [
        row["envelope__region__name"],
        row["envelope__region__code"],
        row["sequence"],
        row["effective_on"],
        KIND_LABELS.get(row["kind"], row["kind"]),
        POT_LABELS.get(row["pot"], row["pot"]),
        row["amount"],
        row["corrects__sequence"],
        row["is_derogatory"],
        SECTOR_LABELS.get(row["sector"], row["sector"]),
        row["establishment__finess"],
        row["establishment__name"],
        row["dossier_domain__dossier__reference"],
        row["dossier_domain__domain_code"],
        row["reference"],
        row["label"],
        row["seed_available_after"],
        row["usage_available_after"],
        row["created_at"],
        _author(row),
    ]


def ledger_export(fmt: str, rows: Iterable[dict], filename: str):
    """The ledger lines of `rows` as a streaming CSV or XLSX response."""
    return table_response(fmt, filename, "Grand livre", LEDGER_COLUMNS, (ledger_line(row) for row in rows))
