"""The SQL limit of each national page (issue 17): the page, the one hand-written statement of bench/sql/ that
computes every figure it shows, and the check that both give the same figures, field by field.

`LIMITS` is read by the national bench (bench/national_pages.py): it times each page through the test client and
its statement, interleaved, and calls `limit.check(response, rows)` once — a mismatch fails the run. The figures of
a page are read from the context the page rendered (`page_figures`: the page is requested again for the same user
with Django's template instrumentation, as the test client does under pytest), so that the statement is compared
with what the user sees, not with a second computation. Each statement returns one row holding one JSON object
whose keys are those of the page's figures (`*_figures` below).

Statement parameters (a dict from the bench's context: `programme_id`, `region_code`): `%(programme)s`, and
`%(region)s` for the dashboard (NULL: the nation).
"""

import datetime
import json
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Callable

SQL_DIR = Path(__file__).resolve().parent / "sql"
# A page figure the statement cannot know (it does not come from the database): left out of the comparison.
NOT_COMPARED = "<non comparé>"
KIND_FIELDS = ("seed_committed", "seed_paid", "usage_committed", "usage_paid", "refunds_claimed", "refunds_received")


# --- Reading the page's figures --------------------------------------------------------------------------------


@contextmanager
def _instrumented_templates():
    """The contexts of the templates rendered meanwhile (what `response.context` holds under the test runner)."""
    from django.template import Template
    from django.test.signals import template_rendered
    from django.test.utils import instrumented_test_render

    contexts = []

    def store(signal, sender, template, context, **kwargs):
        contexts.append(context)

    original = Template._render
    Template._render = instrumented_test_render
    template_rendered.connect(store, dispatch_uid="bench-limits")
    try:
        yield contexts
    finally:
        template_rendered.disconnect(dispatch_uid="bench-limits")
        Template._render = original


def page_context(user, url: str) -> dict:
    """The context of the page `url` rendered for `user` (its outermost template's)."""
    from django.test import Client

    client = Client(headers={"host": "localhost"})
    client.force_login(user)
    with _instrumented_templates() as contexts:
        response = client.get(url)
    if response.status_code != 200 or not contexts:
        raise AssertionError(f"{url} a répondu {response.status_code} sans gabarit rendu")
    return contexts[0].flatten()


def _money(row) -> dict:
    return {name: getattr(row, name) for name in KIND_FIELDS}


