"""The annex-3 estimate stored on each pre-candidature domain line (`PreCandidatureDomain.estimated_amount`).

The estimated amount of a line (`programming.estimated_amount`: the standard flat amount of its domain for the
establishment's combined activity, on its programme's grid) was computed again for every line on every AMI list,
programming page and export — 9,000 lines nationally. It depends on three inputs only, so it is stored and kept:

- the line itself: the AMI services (`ami.services.pre_candidature_save`) refresh it when they write the lines;
- the establishment's combined activity: `funding.services` (computation from the SAE figures, administrator's
  override) refresh the lines of the establishments whose figure changed;
- the programme's amount grid: `funding.loading.load_amount_grid` refreshes every line of the programme.

`refresh_estimates` is set-based: whatever the number of lines, one SELECT of the lines, two per programme for its
grid, one UPDATE of the lines whose amount changed. Readers read the field; None = no combined activity (or no grid).
"""

from decimal import Decimal

from django.db import connection
from django.db.models import Q

from funding.selectors import amount_grid
from indicators.models import Programme

from . import programming
from .models import PreCandidatureDomain

LINE_FIELDS = (
    "pk", "domain_code", "pre_candidature__programme_id", "estimated_amount",
    "pre_candidature__establishment__combined_activity__computed",
    "pre_candidature__establishment__combined_activity__override",
)


def changed_estimates(rows, grids: dict) -> list[tuple[int, Decimal | None]]:
    """Pure: (line id, new amount) for the `rows` (LINE_FIELDS tuples) whose stored amount differs from the
    computed one. `grids`: {programme id: AmountGrid}."""
    changed = []
    for pk, domain, programme_id, stored, computed, override in rows:
        activity = override if override is not None else computed
        amount = programming.estimated_amount(activity, domain, grids[programme_id])
        if amount != stored:
            changed.append((pk, amount))
    return changed


def refresh_estimates(*, establishment_ids=None, programme_ids=None, pre_candidature_ids=None) -> int:
    """Recompute the stored estimate of the lines of these establishments / programmes / pre-candidatures (the
    lines matching every given argument; none given: every line). Returns the number of lines changed. Called
    inside the caller's transaction (the write that changed an input)."""
    condition = Q()
    if establishment_ids is not None:
        condition &= Q(pre_candidature__establishment_id__in=list(establishment_ids))
    if programme_ids is not None:
        condition &= Q(pre_candidature__programme_id__in=list(programme_ids))
    if pre_candidature_ids is not None:
        condition &= Q(pre_candidature_id__in=list(pre_candidature_ids))
    rows = list(PreCandidatureDomain.objects.filter(condition).order_by().values_list(*LINE_FIELDS))
    if not rows:
        return 0
    grids = {
        programme.pk: amount_grid(programme)
        for programme in Programme.objects.filter(pk__in={row[2] for row in rows})
    }
    changed = changed_estimates(rows, grids)
    store_estimates(changed)
    return len(changed)


def store_estimates(changed: list[tuple[int, Decimal | None]], db=connection) -> None:
    """One UPDATE for every changed line (arrays of ids and amounts unnested), however many."""
    if not changed:
        return
    table = PreCandidatureDomain._meta.db_table
    with db.cursor() as cursor:
        cursor.execute(
            f'UPDATE "{table}" AS line SET estimated_amount = new.amount '
            "FROM unnest(%s::bigint[], %s::numeric[]) AS new(id, amount) WHERE line.id = new.id",
            [[pk for pk, _ in changed], [amount for _, amount in changed]],
        )
