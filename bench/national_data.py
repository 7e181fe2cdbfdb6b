"""Generators of the national-scale bench (issue 17), shared with bench/dashboard.py.

`build(size)` fills a migrated database: the real DREES SAE establishments (the project's own commands:
`load_programme`, `import_sae`, `compute_combined_activity`, `open_envelopes`), then, on `size.establishments` of
them (spread over the regions), the indicator history, the justificatory documents, the dossiers with their
domains and ledger, the AMI pre-candidatures (with their stored annex-3 estimate), and the attainment state
(`rebuild_attainment`). Values and documents go through COPY (the history is 1.2 million rows); dossiers, domains
and pre-candidatures through `bulk_create`; ledger movements through `envelopes.ledger.append_many`, the ledger's
only writer.

At scale 1 (`Size.of(1)`): 2,950 establishments × 41 indicators × 10 semesters = 1,209,500 declared cells, plus
0.5 % corrections (the first version superseded) and drafts of the next semester for 4 % of (establishment,
indicator): ≈ 1.22 M values; one document per declared value of the last three semesters (97 %, a second one for
2 %, 1 % deleted, 0.2 % infected): ≈ 359 k documents; 10,000 dossiers of 1 to 4 domains; ≈ 8.8 k AMI lines.
"""

import dataclasses
import datetime
import hashlib
import random
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NATIONAL_ESTABLISHMENTS = 2950
NATIONAL_DOSSIERS = 10_000
NATIONAL_SEMESTERS = 10
DOMAINS = ("D1", "D2", "D3", "D4", "D5", "D6", "D7")
AMI_SEMESTERS = ("2019 S2", "2020 S1", "2020 S2", "2021 S1", "2021 S2", "2022 S1", "2022 S2")
INITIAL_PREREQUISITES = datetime.date(2020, 6, 30)
INITIAL_DEADLINE = datetime.date(2022, 6, 30)
CORRECTION_SHARE = 0.005
DRAFT_SHARE = 0.04
NOT_APPLICABLE_SHARE = 0.03
DOCUMENTED_SEMESTERS = 3
TEXT = (
    "Déploiement du dossier patient informatisé sur l'ensemble des pôles cliniques, puis période d'observation de "
    "trois mois avant la mesure des indicateurs d'usage ; accompagnement au changement des équipes soignantes."
)
BENCH_DOMAIN = "banc.hopen.test"
DGOS_EMAIL = f"dgos@{BENCH_DOMAIN}"


def ars_email(region_code: str) -> str:
    return f"ars-{region_code}@{BENCH_DOMAIN}"


@dataclasses.dataclass(frozen=True)
class Size:
    establishments: int
    dossiers: int
    semesters: int

    @classmethod
    def of(cls, scale: float = 1.0, *, dossiers: float = 1.0, values: float = 1.0) -> "Size":
        """`scale` multiplies everything (1 = national); `dossiers` and `values` divide or multiply the dossiers
        and the history (values: number of semesters, 10 at national scale, at least 1)."""
        return cls(
            establishments=max(1, min(NATIONAL_ESTABLISHMENTS, round(NATIONAL_ESTABLISHMENTS * scale))),
            dossiers=max(1, round(NATIONAL_DOSSIERS * scale * dossiers)),
            semesters=max(1, round(NATIONAL_SEMESTERS * values)),
        )


def semester_ends(count: int) -> list[datetime.date]:
    """The last `count` semesters ending with 2023 S2 (measurement dates: 30/06 and 31/12)."""
    ends, year, first = [], 2023, False
    while len(ends) < count:
        ends.append(datetime.date(year, 6, 30) if first else datetime.date(year, 12, 31))
        year, first = (year, True) if not first else (year - 1, False)
    return ends[::-1]


def _stamp(day: datetime.date, offset_days: int = 10) -> str:
    moment = datetime.datetime(day.year, day.month, day.day, 10, tzinfo=datetime.UTC)
    moment += datetime.timedelta(days=offset_days)
    return moment.strftime("%Y-%m-%d %H:%M:%S+00")


