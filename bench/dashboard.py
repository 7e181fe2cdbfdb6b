"""Benchmark of the ARS's and DGOS's funding dashboard (annex 4 §3, issue 6 « query counts of the dashboard with
1,000 and with 10,000 dossiers »): number of SQL queries and wall time of the selector
(`funding.dashboard.selectors.dashboard`) and of the whole page (`/pilotage/…`, middleware and template included),
for one region (its ARS) and for the nation (DGOS).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hopen_bench \
    DJANGO_SETTINGS_MODULE=hopen.settings.development python bench/dashboard.py [--dossiers 1000 10000]

The database named by DATABASE_URL is created if it does not exist and migrated; each size is created inside a
transaction rolled back at the end, so the database is left as it was. The data: the 18 regions, the annex-2
envelopes (`envelopes.loading.load_envelopes`), the HOP'EN catalogue; one establishment per dossier (public,
private, ESPIC; MCO with SSR / PSY / HAD at random), dossiers spread over the regions — 70 % in progress with 1 to
4 selected domains (some with targets reached, usage notified or paid), 15 % under review, 10 % refused, 5 %
closed —, 30 % of the prerequisites dates and 20 % of the target deadlines slipped, the ledger movements of
every decision (seed commitment and payment, usage commitment and payment) written through
`envelopes.ledger.append_many` (dossiers, domains and ledger: `bench.national_data.dossiers`, shared with the national
bench), and the declared values of the prerequisites for half of the establishments.
`ANALYZE` runs after the inserts (as autovacuum would on a live database: without planner statistics on the
fresh rows PostgreSQL picks nested loops that take 0.9 s per query at 10,000 dossiers). Each measure is run once
to warm up, then three times: the median is printed.
"""

import argparse
import datetime
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hopen.settings.development")

from bench.ami_export import ensure_database, finess_numbers  # noqa: E402
from bench.national_data import dossiers  # noqa: E402  (the dossiers, domains and ledger of the national bench too)

STATUSES = ("public", "public", "public", "private_for_profit", "private_non_profit")


def seed(count: int, rng: random.Random):
    """`count` dossiers with their establishments, domains, ledger movements and declared prerequisites."""
    import csv

    from django.utils import timezone

    from envelopes.loading import load_envelopes
    from hopen.models import Establishment, LegalEntity, Region, User
    from indicators.loading import load_calendar, load_catalogue
    from indicators.models import GroupKind, Indicator, IndicatorValue
    from indicators.programmes import default_programme

    load_calendar()
    load_catalogue()
    with open(ROOT / "fixtures" / "regions.csv", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            Region.objects.get_or_create(code=row["code"], defaults={"name": row["name"], "ars_name": row["ars_name"]})
    regions = list(Region.objects.all())
    load_envelopes()
    programme = default_programme()  # the programme whose calendar, catalogue and envelopes were just loaded
    creator = User.objects.create_user(email="banc-essai-dossiers@hopen.test", password=None)
    numbers = finess_numbers(rng.randrange(0, 500_000))
    entities = LegalEntity.objects.bulk_create(
        [LegalEntity(finess=next(numbers), name=f"Entité de banc d'essai {i}") for i in range(count)], batch_size=2000
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
    establishments = Establishment.objects.bulk_create(establishments, batch_size=2000)

    made = dossiers(establishments, count, rng, programme=programme, creator=creator)

    prerequisites = list(Indicator.objects.filter(catalogue__is_current=True, group__kind=GroupKind.PREREQUISITE))
    declared = timezone.now()
    values = []
    for establishment in establishments[::2]:
        for indicator in prerequisites:
            rate = indicator.target_kind == "rate"
            values.append(IndicatorValue(
                establishment=establishment, indicator=indicator, measured_on=datetime.date(2020, 3, 15),
                kind="rate" if rate else "existence", numerator=100 if rate else None, denominator=100 if rate else None,
                exists=None if rate else True, status="declared", created_by=creator, declared_by=creator,
                declared_at=declared,
            ))
    IndicatorValue.objects.bulk_create(values, batch_size=5000)
    from indicators.state.writer import rebuild_attainment

    rebuild_attainment()  # values written in bulk: the attainment state the declarations would have kept
    return {"dossiers": made["dossiers"], "domains": made["domains"], "entries": made["entries"], "values": len(values)}


def measure(label, call, repeat=3):
    from django.db import connection, reset_queries

    call()  # warm-up (template loading, catalogue)
    times, queries = [], []
    for _ in range(repeat):
        reset_queries()
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
        queries.append(len(connection.queries))
    print(f"  {label:<42} {statistics.median(times) * 1000:8.0f} ms   {queries[0]:>3} requêtes SQL")
    return {"label": label, "ms": statistics.median(times) * 1000, "queries": queries[0]}


class Rollback(Exception):
    pass


def run(count: int, rng: random.Random):
    from django.db import connection, transaction
    from django.test import Client

    from funding.dashboard.selectors import dashboard, dashboard_scope
    from hopen.models import Region, Role, User
    from hopen.services import role_assign
    from indicators.programmes import default_programme

    try:
        with transaction.atomic():
            started = time.perf_counter()
            counts = seed(count, rng)
            with connection.cursor() as cursor:
                # Planner statistics of the new rows, as autovacuum would gather them on a live database.
                cursor.execute("ANALYZE")
            print(f"\n{counts['dossiers']:,} dossiers, {counts['domains']:,} domaines, {counts['entries']:,} écritures, "
                  f"{counts['values']:,} valeurs déclarées — créés en {time.perf_counter() - started:.1f} s")
            region = Region.objects.get(code="84")  # Auvergne-Rhône-Alpes, the largest envelope
            ars = User.objects.create_user(email="ars-banc-essai@hopen.test", password=None)
            role_assign(user=ars, role=Role.ARS_OFFICER, region=region, by=None)
            dgos = User.objects.create_user(email="dgos-banc-essai@hopen.test", password=None)
            role_assign(user=dgos, role=Role.DGOS_OFFICER, by=None)
            results = []

            def selector(user, code):
                fresh = User.objects.get(pk=user.pk)  # the scope is cached per user object: count its query
                return lambda: dashboard(fresh, dashboard_scope(fresh, code), programme=default_programme())

            results.append(measure(f"sélecteur, ARS ({region.name})", selector(ars, "84")))
            results.append(measure("sélecteur, DGOS (France entière)", selector(dgos, None)))
            for user, url, label in ((ars, "/pilotage/84/", "page /pilotage/84/ (ARS)"),
                                     (dgos, "/pilotage/", "page /pilotage/ (DGOS)"),
                                     (dgos, "/pilotage/?page=3", "page /pilotage/?page=3 (DGOS)")):
                client = Client()
                client.force_login(user)

                def page(client=client, url=url):
                    response = client.get(url, headers={"host": "localhost"})
                    assert response.status_code == 200, response.status_code
                    return response

                results.append(measure(label, page))
            raise Rollback
    except Rollback:
        pass
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dossiers", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--seed", type=int, default=2019)
    args = parser.parse_args()

    ensure_database()
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.core.signals import request_finished
    from django.db import close_old_connections

    settings.DEBUG = True  # connection.queries
    call_command("migrate", verbosity=0)
    request_finished.disconnect(close_old_connections)
    for count in args.dossiers:
        run(count, random.Random(args.seed))
    print("\nTransactions annulées : la base est laissée telle qu'elle était.")


if __name__ == "__main__":
    main()
