"""Benchmark of the daily deadline sweep (funding.deadlines.sweep.run_deadlines, issue 6 « set-based (a constant number
of queries whatever the number of dossiers) »): SQL queries and wall time with 1,000 then 10,000 dossiers, then a
second run on the same day, which must create nothing.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hopen_bench \
    DJANGO_SETTINGS_MODULE=hopen.settings.development python bench/deadline_sweep.py [--sizes 1000 10000]

The database named by DATABASE_URL is created if it does not exist and migrated; each size is created inside a
transaction rolled back at the end (the database is left as it was; nothing is sent after commit: no e-mail, no
letter generated). The reference date is 15/01/2021, when every job has work: dossiers transmitted more than four
months earlier (silence = refusal), in the reminder window, initialisations overdue, seed paid to establishments
that have not reached the HOP'EN prerequisites (refund claims) or have (no claim), target deadlines within three
months, the ARS's annual report reminder. Within the outer transaction each job's transaction is a savepoint:
the figures count 2 SAVEPOINT/RELEASE statements per job that a production run (BEGIN/COMMIT) does not log.
"""

import argparse
import datetime
import os
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hopen.settings.development")

from bench.ami_export import ensure_database, finess_numbers, rss_mib  # noqa: E402

AS_OF = datetime.date(2021, 1, 15)
PARIS = None  # set after django.setup()
PREREQUISITE_CODES = (
    "P1.1", "P1.2", "P1.3", "P1.4", "P2.1", "P2.2", "P2.4", "P2.5", "P3.2", "P3.3", "P3.4", "P3.6", "P4.1", "P4.2",
    "P4.3",
)
# Share of the dossiers per situation on 15/01/2021 (each dossier has one or two domains).
MIX = (
    ("silent", 0.25),  # transmitted 01/09/2020 or before, no decision: refused (two domains pending)
    ("reminder", 0.10),  # transmitted 20/09/2020: reminder window (3 months 3 weeks), not yet four months
    ("recent", 0.10),  # transmitted 01/12/2020: nothing due
    ("initialisation_overdue", 0.10),  # initialisation requested 20/11/2020: more than 1.5 months
    ("initialisation_recent", 0.05),  # initialisation requested 10/01/2021
    ("seed_unmet", 0.20),  # in progress, seed paid, prerequisites not reached: refund claim; deadline 31/03/2021
    ("seed_met", 0.10),  # in progress, seed paid, prerequisites reached: no claim; deadline 30/06/2022
    ("closed", 0.10),  # closed after an abandonment, seed paid: nothing (no claim on a closed dossier here)
)


def at(day, hour=10):
    return datetime.datetime(day.year, day.month, day.day, hour, tzinfo=PARIS)