def _cell(value) -> str:
    if value is None:
        return r"\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    return str(value)


class CopyWriter:
    """COPY rows into a model's table on Django's connection (in its transaction), by blocks of text lines."""

    def __init__(self, model, fields):
        self.table = model._meta.db_table
        self.columns = ", ".join(f'"{model._meta.get_field(f).column}"' for f in fields)
        self.lines, self.count = [], 0

    def __enter__(self):
        from django.db import connection

        connection.ensure_connection()
        self.cursor = connection.connection.cursor()
        self.copy_context = self.cursor.copy(f"COPY {self.table} ({self.columns}) FROM STDIN")
        self.copy = self.copy_context.__enter__()
        return self

    def row(self, *values):
        self.lines.append("\t".join(_cell(v) for v in values))
        self.count += 1
        if len(self.lines) >= 20_000:
            self._flush()

    def _flush(self):
        if self.lines:
            self.copy.write("\n".join(self.lines) + "\n")
            self.lines = []

    def __exit__(self, *exc):
        if exc[0] is None:
            self._flush()
        self.copy_context.__exit__(*exc)
        self.cursor.close()
        return False


def next_ids(model, count: int) -> int:
    """Reserve `count` primary keys of `model`'s sequence; returns the first one."""
    from django.db import connection

    table, column = model._meta.db_table, model._meta.pk.column
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence(%s, %s), nextval(pg_get_serial_sequence(%s, %s)) + %s - 1)",
            [table, column, table, column, max(count, 1)],
        )
        last = cursor.fetchone()[0]
    return last - max(count, 1) + 1


# ----- base data: the project's own set-up commands -----------------------------------------------------------


def load_base(out=print):
    """Programmes, real SAE establishments, combined activity, envelopes: what `make run` does (idempotent)."""
    from io import StringIO

    from django.conf import settings
    from django.core.management import call_command

    for name, args in (("load_programme", []), ("import_sae", ["--dir", str(settings.HOPEN_SAE_DIR)]),
                       ("compute_combined_activity", []), ("open_envelopes", [])):
        call_command(name, *args, stdout=StringIO())
    out(f"  base : programmes, SAE ({settings.HOPEN_SAE_DIR.name}), activité combinée, enveloppes")


def pick_establishments(count: int):
    """`count` real establishments spread over the regions (every k-th by region and FINESS)."""
    from hopen.models import Establishment

    everyone = list(Establishment.objects.order_by("region_id", "finess").only("pk", "region_id", "finess"))
    if count >= len(everyone):
        return everyone
    step = len(everyone) / count
    return [everyone[int(i * step)] for i in range(count)]


def bench_users():
    """The bench's creator, DGOS officer and one ARS officer per region (role_assign: audited)."""
    from hopen.models import Region, Role, User
    from hopen.services import role_assign

    creator, _ = User.objects.get_or_create(email=f"createur@{BENCH_DOMAIN}")
    users = {"creator": creator}
    dgos, created = User.objects.get_or_create(email=DGOS_EMAIL)
    if created:
        role_assign(user=dgos, role=Role.DGOS_OFFICER, by=None)
    users["dgos"] = dgos
    for region in Region.objects.order_by("code"):
        ars, created = User.objects.get_or_create(email=ars_email(region.code))
        if created:
            role_assign(user=ars, role=Role.ARS_OFFICER, region=region, by=None)
        users[f"ars-{region.code}"] = ars
    return users


# ----- indicator history and documents (COPY) ------------------------------------------------------------------


