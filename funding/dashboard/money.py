"""Money of the funding dashboard (annex 4 §3): the amounts committed and paid from the ledger, and their
distribution by status (public, private, ESPIC), by activity (MCO, SSR, PSY, HAD — an establishment with several
activities counts in each) and by beneficiary, as SQL aggregates: the work does not grow with the number of
beneficiaries or entries on the Python side (no loop over them). The distribution reads the ledger's sums kept per
envelope, beneficiary and sector on every insert (`envelopes.models.BeneficiaryMoney`), not the entries."""

from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection
from django.db.models import Case, CharField, DecimalField, F, Q, Sum, Value, When

from envelopes.models import MONEY_COLUMNS, BeneficiaryMoney, Sector
from hopen.models import Activity
from hopen.sectors import ESPIC, PRIVATE, PUBLIC, sector_of, sector_q

SECTOR_LABELS = dict(Sector.choices)  # « Public », « Privé », « ESPIC »

ZERO = Decimal("0.00")
MONEY_ZERO = Value(ZERO, output_field=DecimalField(max_digits=14, decimal_places=2))
ACTIVITY_FLAGS = (
    (Activity.MCO, "has_mco"), (Activity.SSR, "has_ssr"), (Activity.PSY, "has_psy"), (Activity.HAD, "has_had"),
)

@dataclass
class MoneyRow:
    """Committed and paid amounts of one group (an establishment, a status, an activity, a region), in euros."""

    key: str
    label: str
    seed_committed: Decimal = ZERO
    seed_paid: Decimal = ZERO
    usage_committed: Decimal = ZERO
    usage_paid: Decimal = ZERO
    refunds_claimed: Decimal = ZERO
    refunds_received: Decimal = ZERO
    establishments: int = 0
    detail: dict = field(default_factory=dict)

    @property
    def committed(self) -> Decimal:
        return self.seed_committed + self.usage_committed

    @property
    def paid(self) -> Decimal:
        return self.seed_paid + self.usage_paid

    def __getitem__(self, name):
        # Django's template engine tries `row[name]` before `row.name`: answering it spares an exception per
        # printed amount (the table of the largest beneficiaries prints hundreds).
        return getattr(self, name)


def _entry_sector():
    """The sector written on the entry at the time of the movement (004 quotas), else the establishment's
    (`hopen.sectors.sector_q`, the rule of `sector_of` in SQL, which the ledger's writers use)."""
    return Case(
        When(~Q(sector=""), then=F("sector")),
        When(sector_q(PUBLIC, "establishment__"), then=Value(PUBLIC)),
        When(sector_q(ESPIC, "establishment__"), then=Value(ESPIC)),
        default=Value(PRIVATE),
        output_field=CharField(),
    )


def _fill(row: MoneyRow, values: dict) -> MoneyRow:
    for name in MONEY_COLUMNS.values():
        setattr(row, name, values[name])
    return row


# One statement for the three distributions (issue 17: three ORM aggregates over the same entries cost twice their
# SQL in query building, and grouping the largest beneficiaries by every column of the establishment sorted the
# whole ledger on disk; the largest are chosen before their details are read). `money` is the ORM's: the sums kept
# for the envelopes, per beneficiary and sector of the entry (`_entry_sector`, the one sector rule); a beneficiary
# counts once per sector and once per activity.
DISTRIBUTION_SQL = """
WITH money AS MATERIALIZED ({money}),
beneficiaries AS (
    SELECT m.establishment_id, {beneficiary_sums}
      FROM money m GROUP BY m.establishment_id
)
SELECT 'sector', m.sector_group, count(*), {money_sums}, NULL::json FROM money m GROUP BY m.sector_group
UNION ALL
SELECT 'activity', a.activity, count(*), {activity_sums}, NULL
  FROM beneficiaries b JOIN hopen_establishment e ON e.id = b.establishment_id
 CROSS JOIN LATERAL (VALUES {activity_flags}) a(activity, present)
 WHERE a.present GROUP BY a.activity
UNION ALL
SELECT 'beneficiaries', '', count(*), {no_sums}, NULL FROM beneficiaries
UNION ALL
(SELECT 'largest', b.establishment_id::text, 0, {largest_sums},
        json_build_object('name', e.name, 'finess', e.finess, 'status', e.status, 'is_espic', e.is_espic,
                          'activities', json_build_array({largest_flags}), 'region', r.name,
                          'ght', coalesce(g.code, ''))
   FROM (SELECT b.*, e.name FROM beneficiaries b JOIN hopen_establishment e ON e.id = b.establishment_id
          ORDER BY b.seed_committed + b.usage_committed DESC, b.seed_paid + b.usage_paid DESC, e.name,
                   b.establishment_id
          LIMIT %s) b
   JOIN hopen_establishment e ON e.id = b.establishment_id
   JOIN hopen_region r ON r.id = e.region_id LEFT JOIN hopen_ght g ON g.id = e.ght_id
  ORDER BY b.seed_committed + b.usage_committed DESC, b.seed_paid + b.usage_paid DESC, b.name, b.establishment_id)
"""


