"""Proof and repair of the sums kept per beneficiary (`models.BeneficiaryMoney`, written by migration 0005's trigger on
every insert into the ledger): recompute them from the ledger in one statement, list the differences, replace the
table when asked. A difference can only come from inserts made while triggers were off (`session_replication_role =
replica`: a restore, a logical replica).
"""

from django.db import connection, transaction

from .models import MONEY_COLUMNS, BeneficiaryMoney

NAMES = list(MONEY_COLUMNS.values())
_KEY = ("envelope_id", "establishment_id", "sector")

# The ledger's sums, as the trigger computes them over each insert's entries, for the whole ledger.
LEDGER_SUMS = """
SELECT envelope_id, establishment_id, sector, {sums}
  FROM envelopes_ledgerentry
 WHERE establishment_id IS NOT NULL AND kind = ANY(%(kinds)s)
 GROUP BY envelope_id, establishment_id, sector
"""
DIFFERENCES = """
WITH ledger AS ({ledger})
SELECT coalesce(l.envelope_id, k.envelope_id), coalesce(l.establishment_id, k.establishment_id),
       coalesce(l.sector, k.sector), {pairs}
  FROM ledger l FULL JOIN envelopes_beneficiary_money k USING (envelope_id, establishment_id, sector)
 WHERE {different}
 ORDER BY 1, 2, 3
"""


def _ledger_sums() -> str:
    sums = ", ".join(
        f"coalesce(sum(amount) FILTER (WHERE kind = '{kind.value}'), 0) AS {name}"
        for kind, name in MONEY_COLUMNS.items()
    )
    return LEDGER_SUMS.format(sums=sums)


def differences() -> list[str]:
    """One line per (envelope, establishment, sector) whose kept sums differ from the ledger's (empty: equal)."""
    sql = DIFFERENCES.format(
        ledger=_ledger_sums(),
        pairs=", ".join(f"l.{name}, k.{name}" for name in NAMES),
        different=" OR ".join(f"l.{name} IS DISTINCT FROM k.{name}" for name in NAMES),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, {"kinds": [kind.value for kind in MONEY_COLUMNS]})
        rows = cursor.fetchall()
    lines = []
    for envelope_id, establishment_id, sector, *pairs in rows:
        changes = [
            f"{name} {pairs[2 * i + 1]} au lieu de {pairs[2 * i]}"
            for i, name in enumerate(NAMES) if pairs[2 * i] != pairs[2 * i + 1]
        ]
        lines.append(
            f"enveloppe {envelope_id}, établissement {establishment_id}, secteur « {sector} » : " + ", ".join(changes)
        )
    return lines


@transaction.atomic
def rebuild(*, check: bool = False) -> list[str]:
    """The differences; unless `check`, the table replaced by the ledger's sums (as the table's owner: the
    application's role may only read it)."""
    found = differences()
    if found and not check:
        BeneficiaryMoney.objects.all().delete()
        columns = ", ".join((*_KEY, *NAMES))
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO envelopes_beneficiary_money ({columns}) {_ledger_sums()}",
                {"kinds": [kind.value for kind in MONEY_COLUMNS]},
            )
    return found