def indicator_history(establishments, semesters: int, creator, rng: random.Random) -> dict:
    """Declared values of every current indicator for each semester, corrections, next-semester drafts, documents."""
    from indicators.models import Indicator, IndicatorValue
    from indicators.programmes import default_programme

    indicators = list(Indicator.objects.filter(catalogue__programme=default_programme(), catalogue__is_current=True))
    ends = semester_ends(semesters)
    draft_day = datetime.date(ends[-1].year + (ends[-1].month == 12), 6 if ends[-1].month == 12 else 12,
                              30 if ends[-1].month == 12 else 31)
    cells = len(establishments) * len(indicators) * len(ends)
    first_id = next_ids(IndicatorValue, int(cells * (1 + CORRECTION_SHARE + DRAFT_SHARE) * 1.1) + 100)
    value_fields = ("id", "establishment", "indicator", "measured_on", "kind", "numerator", "denominator", "exists",
                    "description", "not_applicable_reason", "comment", "status", "version", "previous",
                    "correction_reason", "created_by", "created_at", "updated_at", "declared_by", "declared_at")
    documented = []  # (value id, uploaded on) of the current declared values of the last semesters
    next_id = first_id
    counts = {"values": 0, "declared": 0, "superseded": 0, "drafts": 0}
    with CopyWriter(IndicatorValue, value_fields) as copy:
        for establishment in establishments:
            for indicator in indicators:
                rate = indicator.target_kind == "rate"
                threshold = float(indicator.target_threshold or 0)
                not_applicable = indicator.not_applicable_allowed and rng.random() < NOT_APPLICABLE_SHARE
                progress = rng.random()  # how early this establishment reaches this indicator's target
                for index, day in enumerate(ends):
                    reached = rng.random() < min(0.95, 0.15 + progress * (index + 1) / len(ends))
                    kind, numerator, denominator, exists, reason = _measure(
                        rng, rate, threshold, reached, not_applicable)
                    stamp = _stamp(day)
                    corrected = rng.random() < CORRECTION_SHARE
                    copy.row(next_id, establishment.pk, indicator.pk, day, kind, numerator, denominator, exists,
                             "Procédure formalisée" if exists else "", reason, "", "superseded" if corrected else
                             "declared", 1, None, "", creator.pk, stamp, stamp, creator.pk, stamp)
                    current = next_id
                    next_id += 1
                    if corrected:
                        kind, numerator, denominator, exists, reason = _measure(
                            rng, rate, threshold, reached, not_applicable)
                        later = _stamp(day, 40)
                        copy.row(next_id, establishment.pk, indicator.pk, day, kind, numerator, denominator, exists,
                                 "Procédure formalisée" if exists else "", reason, "", "declared", 2, current,
                                 "Erreur de saisie du dénominateur", creator.pk, later, later, creator.pk, later)
                        counts["superseded"] += 1
                        current = next_id
                        next_id += 1
                    counts["declared"] += 1
                    if index >= len(ends) - DOCUMENTED_SEMESTERS:
                        documented.append((current, day))
                if rng.random() < DRAFT_SHARE:
                    kind, numerator, denominator, exists, reason = _measure(rng, rate, threshold, True, not_applicable)
                    stamp = _stamp(draft_day)
                    copy.row(next_id, establishment.pk, indicator.pk, draft_day, kind, numerator, denominator, exists,
                             "", reason, "Brouillon en cours", "draft", 1, None, "", creator.pk, stamp, stamp, None,
                             None)
                    next_id += 1
                    counts["drafts"] += 1
        counts["values"] = copy.count
    counts["documents"] = _documents(documented, creator, rng)
    counts["indicators"] = len(indicators)
    return counts


def _measure(rng, rate, threshold, reached, not_applicable):
    """(kind, numerator, denominator, exists, not-applicable reason) of one measurement."""
    if not_applicable:
        return "not_applicable", None, None, None, "Activité non exercée par l'établissement"
    if rate:
        denominator = rng.randrange(20, 5000)
        share = rng.uniform(threshold, 100) if reached else rng.uniform(0, max(threshold - 1, 0))
        return "rate", min(denominator, int(denominator * share / 100) + (1 if reached else 0)), denominator, None, ""
    return "existence", None, None, reached, ""


