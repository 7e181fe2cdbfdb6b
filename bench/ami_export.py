"""Benchmark of the national AMI export (annex 5 « Fonction d'export », issue 5 « a national export of 3,000
establishments streams »; issue 17 « XLSX within 3× of COPY, CSV within 2× »): wall time of the CSV and XLSX
exports against PostgreSQL's COPY of the export's own SELECT, and their peak memory. Prints, per format,
`EXPORT ami_<format> project_s=… copy_s=… ratio=… rss_mib=…`.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hopen_bench \
    DJANGO_SETTINGS_MODULE=hopen.settings.development python bench/ami_export.py [--establishments 3000]

The database named by DATABASE_URL is created if it does not exist and migrated; the data are created inside a
transaction that is rolled back at the end, so the database is left as it was. Each export is run three times
for the median wall time (no tracing), then once under tracemalloc for the peak of Python allocations while the
export is produced and consumed chunk by chunk (as the WSGI server would); COPY is timed the same way (median of
three). `rss_mib` is the process's resident-set high-water mark (ru_maxrss: it never goes down).
"""

import argparse
import os
import random
import resource
import statistics
import sys
import time
import tracemalloc
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hopen.settings.development")

STATUSES = ("public", "public", "public", "private_for_profit", "private_non_profit")


def ensure_database():
    """Create the database of DATABASE_URL when it does not exist (a dedicated benchmark database)."""
    import psycopg

    url = urlparse(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/hopen"))
    name = url.path.lstrip("/")
    admin = url._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')
            print(f"Base « {name} » créée.")


def finess_numbers(start):
    from hopen.finess import luhn_is_valid

    serial = start
    while True:
        serial += 1
        body = f"98{serial:06d}"
        for check in range(10):
            if luhn_is_valid(f"{body}{check}"):
                yield f"{body}{check}"
                break


def seed(count: int, rng: random.Random):
    """`count` filed pre-candidatures with 2 to 4 domains each, spread over the regions (bulk inserts)."""
    import csv

    from bench.national_data import pre_candidatures
    from funding.loading import load_amount_grid
    from funding.models import CombinedActivity
    from hopen.models import Establishment, LegalEntity, Region
    from indicators.loading import load_calendar
    from indicators.programmes import default_programme

    load_calendar()
    load_amount_grid()
    with open(ROOT / "fixtures" / "regions.csv", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            Region.objects.get_or_create(code=row["code"], defaults={"name": row["name"], "ars_name": row["ars_name"]})
    regions = list(Region.objects.all())
    programme = default_programme()  # the programme whose calendar and grid were just loaded
    numbers = finess_numbers(rng.randrange(0, 500_000))
    entities = LegalEntity.objects.bulk_create(
        [LegalEntity(finess=next(numbers), name=f"Entité de banc d'essai {i}") for i in range(count)], batch_size=1000
    )
    establishments = []
    for i, entity in enumerate(entities):
        status = rng.choice(STATUSES)
        establishments.append(Establishment(
            finess=next(numbers), name=f"Établissement de banc d'essai {i:05d}", legal_entity=entity, status=status,
            is_espic=status == "private_non_profit" and rng.random() < 0.5, category_code="355",
            category_label="Centre hospitalier (CH)", region=regions[i % len(regions)], department="98",
            city="Essai-sur-Mer", has_mco=True, has_ssr=rng.random() < 0.4, has_psy=rng.random() < 0.2,
            has_had=rng.random() < 0.1,
        ))
    establishments = Establishment.objects.bulk_create(establishments, batch_size=1000)
    CombinedActivity.objects.bulk_create(
        [CombinedActivity(establishment=e, source_year=2023, computed=Decimal(rng.randrange(2_000, 600_000)))
         for e in establishments],
        batch_size=1000,
    )
    counts = pre_candidatures(establishments, rng, programme=programme)  # shared with bench/national.py
    from django.db import connection

    with connection.cursor() as cursor:
        # The statistics of these rows, as a production database has them: without them the planner keeps those
        # of an earlier (larger, rolled back) run and the export's plan is not the real one.
        cursor.execute("ANALYZE")
    return counts


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def consume(response) -> tuple[int, int]:
    """Consume a response chunk by chunk as the WSGI server would, keeping nothing: (bytes, chunks)."""
    assert response.status_code == 200, response.status_code
    size = chunks = 0
    for chunk in response.streaming_content:
        size += len(chunk)
        chunks += 1
    response.close()
    return size, chunks


def run_export(view, request) -> tuple[int, int]:
    return consume(view(request))


def copy_seconds(queryset, repeat: int = 3) -> float:
    """Median time of PostgreSQL's `COPY (the queryset's SELECT) TO STDOUT` read through psycopg: the floor an
    export of the same rows can reach (the database's work plus the transfer, no Python per row)."""
    import psycopg
    from django.db import connection

    sql, params = queryset.query.sql_with_params()
    connection.ensure_connection()
    raw = connection.connection
    statement = psycopg.ClientCursor(raw).mogrify(sql, params)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        with raw.cursor() as cursor, cursor.copy(f"COPY ({statement}) TO STDOUT") as copy:
            for _block in copy:
                pass
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def measure_export(produce, repeat: int = 3) -> dict:
    """`produce()` returns a response; median wall time over `repeat` runs, then one run under tracemalloc for the
    peak of Python allocations; ru_maxrss (the process's high-water mark, it never goes down) after them."""
    from django.db import connection, reset_queries

    times = []
    for _ in range(repeat):
        reset_queries()
        started = time.perf_counter()
        size, chunks = consume(produce())
        times.append(time.perf_counter() - started)
    queries = len(connection.queries)
    tracemalloc.start()
    tracemalloc.reset_peak()
    consume(produce())
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "bytes": size, "chunks": chunks, "seconds": statistics.median(times), "peak_mib": peak / 1_048_576,
        "rss_mib": rss_mib(), "queries": queries,
    }


def export_line(name: str, figures: dict, copy_s: float) -> str:
    """The bench's one-line format (issue 17 §5), comparable from run to run."""
    return (
        f"EXPORT {name} project_s={figures['seconds']:.3f} copy_s={copy_s:.3f} "
        f"ratio={figures['seconds'] / copy_s:.2f} rss_mib={figures['rss_mib']:.1f} "
        f"tracemalloc_mib={figures['peak_mib']:.1f} queries={figures['queries']} mib={figures['bytes'] / 1_048_576:.1f}"
    )


def ami_export_lines(user) -> list[str]:
    """EXPORT lines of the national AMI export (CSV and XLSX) for `user`, over the data in the database."""
    from django.test import RequestFactory

    from ami import exports, views_ars
    from ami.forms_ars import filtered_pre_candidatures
    from funding.selectors import amount_grid
    from indicators.programmes import default_programme

    factory = RequestFactory()
    lines = []
    for fmt in ("xlsx", "csv"):
        def produce(fmt=fmt):
            request = factory.get("/ami/region/export/", {"format": fmt})
            request.user = user
            request.programme = default_programme()  # what the middleware sets on a real request
            return views_ars.export(request)

        request = factory.get("/ami/region/export/", {"format": fmt})
        request.user, request.programme = user, default_programme()
        _, _, ami_filters, pre_candidatures = filtered_pre_candidatures(request)
        queryset, names = exports.pre_candidature_queryset(
            pre_candidatures, ami_filters, amount_grid(request.programme)
        )
        queryset = queryset.values(*names)  # the export's own SELECT, whose lines COPY formats
        figures = measure_export(produce)
        lines.append(export_line(f"ami_{fmt}", figures, copy_seconds(queryset)))
    return lines


class Rollback(Exception):
    pass


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--establishments", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=2019)
    args = parser.parse_args()

    ensure_database()
    import django

    django.setup()
    from django.core.management import call_command
    from django.core.signals import request_finished
    from django.db import close_old_connections, transaction

    from hopen.models import Role, User
    from hopen.services import role_assign

    call_command("migrate", verbosity=0)
    # Closing a response ends the "request", which closes the database connection outside autocommit: keep it,
    # the whole benchmark runs in one transaction rolled back at the end.
    request_finished.disconnect(close_old_connections)
    print(f"ru_maxrss au départ : {rss_mib():.1f} Mio")
    try:
        with transaction.atomic():
            started = time.perf_counter()
            count, lines = seed(args.establishments, random.Random(args.seed))
            print(f"{count} pré-candidatures déposées, {lines} lignes (établissement × domaine) créées en "
                  f"{time.perf_counter() - started:.1f} s ; ru_maxrss {rss_mib():.1f} Mio")
            user = User.objects.create_user(email="dgos-banc-essai@hopen.test", password=None)
            role_assign(user=user, role=Role.DGOS_OFFICER, by=None)
            for line in ami_export_lines(User.objects.get(pk=user.pk)):
                print(line)
            raise Rollback
    except Rollback:
        print("Transaction annulée : la base est laissée telle qu'elle était.")


if __name__ == "__main__":
    main()
