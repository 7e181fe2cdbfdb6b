"""The one writer of the attainment state (`indicators.state.models`), and its rebuild from the history.

`refresh_attainment` recomputes the state of some establishments (or of all) for some programmes (or all) from the
value history, in the caller's transaction, with a constant number of queries whatever their number: lock (1),
catalogues in force (2), latest declared values with their live documents (1), last declarations (1), then delete
(3) and insert (3). The rules are the pure ones: `indicators.attainment` (annex 1: a rate reaches its threshold, an existence target
exists; a group, the prerequisites) and `indicators.prerequisites` (§5.3.1: « la valeur des indicateurs et la
totalité des pièces justificatives »).

Who calls it, inside the write's transaction: `indicators.services.value_declare` (a declaration, a declared
correction superseding its version), `indicators.evidence.evidence_record_scan` (an infected verdict takes a
document out of the count) and `indicators.loading.load_catalogue` (a catalogue or a threshold loaded or changed:
the whole programme). Drafts, their documents (upload and deletion are refused on a declared value) and bulk files
(written as drafts) change nothing here: a draft's documents enter the state with its declaration.

`rebuild_attainment` computes the whole state from the history (the same `DISTINCT ON` read over every value) and
replaces it, or only compares it (`check=True`) — the `rebuild_attainment` command.
"""

from collections import defaultdict
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Count, IntegerField, Max, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce

from hopen.audit import audit_record_many

from ..attainment import Attainment, group_attainment, prerequisites_attainment, value_attainment
from ..models import Evidence, GroupKind, Indicator, IndicatorGroup, IndicatorValue, Programme, ScanStatus, ValueStatus
from ..prerequisites import IndicatorState, prerequisites_met
from .models import CurrentValue, EstablishmentState, GroupState

# The fields compared by the rebuild's check (and copied from the value into `CurrentValue`).
CURRENT_FIELDS = (
    "programme_id", "establishment_id", "indicator_id", "value_id", "measured_on", "kind", "numerator",
    "denominator", "exists", "attainment", "document_count", "declared_at",
)
GROUP_FIELDS = ("programme_id", "establishment_id", "group_id", "attainment", "declared_count", "reached_count")
ESTABLISHMENT_FIELDS = (
    "programme_id", "establishment_id", "prerequisites", "prerequisites_met", "declared_count", "reached_count",
    "documented_count", "groups_reached", "last_declared_at",
)
REBUILD_BATCH = 5000


def live_document_count():
    """Justificatory documents of a value that count (§5.3.1): not deleted, not found infected."""
    documents = (
        Evidence.objects.filter(value=OuterRef("pk"), deleted_at__isnull=True)
        .exclude(scan_status=ScanStatus.INFECTED)
        .order_by()
        .values("value")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(documents, output_field=IntegerField()), Value(0))


@dataclass
class StateRows:
    """The state of a scope, as unsaved model instances."""

    current: list
    groups: list
    establishments: list


def _catalogues(programme_ids):
    """The indicators and groups of the catalogues in force (2 queries)."""
    indicators = Indicator.objects.filter(catalogue__is_current=True)
    groups = IndicatorGroup.objects.filter(catalogue__is_current=True)
    if programme_ids is not None:
        indicators = indicators.filter(catalogue__programme_id__in=programme_ids)
        groups = groups.filter(catalogue__programme_id__in=programme_ids)
    indicators = list(
        indicators.order_by("pk").values_list(
            "pk", "code", "target_kind", "target_threshold", "group_id", "group__kind", "catalogue__programme_id",
            named=True,
        )
    )
    groups = list(groups.order_by("pk").values_list("pk", "kind", "catalogue__programme_id", named=True))
    return indicators, groups


def _latest_declared(establishment_ids, indicator_ids):
    """The latest declared value (greatest date of measurement) of each (establishment, indicator), with its live
    document count — one `DISTINCT ON` query over the history."""
    if not indicator_ids:
        return []
    values = IndicatorValue.objects.filter(indicator_id__in=indicator_ids, status=ValueStatus.DECLARED)
    if establishment_ids is not None:
        values = values.filter(establishment_id__in=establishment_ids)
    return list(
        values.annotate(document_count=live_document_count())
        .order_by("establishment_id", "indicator_id", "-measured_on")
        .distinct("establishment_id", "indicator_id")
        .values_list(
            "pk", "establishment_id", "indicator_id", "measured_on", "kind", "numerator", "denominator", "exists",
            "document_count", "declared_at", named=True,
        )
    )