def _documents(documented, creator, rng) -> int:
    from indicators.models import Evidence

    digest = hashlib.sha256(b"piece justificative du banc d'essai").hexdigest()
    fields = ("value", "file", "original_name", "size", "content_type", "sha256", "uploaded_by", "uploaded_at",
              "scan_status", "scanned_at", "scan_detail", "deleted_at", "deleted_by")
    with CopyWriter(Evidence, fields) as copy:
        for value_id, day in documented:
            copies = (1 if rng.random() < 0.97 else 0) + (1 if rng.random() < 0.02 else 0)
            for n in range(copies):
                stamp = _stamp(day, 5 + n)
                draw = rng.random()
                infected = draw < 0.002
                deleted = 0.002 <= draw < 0.012
                copy.row(value_id, f"evidence/banc/{value_id}-{n}", f"preuve-{value_id}-{n}.pdf", 18_432,
                         "application/pdf", digest, creator.pk, stamp, "infected" if infected else "clean", stamp,
                         "Eicar-Test-Signature" if infected else "", stamp if deleted else None,
                         creator.pk if deleted else None)
        return copy.count


# ----- dossiers, domains, ledger (shared with bench/dashboard.py) ----------------------------------------------


def dossiers(establishments, count: int, rng: random.Random, *, programme, creator, prefix="BANC") -> dict:
    """`count` dossiers over `establishments` (round robin): 70 % in progress with 1 to 4 selected domains (some
    with targets reached, usage notified or paid), 15 % under review, 10 % refused, 5 % closed; 30 % of the
    prerequisites dates and 20 % of the target deadlines slipped; the ledger movements of every decision."""
    from django.utils import timezone

    from envelopes.ledger import Movement, append_many
    from envelopes.models import EntryKind, Envelope, Pot
    from funding.models import Dossier, DossierDomain, DossierMember, DomainStatus

    envelopes = {e.region_id: e for e in Envelope.objects.filter(programme=programme)}
    now = timezone.now()
    rows, kinds = [], []
    for i in range(count):
        establishment = establishments[i % len(establishments)]
        draw = rng.random()
        kind = ("in_progress" if draw < 0.70 else "under_review" if draw < 0.85 else "refused" if draw < 0.95
                else "closed")
        kinds.append(kind)
        slipped = kind in ("in_progress", "closed") and rng.random() < 0.3
        rows.append(Dossier(
            programme=programme, reference=f"{prefix}-{i:06d}", establishment_id=establishment.pk,
            region_id=establishment.region_id, status=kind, created_by=creator, transmitted_at=now,
            review_started_at=now, decided_at=None if kind == "under_review" else now,
            prerequisites_forecast_initial=INITIAL_PREREQUISITES,
            prerequisites_forecast=INITIAL_PREREQUISITES + datetime.timedelta(days=rng.randrange(30, 400))
            if slipped else INITIAL_PREREQUISITES,
            closed_at=now if kind == "closed" else None, closed_by=creator if kind == "closed" else None,
            closure_kind="abandonment" if kind == "closed" else "",
            closure_reason="Abandon (banc d'essai)" if kind == "closed" else "",
        ))
    rows = Dossier.objects.bulk_create(rows, batch_size=5000)
    DossierMember.objects.bulk_create(
        [DossierMember(dossier=d, establishment_id=d.establishment_id) for d in rows], batch_size=5000
    )
    domains = []
    for dossier, kind in zip(rows, kinds, strict=True):
        for code in rng.sample(DOMAINS, rng.randint(1, 4)):
            total = Decimal(rng.randrange(10, 60) * 1000)
            seed_amount = (total * Decimal("0.2")).quantize(Decimal("1"))
            if kind == "under_review":
                status = DomainStatus.PENDING
            elif kind == "refused":
                status = DomainStatus.REFUSED
            else:
                status = rng.choice([DomainStatus.SELECTED] * 5 + [
                    DomainStatus.TARGETS_REACHED, DomainStatus.USAGE_NOTIFIED, DomainStatus.PAID,
                ])
            usage = total - seed_amount if status in (DomainStatus.USAGE_NOTIFIED, DomainStatus.PAID) else None
            deadline = INITIAL_DEADLINE + datetime.timedelta(days=rng.randrange(30, 300)) if (
                status == DomainStatus.SELECTED and rng.random() < 0.2
            ) else INITIAL_DEADLINE
            domains.append(DossierDomain(
                dossier=dossier, domain_code=code, status=status, target_deadline_initial=INITIAL_DEADLINE,
                target_deadline=deadline, total_amount=total,
                seed_amount=0 if status in (DomainStatus.PENDING, DomainStatus.REFUSED) else seed_amount,
                usage_amount=usage, decided_at=None if status == DomainStatus.PENDING else now,
                decision_reason="Enveloppe consommée (banc d'essai)" if status == DomainStatus.REFUSED else "",
                refusal_kind="financial" if status == DomainStatus.REFUSED else "",
            ))
    domains = DossierDomain.objects.bulk_create(domains, batch_size=5000)

    region_of = {d.pk: d.region_id for d in rows}
    establishment_of = {d.pk: d.establishment_id for d in rows}
    movements = []
    for domain in domains:
        if domain.status in (DomainStatus.PENDING, DomainStatus.REFUSED):
            continue
        common = dict(
            envelope_id=envelopes[region_of[domain.dossier_id]].pk,
            establishment_id=establishment_of[domain.dossier_id], dossier_domain_id=domain.pk,
        )
        seed_amount, usage = domain.seed_amount, domain.total_amount - domain.seed_amount
        movements.append(Movement(kind=EntryKind.SEED_COMMITMENT, pot=Pot.SEED, amount=seed_amount, label="Amorçage",
                                  **common))
        movements.append(Movement(kind=EntryKind.SEED_PAYMENT, pot=Pot.SEED, amount=seed_amount, label="Versement",
                                  **common))
        if domain.status in (DomainStatus.USAGE_NOTIFIED, DomainStatus.PAID):
            movements.append(Movement(kind=EntryKind.USAGE_COMMITMENT, pot=Pot.USAGE, amount=usage, label="Usage",
                                      **common))
        if domain.status == DomainStatus.PAID:
            movements.append(Movement(kind=EntryKind.USAGE_PAYMENT, pot=Pot.USAGE, amount=usage, label="Versement",
                                      **common))
    # The seed credits of a region (20 % of its envelope) bound what can be committed: keep what fits.
    entries = append_many(fitting(movements, envelopes))
    return {"dossiers": len(rows), "domains": len(domains), "entries": len(entries), "dossier_rows": rows}


