"""National export of the dossiers (issue 17): one line per dossier and domain, with the money of the line as the
ledger records it — seed and usage committed and paid, refunds claimed and received (sums of the append-only
ledger's entries of the domain, corrections included: `envelopes.ledger`).

One SELECT with conditional aggregates (no query per line), formatted and streamed by PostgreSQL
(`hopen.exports_copy`): constant memory whatever the number of dossiers.
"""

from decimal import Decimal

from django.db.models import DecimalField, F, Q, Sum, Value
from django.db.models.functions import Coalesce

from envelopes.models import EntryKind
from hopen.exports import AMOUNT, DATETIME, Column
from funding.models import Rate
from hopen.exports_copy import choice_labels, copy_table_response

from .models import DomainStatus, DossierDomain, DossierStatus

LEDGER_SUMS = [
    ("Amorçage engagé (€)", EntryKind.SEED_COMMITMENT),
    ("Amorçage versé (€)", EntryKind.SEED_PAYMENT),
    ("Usage engagé (€)", EntryKind.USAGE_COMMITMENT),
    ("Usage versé (€)", EntryKind.USAGE_PAYMENT),
    ("Remboursements demandés (€)", EntryKind.REFUND_CLAIM),
    ("Remboursements reçus (€)", EntryKind.REFUND_RECEIVED),
]

COLUMNS = [
    Column("Région", width=24),
    Column("Code région", width=8),
    Column("Référence du dossier", width=22),
    Column("Statut du dossier", width=20),
    Column("FINESS du porteur", width=12),
    Column("Raison sociale du porteur", width=40),
    Column("GHT", width=10),
    Column("Transmis le", DATETIME, 16),
    Column("Domaine", width=8),
    Column("Statut du domaine", width=16),
    Column("Forfait", width=10),
    Column("Soutien financier total (€)", AMOUNT, 16),
    Column("Amorçage accordé (€)", AMOUNT, 16),
    Column("Financement à l'usage notifié (€)", AMOUNT, 16),
    *[Column(header, AMOUNT, 16) for header, _ in LEDGER_SUMS],
    Column("Clôturé le", DATETIME, 16),
]



def _ledger_sum(kind):
    return Coalesce(
        Sum("ledger_entries__amount", filter=Q(ledger_entries__kind=kind)), Value(Decimal(0)),
        output_field=DecimalField(max_digits=16, decimal_places=2),
    )


def dossier_lines_queryset(programme, region_ids=None):
    """(queryset, names): one line per dossier domain of `programme`, one annotated column per COLUMNS entry, the
    ledger sums aggregated in the same statement. `region_ids`: None for the nation."""
    rows = DossierDomain.objects.filter(dossier__programme=programme)
    if region_ids is not None:
        rows = rows.filter(dossier__region_id__in=list(region_ids))
    columns = [
        F("dossier__region__name"),
        F("dossier__region__code"),
        F("dossier__reference"),
        choice_labels("dossier__status", DossierStatus.choices),
        F("dossier__establishment__finess"),
        F("dossier__establishment__name"),
        F("dossier__ght__code"),
        F("dossier__transmitted_at"),
        F("domain_code"),
        choice_labels("status", DomainStatus.choices),
        choice_labels("rate", Rate.choices),
        F("total_amount"),
        F("seed_amount"),
        F("usage_amount"),
        *[_ledger_sum(kind) for _, kind in LEDGER_SUMS],
        F("dossier__closed_at"),
    ]
    names = [f"c{index}" for index in range(len(columns))]
    queryset = rows.annotate(**dict(zip(names, columns))).order_by(
        "dossier__region__code", "dossier__reference", "domain_code"
    )
    return queryset, names


def dossiers_export(fmt: str, programme, region_ids, filename: str):
    queryset, names = dossier_lines_queryset(programme, region_ids)
    return copy_table_response(fmt, filename, "Dossiers", COLUMNS, queryset, names)