def _last_declarations(establishment_ids, indicator_ids) -> dict:
    """{(programme id, establishment id): the last declaration} over every declared value (not superseded) of the
    catalogues in force, whatever its date of measurement — one query."""
    if not indicator_ids:
        return {}
    values = IndicatorValue.objects.filter(indicator_id__in=indicator_ids, status=ValueStatus.DECLARED)
    if establishment_ids is not None:
        values = values.filter(establishment_id__in=establishment_ids)
    rows = (
        values.order_by()
        .values_list("indicator__catalogue__programme_id", "establishment_id")
        .annotate(last=Max("declared_at"))
    )
    return {(programme_id, establishment_id): last for programme_id, establishment_id, last in rows}


def compute_state(indicators, groups, values, last_declarations=None) -> StateRows:
    """The state rows from the catalogues in force (`indicators`, `groups`), the latest declared `values` and the
    last declaration of each (programme, establishment) (`last_declarations`; by default the latest of `values`) — no
    query. Annex 1 for each value's attainment, `group_attainment` per group, `prerequisites_attainment` and §5.3.1
    (`prerequisites_met`: values and documents) for the prerequisites."""
    indicator_of = {i.pk: i for i in indicators}
    indicators_of_group = defaultdict(list)
    for indicator in indicators:
        indicators_of_group[indicator.group_id].append(indicator)
    groups_of_programme = defaultdict(list)
    for group in groups:
        groups_of_programme[group.catalogue__programme_id].append(group)
    prerequisites_of_programme = defaultdict(list)
    for indicator in indicators:
        if indicator.group__kind == GroupKind.PREREQUISITE:
            prerequisites_of_programme[indicator.catalogue__programme_id].append(indicator)

    current, by_scope = [], defaultdict(dict)
    for value in values:
        indicator = indicator_of[value.indicator_id]
        attainment = value_attainment(
            target_kind=indicator.target_kind, threshold=indicator.target_threshold, value_kind=value.kind,
            numerator=value.numerator, denominator=value.denominator, exists=value.exists,
        )
        row = CurrentValue(
            programme_id=indicator.catalogue__programme_id, establishment_id=value.establishment_id,
            indicator_id=value.indicator_id, value_id=value.pk, measured_on=value.measured_on, kind=value.kind,
            numerator=value.numerator, denominator=value.denominator, exists=value.exists,
            attainment=attainment.value, document_count=value.document_count, declared_at=value.declared_at,
        )
        current.append(row)
        by_scope[(row.programme_id, row.establishment_id)][row.indicator_id] = row

    group_rows, establishment_rows = [], []
    for (programme_id, establishment_id), rows in sorted(by_scope.items()):
        def attainment_of(indicator):
            row = rows.get(indicator.pk)
            return Attainment(row.attainment) if row is not None else Attainment.MISSING

        groups_reached = 0
        for group in groups_of_programme[programme_id]:
            members = indicators_of_group[group.pk]
            attainment = group_attainment(attainment_of(i) for i in members)
            groups_reached += attainment == Attainment.REACHED
            group_rows.append(GroupState(
                programme_id=programme_id, establishment_id=establishment_id, group_id=group.pk,
                attainment=attainment.value, declared_count=sum(1 for i in members if i.pk in rows),
                reached_count=sum(1 for i in members if attainment_of(i) == Attainment.REACHED),
            ))
        prerequisites = prerequisites_of_programme[programme_id]
        states = [
            IndicatorState(i.code, attainment_of(i), rows[i.pk].document_count if i.pk in rows else 0)
            for i in prerequisites
        ]
        establishment_rows.append(EstablishmentState(
            programme_id=programme_id, establishment_id=establishment_id,
            prerequisites=prerequisites_attainment(s.attainment for s in states).value,
            prerequisites_met=bool(prerequisites) and prerequisites_met(states),
            declared_count=len(rows),
            reached_count=sum(1 for r in rows.values() if r.attainment == Attainment.REACHED.value),
            documented_count=sum(1 for r in rows.values() if r.document_count > 0),
            groups_reached=groups_reached,
            last_declared_at=(last_declarations or {}).get(
                (programme_id, establishment_id), max(r.declared_at for r in rows.values())
            ),
        ))
    return StateRows(current, group_rows, establishment_rows)


def _ids(items):
    return None if items is None else sorted({int(pk) for pk in items})


# The advisory locks of the state: this class in the high 32 bits of the key, the establishment's id in the low ones
# (0: the whole state).
STATE_LOCK = 17_001 << 32


