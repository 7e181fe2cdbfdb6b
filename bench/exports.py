"""Benchmark of the national exports of issue 17 — the declared indicator values (attainment state) and the dossiers
with their ledger sums — against PostgreSQL's COPY of each export's own SELECT, with their peak memory.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hopen_bench \
    DJANGO_SETTINGS_MODULE=hopen.settings.development python bench/exports.py [--scale 10]

`--scale 1` is the national size (2,950 establishments × 41 indicators declared, 10,000 dossiers of 3 domains with
their ledger entries); the default, 10, is the size of the « peak RSS under 150 MB » criterion. The data are
generated in SQL (INSERT … SELECT generate_series: the Python process holds none of them, so that its ru_maxrss is
the exports' own) inside a transaction rolled back at the end. Prints one line per export and format:

    EXPORT <name> project_s=… copy_s=… ratio=… rss_mib=… tracemalloc_mib=… queries=… mib=…

`run_exports(user)` measures the same exports over whatever data the database holds (bench/national.py).
"""

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hopen.settings.development")

NATIONAL = {"establishments": 2950, "dossiers": 10_000, "domains_per_dossier": 3}


def _exports():
    """(name, view, queryset builder) of each export: the view answers the request, the builder gives the SELECT
    that COPY is timed on."""
    from funding.dossiers.export import dossier_lines_queryset
    from funding.dossiers.views_export import dossiers_export_view
    from indicators.values_export import values_queryset
    from indicators.views_exports import values_export_view

    return [
        ("indicator_values", values_export_view, values_queryset),
        ("dossiers", dossiers_export_view, dossier_lines_queryset),
    ]


def run_exports(user) -> list[str]:
    """EXPORT lines (CSV and XLSX of each national export) for `user` over the data in the database."""
    from django.test import RequestFactory

    from ami_export import copy_seconds, export_line, measure_export
    from indicators.programmes import default_programme

    factory = RequestFactory()
    programme = default_programme()
    lines = []
    for name, view, builder in _exports():
        queryset, names = builder(programme, None)
        copy_s = copy_seconds(queryset.values(*names))
        for fmt in ("xlsx", "csv"):
            def produce(fmt=fmt, view=view):
                request = factory.get("/export/", {"format": fmt})
                request.user, request.programme = user, programme
                return view(request)

            lines.append(export_line(f"{name}_{fmt}", measure_export(produce), copy_s))
    return lines


# --- Data, in SQL --------------------------------------------------------------------------------------------------

TEXT_TYPES = ("text", "character varying")


def insert_select(cursor, model, values: dict, source: str):
    """INSERT INTO the model's table (its columns named in `values`: SQL expressions over `source`) SELECT … FROM
    `source`; every other NOT NULL column without default gets a neutral value ('' for text, false, 0, now())."""
    table = model._meta.db_table
    cursor.execute(
        "SELECT column_name, data_type, is_nullable, column_default, is_identity FROM information_schema.columns "
        "WHERE table_name = %s", [table],
    )
    columns = dict(values)
    for column, data_type, nullable, default, identity in cursor.fetchall():
        if column in columns or nullable == "YES" or default is not None or identity == "YES":
            continue
        if data_type in TEXT_TYPES:
            columns[column] = "''"
        elif data_type == "boolean":
            columns[column] = "false"
        elif data_type.startswith("timestamp"):
            columns[column] = "now()"
        elif data_type == "date":
            columns[column] = "current_date"
        else:
            columns[column] = "0"
    names = ", ".join(f'"{c}"' for c in columns)
    cursor.execute(f'INSERT INTO "{table}" ({names}) SELECT {", ".join(columns.values())} FROM {source}')
    return cursor.rowcount


