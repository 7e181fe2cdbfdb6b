"""Benchmark of the import of earlier-programme results (issue 13: « 3,000 establishments × 20 results (60,000 lines)
complete in one request in under 30 s, in a constant number of SQL queries »), next to what the database alone
does for the same rows.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hopen_bench \
    DJANGO_SETTINGS_MODULE=hopen.settings.development .venv/bin/python bench/prior_results_import.py \
        [--establishments 3000]

The database named by DATABASE_URL is created if it does not exist and migrated; everything runs in one transaction
rolled back at the end (the database is left as it was). Lines printed:

- « base seule » : the same 60,000 rows written by PostgreSQL alone, once with one `COPY … FROM STDIN` and once with
  one `INSERT … SELECT` (the rows generated in SQL), each in a savepoint rolled back — the floor of what any import
  of these rows costs;
- « application » : the API request `POST /api/v1/prior-results/import/` as a DGOS officer (multipart CSV), through
  the whole stack (middleware, authentication, parsing, checks, audit chain): dry run, write, re-import (unchanged),
  with the wall time and the number of SQL queries of each.
"""

import argparse
import io
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hopen.settings.development")

KINDS = [("prerequisites_reached", ""), ("indicators_complete", "")] + [
    (kind, f"D{n}") for kind in ("usage_targets_reached", "funding_received") for n in range(1, 10)
]  # 20 results per establishment
HEADER = "finess;programme;result;domain;achieved;achieved_on;amount;source"
COLUMNS = "establishment_id, programme_id, kind, domain_code, achieved, achieved_on, amount, source"


def ensure_database():
    import psycopg

    url = urlparse(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/hopen"))
    name = url.path.lstrip("/")
    admin = url._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as connection:
        if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            connection.execute(f'CREATE DATABASE "{name}"')
            print(f"Base « {name} » créée.")


def seed(count):
    from hopen.models import Establishment, LegalEntity, Region

    region, _ = Region.objects.get_or_create(code="98", defaults={"name": "Région d'essai", "ars_name": "ARS d'essai"})
    entities = LegalEntity.objects.bulk_create(
        [LegalEntity(finess=f"97{i:07d}", name=f"Entité de banc d'essai {i}") for i in range(count)], batch_size=2000
    )
    return Establishment.objects.bulk_create(
        [
            Establishment(
                finess=f"98{i:07d}", name=f"Établissement de banc d'essai {i:05d}", legal_entity=entity,
                status="public", category_code="355", category_label="Centre hospitalier (CH)", region=region,
                department="98", city="Essai-sur-Mer", has_mco=True,
            )
            for i, entity in enumerate(entities)
        ],
        batch_size=2000,
    )


def csv_content(establishments) -> bytes:
    lines = [HEADER]
    for establishment in establishments:
        for kind, domain in KINDS:
            amount = "150000,00" if kind == "funding_received" else ""
            lines.append(f"{establishment.finess};HN;{kind};{domain};oui;30/06/2017;{amount};export oSIS du 01/03/2019")
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def database_alone(establishments, programme_id) -> None:
    """The same rows written by PostgreSQL alone: one COPY, then one INSERT … SELECT, each rolled back."""
    from django.db import connection, transaction

    rows = io.StringIO()
    for establishment in establishments:
        for kind, domain in KINDS:
            amount = "150000.00" if kind == "funding_received" else "\\N"
            rows.write(f"{establishment.pk}\t{programme_id}\t{kind}\t{domain}\tt\t2017-06-30\t{amount}\texport oSIS\n")
    data = rows.getvalue()
    count = len(establishments) * len(KINDS)
    try:
        with transaction.atomic():
            started = time.perf_counter()
            with connection.cursor() as cursor, cursor.cursor.copy(
                f"COPY indicators_priorprogrammeresult ({COLUMNS}) FROM STDIN"
            ) as copy:
                copy.write(data)
            elapsed = time.perf_counter() - started
            raise RollbackSavepoint
    except RollbackSavepoint:
        pass
    print(f"base seule    : COPY de {count} lignes : {elapsed:6.2f} s (1 requête)")
    ids = [establishment.pk for establishment in establishments]
    kinds = [kind for kind, _ in KINDS]
    domains = [domain for _, domain in KINDS]
    try:
        with transaction.atomic():
            started = time.perf_counter()
            with connection.cursor() as cursor:
                cursor.execute(
                    f"INSERT INTO indicators_priorprogrammeresult ({COLUMNS}) "
                    "SELECT e.id, %s, k.kind, k.domain, true, DATE '2017-06-30', "
                    "CASE WHEN k.kind = 'funding_received' THEN 150000.00 END, 'export oSIS' "
                    "FROM unnest(%s::bigint[]) AS e(id) CROSS JOIN unnest(%s::text[], %s::text[]) AS k(kind, domain)",
                    [programme_id, ids, kinds, domains],
                )
                inserted = cursor.rowcount
            elapsed = time.perf_counter() - started
            raise RollbackSavepoint
    except RollbackSavepoint:
        pass
    print(f"base seule    : INSERT … SELECT de {inserted} lignes : {elapsed:6.2f} s (1 requête)")


class RollbackSavepoint(Exception):
    pass


class Rollback(Exception):
    pass


def api_call(client, content, dry_run):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        response = client.post(
            "/api/v1/prior-results/import/",
            {"file": SimpleUploadedFile("hn.csv", content, "text/csv"), "dry_run": "true" if dry_run else "false"},
        )
        elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.content[:500]
    return response.json(), elapsed, len(queries)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--establishments", type=int, default=3000)
    args = parser.parse_args()

    ensure_database()
    import django

    django.setup()
    from django.core.management import call_command
    from django.core.signals import request_finished
    from django.db import close_old_connections, transaction
    from django.test import Client

    from hopen.models import Role, User
    from hopen.services import role_assign
    from indicators.loading import load_calendar
    from indicators.models import Programme

    call_command("migrate", verbosity=0)
    request_finished.disconnect(close_old_connections)  # one transaction, rolled back at the end: keep the connection
    try:
        with transaction.atomic():
            load_calendar()
            programme = Programme.objects.get(code="HN")
            establishments = seed(args.establishments)
            user = User.objects.create_user(email="banc-essai-dgos@example.test", password="x" * 16)
            role_assign(user=user, role=Role.DGOS_OFFICER, by=None)
            content = csv_content(establishments)
            lines = len(establishments) * len(KINDS)
            print(f"{len(establishments)} établissements × {len(KINDS)} résultats = {lines} lignes "
                  f"({len(content) / 1_048_576:.1f} Mio)")

            database_alone(establishments, programme.pk)

            client = Client(HTTP_HOST="localhost")
            client.force_login(user)
            for label, dry_run in (("vérification", True), ("écriture", False), ("ré-import", False)):
                report, elapsed, queries = api_call(client, content, dry_run)
                print(
                    f"application   : {label:<12} de {lines} lignes : {elapsed:6.2f} s ({queries} requêtes SQL) — "
                    f"créées {report['created']}, modifiées {report['updated']}, inchangées {report['unchanged']}, "
                    f"erreurs {len(report['errors'])}"
                )
            raise Rollback
    except Rollback:
        print("Transaction annulée : la base est laissée telle qu'elle était.")


if __name__ == "__main__":
    main()