def seed(count: int, rng: random.Random) -> dict:
    """`count` dossiers spread over the 18 regions, in the situations of MIX (bulk inserts)."""
    import csv

    from django.contrib.auth.hashers import make_password
    from django.db import transaction

    from envelopes.ledger import Movement, append_many
    from envelopes.models import EntryKind, Envelope, Pot
    from funding.models import Dossier, DossierDomain, DossierMember
    from hopen.models import Establishment, LegalEntity, Region, Role, RoleAssignment, User
    from indicators.loading import load_calendar, load_catalogue
    from indicators.models import Indicator, IndicatorValue
    from indicators.programmes import default_programme

    load_calendar()
    load_catalogue()
    with open(ROOT / "fixtures" / "regions.csv", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            Region.objects.get_or_create(code=row["code"], defaults={"name": row["name"], "ars_name": row["ars_name"]})
    regions = list(Region.objects.order_by("pk"))
    programme = default_programme()  # the programme whose calendar and catalogue were just loaded
    password = make_password(None)
    tag = rng.randrange(10**9)

    # Two ARS officers per region, one director per establishment (the notifications' recipients).
    officers = User.objects.bulk_create(
        [User(email=f"ars-{tag}-{r.code}-{i}@bench.hopen.test", password=password) for r in regions for i in (1, 2)]
    )
    RoleAssignment.objects.bulk_create(
        [RoleAssignment(user=user, role=Role.ARS_OFFICER, region=regions[i // 2]) for i, user in enumerate(officers)]
    )
    numbers = finess_numbers(rng.randrange(0, 500_000))
    establishment_count = max(count // 2, 1)
    entities = LegalEntity.objects.bulk_create(
        [LegalEntity(finess=next(numbers), name=f"Entité {i}") for i in range(establishment_count)], batch_size=2000
    )
    establishments = Establishment.objects.bulk_create(
        [
            Establishment(
                finess=next(numbers), name=f"Établissement de banc d'essai {i:05d}", legal_entity=entity,
                status="public", category_code="355", category_label="Centre hospitalier (CH)",
                region=regions[i % len(regions)], department="98", city="Essai-sur-Mer", has_mco=True,
            )
            for i, entity in enumerate(entities)
        ],
        batch_size=2000,
    )
    directors = User.objects.bulk_create(
        [User(email=f"dir-{tag}-{e.finess}@bench.hopen.test", password=password) for e in establishments],
        batch_size=2000,
    )
    RoleAssignment.objects.bulk_create(
        [RoleAssignment(user=u, role=Role.ESTABLISHMENT_DIRECTOR, establishment=e)
         for u, e in zip(directors, establishments)],
        batch_size=2000,
    )
    creator = officers[0]

    kinds = []
    for kind, share in MIX:
        kinds += [kind] * round(count * share)
    kinds = (kinds + ["recent"] * count)[:count]
    rng.shuffle(kinds)
    dossiers = []
    for i, kind in enumerate(kinds):
        establishment = establishments[i % len(establishments)]
        fields = {
            "programme": programme, "reference": f"BANC-{tag}-{i:06d}", "establishment": establishment,
            "region_id": establishment.region_id, "created_by": creator,
        }
        if kind in ("silent", "reminder", "recent"):
            day = {"silent": datetime.date(2020, 9, 1), "reminder": datetime.date(2020, 9, 20),
                   "recent": datetime.date(2020, 12, 1)}[kind]
            fields |= {"status": rng.choice(["transmitted", "under_review"]), "transmitted_at": at(day)}
        elif kind.startswith("initialisation"):
            day = datetime.date(2020, 11, 20) if kind == "initialisation_overdue" else datetime.date(2021, 1, 10)
            fields |= {"status": "initialisation_requested", "initialisation_requested_at": at(day)}
        else:
            fields |= {"status": "in_progress", "transmitted_at": at(datetime.date(2019, 9, 2)),
                       "decided_at": at(datetime.date(2019, 11, 4))}
            if kind == "closed":
                fields |= {"status": "closed", "closed_at": at(datetime.date(2020, 6, 1)),
                           "closure_kind": "abandonment", "closure_reason": "Projet abandonné (banc d'essai)"}
        dossiers.append(Dossier(**fields))
    dossiers = Dossier.objects.bulk_create(dossiers, batch_size=2000)
    DossierMember.objects.bulk_create(
        [DossierMember(dossier=d, establishment_id=d.establishment_id) for d in dossiers], batch_size=2000
    )
    domains = []
    for dossier, kind in zip(dossiers, kinds):
        common = {"dossier": dossier, "total_amount": Decimal("300000.00")}
        if kind in ("seed_unmet", "seed_met", "closed"):
            deadline = datetime.date(2021, 3, 31) if kind == "seed_unmet" else datetime.date(2022, 6, 30)
            domains.append(DossierDomain(
                domain_code="D2", status="selected", target_deadline_initial=deadline, target_deadline=deadline,
                seed_amount=Decimal("5000.00"), decided_at=at(datetime.date(2019, 11, 4)), **common,
            ))
        else:
            for code in ("D2", "D3"):
                deadline = datetime.date(2022, 6, 30)
                domains.append(DossierDomain(
                    domain_code=code, target_deadline_initial=deadline, target_deadline=deadline, **common
                ))
    domains = DossierDomain.objects.bulk_create(domains, batch_size=2000)

    envelopes = {}
    for region in regions:
        envelopes[region.pk], _ = Envelope.objects.get_or_create(programme=programme, region=region)
    paid = [d for d in domains if d.seed_amount > 0]
    with transaction.atomic():
        movements = [
            Movement(envelope_id=e.pk, kind=EntryKind.ALLOCATION, pot=Pot.SEED, amount=Decimal("100000000.00"),
                     label="Dotation amorçage (banc d'essai)")
            for e in envelopes.values()
        ]
        for domain in paid:
            common = {"envelope_id": envelopes[domain.dossier.region_id].pk, "pot": Pot.SEED,
                      "amount": domain.seed_amount, "dossier_domain_id": domain.pk,
                      "establishment_id": domain.dossier.establishment_id, "sector": "public"}
            movements.append(Movement(kind=EntryKind.SEED_COMMITMENT, label="Engagement d'amorçage", **common))
            movements.append(Movement(kind=EntryKind.SEED_PAYMENT, label="Versement d'amorçage", **common))
        append_many(movements)

    # The establishments of the "seed_met" dossiers have declared the 15 prerequisites, reached.
    met = {d.establishment_id for d, kind in zip(dossiers, kinds) if kind == "seed_met"}
    unmet = {d.establishment_id for d, kind in zip(dossiers, kinds) if kind == "seed_unmet"}
    met -= unmet  # an establishment with both kinds of dossiers has not reached them
    indicators = list(Indicator.objects.filter(catalogue__is_current=True, code__in=PREREQUISITE_CODES))
    now = at(datetime.date(2020, 6, 2))
    IndicatorValue.objects.bulk_create(
        [
            IndicatorValue(
                establishment_id=pk, indicator=indicator, measured_on=datetime.date(2020, 6, 1), status="declared",
                kind=indicator.target_kind, created_by=creator, declared_by=creator, declared_at=now,
                **({"numerator": 100, "denominator": 100} if indicator.target_kind == "rate" else {"exists": True}),
            )
            for pk in sorted(met) for indicator in indicators
        ],
        batch_size=5000,
    )
    from indicators.state.writer import refresh_attainment

    refresh_attainment(establishment_ids=sorted(met))  # the attainment state the declarations would have kept
    return {kind: kinds.count(kind) for kind, _ in MIX} | {"domains": len(domains), "establishments": len(establishments)}


def table_counts() -> dict:
    from envelopes.models import LedgerEntry
    from funding.models import DeadlineEvent, DossierLetter
    from hopen.models import AuditRecord, Notification

    return {
        "échéances": DeadlineEvent.objects.count(),
        "notifications": Notification.objects.count(),
        "écritures": LedgerEntry.objects.count(),
        "traces d'audit": AuditRecord.objects.count(),
        "courriers": DossierLetter.objects.count(),
    }


def sweep(label: str):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from funding.deadlines.sweep import run_deadlines

    before = table_counts()
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as context:
        results = run_deadlines(AS_OF)
    elapsed = time.perf_counter() - started
    after = table_counts()
    created = {name: after[name] - before[name] for name in after}
    savepoints = sum(1 for q in context.captured_queries if q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT")))
    print(f"  {label} : {len(context.captured_queries)} requêtes SQL (dont {savepoints} SAVEPOINT/RELEASE), "
          f"{elapsed:.2f} s ; lignes créées : " + ", ".join(f"{n} {name}" for name, n in created.items()))
    for job, counts in results.items():
        print(f"    {job:<24} " + ", ".join(f"{name} {n}" for name, n in counts.items()))
    return len(context.captured_queries), elapsed, created


class Rollback(Exception):
    pass


def main():
    global PARIS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--seed", type=int, default=2021)
    args = parser.parse_args()

    ensure_database()
    import logging
    from zoneinfo import ZoneInfo

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import transaction

    PARIS = ZoneInfo("Europe/Paris")
    logging.getLogger("funding.deadlines").setLevel(logging.WARNING)
    call_command("migrate", verbosity=0)
    summary = []
    for size in args.sizes:
        try:
            with transaction.atomic():
                started = time.perf_counter()
                mix = seed(size, random.Random(args.seed))
                print(f"{size} dossiers créés en {time.perf_counter() - started:.1f} s : {mix}")
                first = sweep("1er passage")
                second = sweep("2e passage (même jour)")
                summary.append((size, first, second))
                raise Rollback
        except Rollback:
            pass
    print("\n| dossiers | 1er passage : requêtes | durée | 2e passage : requêtes | durée | lignes créées au 2e passage |")
    for size, (q1, t1, _), (q2, t2, created) in summary:
        print(f"| {size:,} | {q1} | {t1:.2f} s | {q2} | {t2:.2f} s | {sum(created.values())} |")
    print(f"ru_maxrss {rss_mib():.1f} Mio. Transactions annulées : la base est laissée telle qu'elle était.")


if __name__ == "__main__":
    main()