def _lock(establishment_ids):
    """Serialise the refreshes of an establishment, so that the second one reads the history after the first one
    committed: a transaction-level advisory lock per establishment, taken in id order (no deadlock between
    refreshes), under the whole state's lock taken shared (a whole-state refresh takes it alone, exclusive: one lock
    whatever the number of establishments). Not a row lock on the establishment: the dossier services lock those rows
    before the audit trail's lock, a declaration refreshes after writing its record — the two orders would deadlock."""
    with connection.cursor() as cursor:
        if establishment_ids is None:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [STATE_LOCK])
        else:
            cursor.execute(
                "SELECT pg_advisory_xact_lock_shared(%s), count(pg_advisory_xact_lock(%s + ids.id)) "
                "FROM (SELECT unnest(%s::bigint[]) AS id ORDER BY 1) ids",
                [STATE_LOCK, STATE_LOCK, list(establishment_ids)],
            )


def _scoped(model, establishment_ids, programme_ids):
    rows = model.objects.all()
    if establishment_ids is not None:
        rows = rows.filter(establishment_id__in=establishment_ids)
    if programme_ids is not None:
        rows = rows.filter(programme_id__in=programme_ids)
    return rows


def state_of(*, establishment_ids=None, programme_ids=None) -> StateRows:
    """The state the history gives for a scope (establishments, programmes; None: all) — 4 queries."""
    indicators, groups = _catalogues(programme_ids)
    indicator_ids = [i.pk for i in indicators]
    values = _latest_declared(establishment_ids, indicator_ids)
    return compute_state(indicators, groups, values, _last_declarations(establishment_ids, indicator_ids))


def _replace(rows: StateRows, establishment_ids, programme_ids, batch_size=None):
    for model in (CurrentValue, GroupState, EstablishmentState):
        _scoped(model, establishment_ids, programme_ids).delete()
    CurrentValue.objects.bulk_create(rows.current, batch_size=batch_size)
    GroupState.objects.bulk_create(rows.groups, batch_size=batch_size)
    EstablishmentState.objects.bulk_create(rows.establishments, batch_size=batch_size)


def refresh_attainment(*, establishment_ids, programme_ids=None) -> None:
    """Recompute the attainment state of `establishment_ids` (None: every establishment, for a catalogue change) on
    `programme_ids` (None: every programme) from the value history, in the caller's transaction — 11 queries at most,
    whatever the number of establishments and values."""
    establishment_ids, programme_ids = _ids(establishment_ids), _ids(programme_ids)
    if establishment_ids == [] or programme_ids == []:
        return
    with transaction.atomic(savepoint=False):
        _lock(establishment_ids)
        rows = state_of(establishment_ids=establishment_ids, programme_ids=programme_ids)
        _replace(rows, establishment_ids, programme_ids)


def _keyed(rows, fields, key):
    return {tuple(getattr(r, f) for f in key): tuple(getattr(r, f) for f in fields) for r in rows}


def state_differences(expected: StateRows, *, programme_ids=None) -> list[str]:
    """The differences between the stored state (of `programme_ids`, None: all) and `expected`, one line each."""
    differences = []
    for label, model, fields, key, rows in (
        ("valeur en vigueur", CurrentValue, CURRENT_FIELDS, ("establishment_id", "indicator_id"), expected.current),
        ("groupe", GroupState, GROUP_FIELDS, ("establishment_id", "group_id"), expected.groups),
        ("établissement", EstablishmentState, ESTABLISHMENT_FIELDS, ("programme_id", "establishment_id"),
         expected.establishments),
    ):
        stored = _keyed(_scoped(model, None, programme_ids).iterator(chunk_size=REBUILD_BATCH), fields, key)
        wanted = _keyed(rows, fields, key)
        for k in sorted(set(stored) | set(wanted)):
            if stored.get(k) != wanted.get(k):
                differences.append(f"{label} {k} : enregistré {stored.get(k)} ≠ historique {wanted.get(k)}")
    return differences


def rebuild_attainment(*, programme_ids=None, check=False) -> list[str]:
    """Compute the state of `programme_ids` (None: every programme) from the whole history; compare it with the
    stored state and, unless `check`, replace the stored state by it (audited per programme, a system write).
    Returns the differences found (before any replacement): none when every write kept the state."""
    programme_ids = _ids(programme_ids)
    with transaction.atomic():
        if not check:
            _lock(None)
        rows = state_of(programme_ids=programme_ids)
        differences = state_differences(rows, programme_ids=programme_ids)
        if not check and differences:
            _replace(rows, None, programme_ids, batch_size=REBUILD_BATCH)
            programmes = Programme.objects.order_by("pk")
            if programme_ids is not None:
                programmes = programmes.filter(pk__in=programme_ids)
            audit_record_many(
                actor=None, action="attainment_state.rebuild",
                entries=[(programme, {"differences": [len(differences), 0]}) for programme in programmes],
            )
    return differences
