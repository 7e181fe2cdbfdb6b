"""Benchmark of the national AMI export (annex 5 « Fonction d'export », issue 5 « a national export of 3,000
establishments streams »): peak memory and wall time of the CSV and XLSX exports.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hopen_bench \
    DJANGO_SETTINGS_MODULE=hopen.settings.development python bench/ami_export.py [--establishments 3000]

The database named by DATABASE_URL is created if it does not exist and migrated; the data are created inside a
transaction that is rolled back at the end, so the database is left as it was. Each export is run twice: once
for the wall time (no tracing), once under tracemalloc for the peak of Python allocations while the export is
produced and consumed chunk by chunk (as the WSGI server would). `ru_maxrss` is the process's resident-set high
water mark (it never goes down: it is printed before and after each export).
"""

import argparse
import os
import random
import resource
import sys
import time
import tracemalloc
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hopen.settings.development")

DOMAINS = ("D1", "D2", "D3", "D4", "D5", "D6", "D7")
SEMESTERS = ("2019 S2", "2020 S1", "2020 S2", "2021 S1", "2021 S2", "2022 S1", "2022 S2")
STATUSES = ("public", "public", "public", "private_for_profit", "private_non_profit")
TEXT = (
    "Déploiement du dossier patient informatisé sur l'ensemble des pôles cliniques, puis période d'observation de "
    "trois mois avant la mesure des indicateurs d'usage ; accompagnement au changement des équipes soignantes."
)


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

    from ami.models import Decision, FilingStatus, PreCandidature, PreCandidatureDomain
    from django.utils import timezone
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
    filed_at = timezone.now().replace(year=2019, month=6, day=15)
    pres = PreCandidature.objects.bulk_create(
        [PreCandidature(
            establishment=e, programme=programme, position="final", hn_prerequisites_reached=True,
            hopen_prerequisites_forecast="2020 S2", referent_name="Claire Martin", referent_function="DSI",
            referent_email="claire.martin@etablissement.test", referent_phone="03 20 00 00 00",
            legal_representative_name="Jean Dupont", legal_representative_function="Directeur", comment=TEXT,
            investment_amount=Decimal(rng.randrange(100_000, 3_000_000)), business_stakes=TEXT,
            status=FilingStatus.FILED, validated_at=filed_at, filed_at=filed_at,
        ) for e in establishments],
        batch_size=1000,
    )
    domains = []
    for pre in pres:
        for priority, code in enumerate(rng.sample(DOMAINS, rng.randint(2, 4)), start=1):
            domains.append(PreCandidatureDomain(
                pre_candidature=pre, domain_code=code, forecast_semester=rng.choice(SEMESTERS), priority=priority,
                planning=TEXT, decision=rng.choice([Decision.PENDING, Decision.PRESELECTED]),
            ))
    PreCandidatureDomain.objects.bulk_create(domains, batch_size=2000)
    return len(pres), len(domains)


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def run_export(view, request) -> tuple[int, int]:
    """Call the view and consume its response chunk by chunk, keeping nothing: (bytes, chunks)."""
    response = view(request)
    assert response.status_code == 200, response.status_code
    size = chunks = 0
    for chunk in response.streaming_content:
        size += len(chunk)
        chunks += 1
    response.close()
    return size, chunks


def measure(label, view, request):
    from django.db import connection, reset_queries

    reset_queries()
    rss_before = rss_mib()
    started = time.perf_counter()
    size, chunks = run_export(view, request)
    elapsed = time.perf_counter() - started
    rss_after = rss_mib()
    queries = len(connection.queries)

    tracemalloc.start()
    tracemalloc.reset_peak()
    run_export(view, request)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"{label:<5} {size / 1_048_576:8.1f} Mio en {chunks:>6} morceaux — {elapsed:6.2f} s — "
        f"pic tracemalloc {peak / 1_048_576:6.1f} Mio — ru_maxrss {rss_before:6.1f} → {rss_after:6.1f} Mio — "
        f"{queries} requêtes SQL"
    )
    return {"bytes": size, "seconds": elapsed, "peak_mib": peak / 1_048_576, "rss_after_mib": rss_after}


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
    from django.test import RequestFactory

    from ami import views_ars
    from hopen.models import Role, User
    from hopen.services import role_assign
    from indicators.programmes import default_programme

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
            factory = RequestFactory()
            for fmt in ("csv", "xlsx"):
                request = factory.get("/ami/region/export/", {"format": fmt})
                request.user = User.objects.get(pk=user.pk)
                request.programme = default_programme()  # what the middleware sets on a real request
                measure(fmt.upper(), views_ars.export, request)
            raise Rollback
    except Rollback:
        print("Transaction annulée : la base est laissée telle qu'elle était.")


if __name__ == "__main__":
    main()