def _distribution_sql(money_sql: str) -> str:
    names = list(MONEY_COLUMNS.values())
    return DISTRIBUTION_SQL.format(
        money=money_sql,
        beneficiary_sums=", ".join(f"sum(m.{name}) AS {name}" for name in names),
        money_sums=", ".join(f"sum(m.{name})" for name in names),
        activity_sums=", ".join(f"sum(b.{name})" for name in names),
        no_sums=", ".join("NULL::numeric" for _ in names),
        largest_sums=", ".join(f"b.{name}" for name in names),
        activity_flags=", ".join(f"('{activity.value}', e.{flag})" for activity, flag in ACTIVITY_FLAGS),
        largest_flags=", ".join(
            f"CASE WHEN e.{flag} THEN '{activity.value}' END" for activity, flag in ACTIVITY_FLAGS
        ),
    )


def distribution(envelope_ids, limit: int):
    """Ledger sums by status group, by activity and by beneficiary (annex 4 §3), in one statement: by sector; by
    activity (with the number of beneficiaries); the `limit` largest beneficiaries. Returns (sectors, activities,
    largest beneficiaries, number of beneficiaries)."""
    if not envelope_ids:
        return _money_rows(Sector.choices, {}), _money_rows(_activity_choices(), {}), [], 0
    money = (
        BeneficiaryMoney.objects.filter(envelope_id__in=envelope_ids)
        .values("establishment_id", sector_group=_entry_sector())
        .annotate(**{name: Sum(name) for name in MONEY_COLUMNS.values()})
        .order_by()
    )
    money_sql, money_params = money.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(_distribution_sql(money_sql), (*money_params, limit))
        rows = cursor.fetchall()
    names = list(MONEY_COLUMNS.values())
    parts = {"sector": {}, "activity": {}, "largest": []}
    beneficiaries = 0
    for part, key, count, *values in rows:
        detail = values.pop()
        if part == "beneficiaries":
            beneficiaries = count
            continue
        row = dict(zip(names, values, strict=True), key=key, count=count, detail=detail)
        if part == "largest":
            parts["largest"].append(row)
        else:
            parts[part][key] = row
    sectors = _money_rows(Sector.choices, parts["sector"])
    activities = _money_rows(_activity_choices(), parts["activity"])
    establishments = [
        _fill(MoneyRow(row["key"], row["detail"]["name"], detail=_detail(row["detail"])), row)
        for row in parts["largest"]
    ]
    return sectors, activities, establishments, beneficiaries


def _detail(establishment: dict) -> dict:
    """What the table prints of a beneficiary, its sector's label and activities written once here."""
    sector = sector_of(establishment["status"], establishment["is_espic"])
    activities = [code for code in establishment["activities"] if code]
    return {
        "finess": establishment["finess"], "region": establishment["region"], "ght": establishment["ght"],
        "sector": sector, "sector_label": SECTOR_LABELS[sector], "activities": activities,
        "activities_text": ", ".join(activities),
    }


def _activity_choices():
    return [(activity.value, activity.label) for activity, _ in ACTIVITY_FLAGS]


def _money_rows(choices, sums: dict) -> list[MoneyRow]:
    """One row per group of `choices`, in their order, zero for a group without money."""
    rows = []
    for key, label in choices:
        row = MoneyRow(key, label)
        if key in sums:
            _fill(row, sums[key]).establishments = sums[key]["count"]
        rows.append(row)
    return rows