def fitting(movements, envelopes):
    """Drop the domains whose seed commitment would exceed the region's seed credits (the ledger refuses them)."""
    from envelopes.ledger import balances_of

    balances = balances_of([e.pk for e in envelopes.values()])
    room = {pk: b.seed_available for pk, b in balances.items()}
    refused, kept = set(), []
    for m in movements:
        if m.kind == "seed_commitment":
            if room[m.envelope_id] < m.amount:
                refused.add(m.dossier_domain_id)
                continue
            room[m.envelope_id] -= m.amount
        if m.dossier_domain_id not in refused:
            kept.append(m)
    return kept


# ----- AMI pre-candidatures (shared with bench/ami_export.py) -----------------------------------------------------


def pre_candidatures(establishments, rng: random.Random, *, programme) -> tuple[int, int]:
    """One filed pre-candidature per establishment with 2 to 4 domains (every field of the tab filled)."""
    from django.utils import timezone

    from ami.estimates import refresh_estimates
    from ami.models import Decision, FilingStatus, PreCandidature, PreCandidatureDomain

    filed_at = timezone.now().replace(year=2019, month=6, day=15)
    pres = PreCandidature.objects.bulk_create(
        [PreCandidature(
            establishment_id=e.pk, programme=programme, position="final", hn_prerequisites_reached=True,
            hopen_prerequisites_forecast="2020 S2", referent_name="Claire Martin", referent_function="DSI",
            referent_email="claire.martin@etablissement.test", referent_phone="03 20 00 00 00",
            legal_representative_name="Jean Dupont", legal_representative_function="Directeur", comment=TEXT,
            investment_amount=Decimal(rng.randrange(100_000, 3_000_000)), business_stakes=TEXT,
            status=FilingStatus.FILED, validated_at=filed_at, filed_at=filed_at,
        ) for e in establishments],
        batch_size=2000,
    )
    domains = []
    for pre in pres:
        for priority, code in enumerate(rng.sample(DOMAINS, rng.randint(2, 4)), start=1):
            domains.append(PreCandidatureDomain(
                pre_candidature=pre, domain_code=code, forecast_semester=rng.choice(AMI_SEMESTERS), priority=priority,
                planning=TEXT, decision=rng.choice([Decision.PENDING, Decision.PRESELECTED]),
            ))
    PreCandidatureDomain.objects.bulk_create(domains, batch_size=5000)
    refresh_estimates(pre_candidature_ids=[p.pk for p in pres])  # the annex-3 estimate stored with each line
    return len(pres), len(domains)