def _utc(moment: datetime.datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


def dashboard_figures(context: dict) -> dict:
    """Every figure of /pilotage/ (nation) and /pilotage/<region>/ (funding.dashboard.selectors.Dashboard)."""
    data = context["data"]
    balances = data.balances
    return {
        "has_envelope": data.has_envelope,
        "balances": {name: getattr(balances, name) for name in balances.__dataclass_fields__},
        "regions": {
            row.region.code: {
                "total": row.balances.total, "committed": row.balances.committed, "paid": row.balances.paid,
                "available": row.balances.available, "selected_dossiers": row.selected_dossiers,
                "selected_establishments": row.selected_establishments,
                "slipped_prerequisites": row.slipped_prerequisites, "slipped_targets": row.slipped_targets,
            }
            for row in data.regions
        },
        "sectors": {row.key: {**_money(row), "establishments": row.establishments} for row in data.sectors},
        "activities": {row.key: {**_money(row), "establishments": row.establishments} for row in data.activities},
        "establishment_count": data.establishment_count,
        "establishments": [
            [int(row.key), row.seed_committed, row.seed_paid, row.usage_committed, row.usage_paid, row.refunds_received]
            for row in data.establishments
        ],
        "selected_dossiers": data.selected_dossiers,
        "selected_establishments": data.selected_establishments,
        "domains": {
            d.code: {
                "selected": d.selected, "seed_amount": d.seed_amount, "total_amount": d.total_amount,
                "targets_recorded": d.targets_recorded, "targets_reached": d.targets_reached,
            }
            for d in data.domains
        },
        "attainment": {
            "available": data.attainment.available, "establishments": data.attainment.establishments,
            "prerequisites_reached": data.attainment.prerequisites_reached,
        },
        "selected_page": [
            [
                dossier.reference, dossier.prerequisites_reached,
                [[d.domain_code, d.targets_reached, d.money.committed, d.money.paid] for d in dossier.selected_list],
            ]
            for dossier in data.selected_page.object_list
        ],
        "slipped_prerequisites_count": data.slipped_prerequisites_count,
        "slipped_prerequisites": [[d.reference, d.slip.days] for d in data.slipped_prerequisites],
        "slipped_targets_count": data.slipped_targets_count,
        "slipped_targets": [[d.reference, d.domain_code, d.slip.days] for d in data.slipped_targets],
    }


def completeness_figures(context: dict) -> dict:
    """The totals and the first page of /indicateurs/completude/."""
    totals = dict(context["totals"])
    totals["latest_declaration"] = _utc(totals["latest_declaration"])
    return {
        "totals": totals,
        "page": [
            [e.finess, e.declared_count, e.draft_count, e.missing_documents_count, _utc(e.last_declared_at)]
            for e in context["page"].object_list
        ],
    }


def attainment_table_figures(context: dict) -> dict:
    """How many establishments the attainment table lists, and its first page's badges."""
    return {
        "count": context["page"].paginator.count,
        "page": [
            [row.establishment.finess, row.prerequisites.value, {group.code: badge.code for group, badge in row.groups}]
            for row in context["rows"]
        ],
    }


def _estimates(totals) -> dict:
    return {
        "total": totals.total,
        "unknown": totals.unknown,
        "counts": dict(totals.counts),
        "by_domain_year": {f"{domain} {year}": amount for (domain, year), amount in totals.by_domain_year.items()},
    }


def ami_figures(context: dict) -> dict:
    """The AMI national list: pre-candidatures, first page, estimates, balance and envelope."""
    balance = context["balance"]
    envelope = context["envelope"]
    return {
        "count": context["page"].paginator.count,
        "page": [
            [row["pre_candidature"].pk, [[domain.domain_code, amount] for domain, amount in row["domains"]]]
            for row in context["rows"]
        ],
        "totals": _estimates(context["totals"]),
        "preselected": _estimates(context["preselected_totals"]),
        "balance": {
            "establishments": balance["establishments"],
            "amount": balance["amount"],
            "statuses": {r.key: [r.establishments, r.domains, r.amount] for r in balance["statuses"]},
            "activities": {r.key: [r.establishments, r.domains, r.amount] for r in balance["activities"]},
        },
        # The ledger's envelope once opened; before, the programme's table (a file, not the database): not compared.
        "envelope": envelope.amount if envelope.seed_committed is not None else NOT_COMPARED,
    }


# --- Comparing -------------------------------------------------------------------------------------------------


def _scalar(value):
    """One comparable form for both sides: numbers (Decimal, int, float, numeric text) as normalised Decimals."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, (int, float, Decimal)):
        return Decimal(str(value)).normalize()
    if isinstance(value, str):
        try:
            return Decimal(value).normalize()
        except InvalidOperation:
            return value
    return str(value)


def _flatten(value, path="", out=None) -> dict:
    out = {} if out is None else out
    if isinstance(value, dict):
        out[f"{path}#keys"] = tuple(sorted(str(k) for k in value))
        for key, item in value.items():
            _flatten(item, f"{path}.{key}", out)
    elif isinstance(value, (list, tuple)):
        out[f"{path}#len"] = len(value)
        for index, item in enumerate(value):
            _flatten(item, f"{path}[{index}]", out)
    else:
        out[path] = _scalar(value)
    return out


def compare(sql_figures: dict, page_figures: dict) -> list[str]:
    """The fields where the statement and the page differ, one line each (« path: sql=… page=… »)."""
    sql, page = _flatten(sql_figures), _flatten(page_figures)
    return [
        f"{path}: sql={sql.get(path, '<absent>')} page={page.get(path, '<absent>')}"
        for path in sorted(set(sql) | set(page))
        if sql.get(path, "<absent>") != page.get(path, "<absent>") and page.get(path) != NOT_COMPARED
    ]


def sql_figures(rows) -> dict:
    """The statement's JSON object (one row, one column)."""
    if len(rows) != 1 or len(rows[0]) != 1:
        raise AssertionError(f"la requête limite doit rendre une ligne d'une colonne, pas {rows!r:.200}")
    value = rows[0][0]
    return json.loads(value) if isinstance(value, str) else value


# --- The limits ------------------------------------------------------------------------------------------------


def _params(ctx: dict) -> dict:
    return {"programme": ctx["programme_id"], "region": ctx.get("region_code")}


@dataclass(frozen=True)
class Limit:
    """A page (`url`, read by `role`: « dgos » or « ars-<region> »), its statement (`sql_file` in bench/sql/) and
    its parameters (`params(ctx)`), and how to read the page's figures from its context (`figures`)."""

    name: str
    url: str
    sql_file: str
    figures: Callable[[dict], dict]
    role: str = "dgos"
    params: Callable[[dict], dict] = field(default=_params)
    cached: bool = False  # the page also serves its figures from `hopen.figure_cache`: measured both ways

    def sql(self) -> str:
        return (SQL_DIR / self.sql_file).read_text(encoding="utf-8")

    def page_figures(self, user) -> dict:
        return self.figures(page_context(user, self.url))

    def check(self, first, second) -> list[str]:
        """Mismatches between the statement's rows and the page. Either order: (response, rows) as the bench
        calls it — the page is read again for the response's user — or (rows, page figures)."""
        rows, page = (second, first) if hasattr(first, "status_code") or isinstance(first, dict) else (first, second)
        if hasattr(page, "status_code"):
            page = self.page_figures(page.wsgi_request.user)
        return compare(sql_figures(rows), page)


LIMITS = [
    Limit("dgos_dashboard", "/pilotage/", "dashboard.sql", dashboard_figures, cached=True),
    Limit("ars_dashboard", "/pilotage/84/", "dashboard.sql", dashboard_figures, role="ars-84", cached=True),
    Limit("completeness", "/indicateurs/completude/", "completeness.sql", completeness_figures),
    Limit(
        "attainment_table_prerequisites", "/indicateurs/etablissements/?prerequisites=oui",
        "attainment_table_prerequisites.sql", attainment_table_figures,
    ),
    Limit("ami_national_list", "/ami/region/", "ami_national_list.sql", ami_figures, cached=True),
]


def limits() -> list[Limit]:
    return list(LIMITS)