def seed(scale: float, out=print):
    """Establishments with every indicator of the catalogue declared (value + attainment state), dossiers with their
    domains and ledger entries — `scale` × the national size — in a few INSERT … SELECT."""
    import csv

    from django.db import connection

    from envelopes.models import Envelope, LedgerEntry
    from funding.models import Dossier, DossierDomain
    from hopen.models import Establishment, LegalEntity, Region, User
    from indicators.loading import load_calendar, load_catalogue
    from indicators.models import Indicator, IndicatorValue
    from indicators.programmes import default_programme
    from indicators.state.models import CurrentValue

    load_calendar()
    load_catalogue()
    with open(ROOT / "fixtures" / "regions.csv", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            Region.objects.get_or_create(code=row["code"], defaults={"name": row["name"], "ars_name": row["ars_name"]})
    programme = default_programme()
    author = User.objects.create_user(email="banc-exports@hopen.test", password=None)
    establishments = int(NATIONAL["establishments"] * scale)
    dossiers = int(NATIONAL["dossiers"] * scale)
    per_dossier = NATIONAL["domains_per_dossier"]
    indicators = Indicator.objects.filter(catalogue__programme=programme, catalogue__is_current=True)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM hopen_establishment")
        base = cursor.fetchone()[0]
        insert_select(cursor, LegalEntity, {
            "finess": "'97' || lpad(i::text, 7, '0')", "name": "'Entité de banc d''essai ' || i",
        }, f"generate_series({base + 1}, {base + establishments}) AS i")
        regions = f"(SELECT array_agg(id ORDER BY code) FROM {Region._meta.db_table})"
        insert_select(cursor, Establishment, {
            "finess": "'96' || lpad(i::text, 7, '0')", "name": "'Établissement de banc d''essai ' || i",
            "legal_entity_id": f"(SELECT id FROM {LegalEntity._meta.db_table} WHERE finess = '97' || lpad(i::text, 7, '0'))",
            "region_id": f"({regions})[1 + i % 18]", "status": "'public'", "category_code": "'355'",
            "category_label": "'Centre hospitalier (CH)'", "department": "'96'", "city": "'Essai-sur-Mer'",
            "has_mco": "true",
        }, f"generate_series({base + 1}, {base + establishments}) AS i")
        established = f"(SELECT id FROM {Establishment._meta.db_table} WHERE finess LIKE '96%%') AS e"
        indicator_ids = ", ".join(str(pk) for pk in indicators.values_list("pk", flat=True))
        ids = f"(SELECT id, target_kind FROM {Indicator._meta.db_table} WHERE id IN ({indicator_ids})) AS ind"
        values = insert_select(cursor, IndicatorValue, {
            "establishment_id": "e.id", "indicator_id": "ind.id", "measured_on": "DATE '2020-06-30'",
            "kind": "CASE WHEN ind.target_kind = 'rate' THEN 'rate' ELSE 'existence' END",
            "numerator": "CASE WHEN ind.target_kind = 'rate' THEN (e.id * 7 + ind.id) % 101 END",
            "denominator": "CASE WHEN ind.target_kind = 'rate' THEN 100 END",
            "exists": "CASE WHEN ind.target_kind <> 'rate' THEN (e.id + ind.id) % 3 > 0 END",
            "status": "'declared'", "version": "1", "created_by_id": str(author.pk), "declared_by_id": str(author.pk),
            "declared_at": "now() - (e.id % 400) * interval '1 day'",
        }, f"{established} CROSS JOIN {ids}")
        current = insert_select(cursor, CurrentValue, {
            "programme_id": str(programme.pk), "establishment_id": "v.establishment_id", "indicator_id": "v.indicator_id",
            "value_id": "v.id", "measured_on": "v.measured_on", "kind": "v.kind", "numerator": "v.numerator",
            "denominator": "v.denominator", "exists": "v.exists",
            "attainment": "CASE WHEN v.id % 3 = 0 THEN 'not_reached' ELSE 'reached' END",
            "document_count": "v.id % 3", "declared_at": "v.declared_at",
        }, f"{IndicatorValue._meta.db_table} v WHERE v.created_by_id = {author.pk}")
        out(f"# {establishments} établissements, {values} valeurs déclarées, {current} lignes d'état "
            f"({time.perf_counter() - started:.0f} s)")
        insert_select(cursor, Dossier, {
            "programme_id": str(programme.pk), "reference": "'BANC-' || lpad(i::text, 8, '0')",
            "establishment_id": "e.id", "region_id": "e.region_id", "status": "'under_review'",
            "created_by_id": str(author.pk), "transmitted_at": "now() - (i % 300) * interval '1 day'",
        }, f"generate_series(1, {dossiers}) AS i JOIN (SELECT id, region_id, row_number() OVER (ORDER BY id) AS n "
           f"FROM {Establishment._meta.db_table} WHERE finess LIKE '96%%') AS e ON e.n = 1 + i % {establishments}")
        domains = insert_select(cursor, DossierDomain, {
            "dossier_id": "d.id", "domain_code": "'D' || k", "status": "'pending'", "rate": "'standard'",
            "target_deadline_initial": "DATE '2022-06-30'", "target_deadline": "DATE '2022-06-30'",
            "total_amount": "250000 + (d.id % 50) * 1000", "seed_amount": "50000 + (d.id % 50) * 200",
        }, f"{Dossier._meta.db_table} d CROSS JOIN generate_series(1, {per_dossier}) AS k "
           f"WHERE d.reference LIKE 'BANC-%%'")
        insert_select(cursor, Envelope, {"programme_id": str(programme.pk), "region_id": "r.id"},
                      f"{Region._meta.db_table} r WHERE NOT EXISTS (SELECT 1 FROM {Envelope._meta.db_table} x "
                      f"WHERE x.region_id = r.id AND x.programme_id = {programme.pk})")
        # Per domain: a seed commitment and its payment, a usage commitment (sequences numbered per envelope
        # after the envelope's last one; balances far from zero: the constraints hold, the figures are not read).
        entries = insert_select(cursor, LedgerEntry, {
            "envelope_id": "m.envelope_id", "kind": "m.kind", "pot": "m.pot", "amount": "m.amount",
            "dossier_domain_id": "m.domain_id", "establishment_id": "m.establishment_id", "label": "m.kind",
            "sequence": "m.last + row_number() OVER (PARTITION BY m.envelope_id ORDER BY m.domain_id, m.kind)",
            "seed_available_after": "1000000000", "usage_available_after": "1000000000",
        }, f"(SELECT env.id AS envelope_id, dd.id AS domain_id, d.establishment_id, k.kind, k.pot, "
           f"CASE WHEN k.pot = 'seed' THEN dd.seed_amount ELSE dd.total_amount - dd.seed_amount END AS amount, "
           f"coalesce(last.sequence, 0) AS last FROM {DossierDomain._meta.db_table} dd "
           f"JOIN {Dossier._meta.db_table} d ON d.id = dd.dossier_id "
           f"JOIN {Envelope._meta.db_table} env ON env.region_id = d.region_id AND env.programme_id = {programme.pk} "
           f"LEFT JOIN (SELECT envelope_id, max(sequence) AS sequence FROM {LedgerEntry._meta.db_table} "
           f"GROUP BY envelope_id) AS last ON last.envelope_id = env.id "
           f"CROSS JOIN (VALUES ('seed_commitment', 'seed'), ('seed_payment', 'seed'), "
           f"('usage_commitment', 'usage')) AS k(kind, pot) WHERE d.reference LIKE 'BANC-%%') AS m")
        out(f"# {dossiers} dossiers, {domains} domaines, {entries} écritures ({time.perf_counter() - started:.0f} s)")
        cursor.execute("ANALYZE")


class Rollback(Exception):
    pass


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=10, help="1 = the national size (default 10)")
    args = parser.parse_args()

    from ami_export import ensure_database, rss_mib

    ensure_database()
    import django

    django.setup()
    from django.core.management import call_command
    from django.core.signals import request_finished
    from django.db import close_old_connections, transaction

    from hopen.models import Role, User
    from hopen.services import role_assign

    call_command("migrate", verbosity=0)
    request_finished.disconnect(close_old_connections)  # one transaction, rolled back at the end
    print(f"# ru_maxrss au départ : {rss_mib():.1f} Mio")
    try:
        with transaction.atomic():
            seed(args.scale)
            print(f"# ru_maxrss après les données : {rss_mib():.1f} Mio")
            user = User.objects.create_user(email="dgos-banc-exports@hopen.test", password=None)
            role_assign(user=user, role=Role.DGOS_OFFICER, by=None)
            for line in run_exports(User.objects.get(pk=user.pk)):
                print(line, flush=True)
            raise Rollback
    except Rollback:
        print("# Transaction annulée : la base est laissée telle qu'elle était.")


if __name__ == "__main__":
    main()