# ----- the whole build -------------------------------------------------------------------------------------------


def rebuild_attainment(out=print) -> bool:
    """The attainment state (indicators/state, issue 17 part 1) from the history, when the command exists."""
    from io import StringIO

    from django.core.management import call_command, get_commands

    if "rebuild_attainment" not in get_commands():
        out("  état d'atteinte : commande rebuild_attainment absente — les pages lisent l'historique")
        return False
    call_command("rebuild_attainment", stdout=StringIO())
    return True


def vacuum_analyze():
    """What autovacuum would have done on a live database, on the project's tables only: a database-wide VACUUM or
    ANALYZE also takes the shared catalogs (pg_authid…) and waits behind any other database's open ANALYZE. In a
    transaction (a test) ANALYZE only: VACUUM cannot run there."""
    from django.db import connection

    tables = ", ".join(f'"{name}"' for name in connection.introspection.table_names())
    with connection.cursor() as cursor:
        cursor.execute(f"{'ANALYZE' if connection.in_atomic_block else 'VACUUM (ANALYZE)'} {tables}")


def build(size: Size, *, seed: int = 2019, base: bool = True, out=print) -> dict:
    """Fill the (migrated, empty) database at `size`; returns the counts of what was created. `base=False`: the
    programmes, SAE establishments and envelopes are already there (a copy of the bench's template database)."""
    import time

    from django.db import connection, transaction

    from indicators.programmes import default_programme

    rng = random.Random(seed)
    started = time.perf_counter()
    if base:
        load_base(out)
    with transaction.atomic():
        establishments = pick_establishments(size.establishments)
        users = bench_users()
        programme = default_programme()
        step = time.perf_counter()
        counts = indicator_history(establishments, size.semesters, users["creator"], rng)
        out(f"  historique : {counts['values']:,} valeurs, {counts['documents']:,} pièces "
            f"({time.perf_counter() - step:.1f} s)")
        step = time.perf_counter()
        made = dossiers(establishments, size.dossiers, rng, programme=programme, creator=users["creator"])
        counts.update({k: v for k, v in made.items() if k != "dossier_rows"})
        counts["pre_candidatures"], counts["ami_lines"] = pre_candidatures(establishments, rng, programme=programme)
        out(f"  dossiers : {counts['dossiers']:,} ({counts['domains']:,} domaines, {counts['entries']:,} écritures), "
            f"AMI : {counts['ami_lines']:,} lignes ({time.perf_counter() - step:.1f} s)")
    counts["establishments"] = len(establishments)
    step = time.perf_counter()
    counts["attainment_state"] = rebuild_attainment(out)
    if counts["attainment_state"]:
        out(f"  état d'atteinte reconstruit ({time.perf_counter() - step:.1f} s)")
    vacuum_analyze()
    counts["seconds"] = time.perf_counter() - started
    return counts
