"""The dashboard's lists (annex 4 §3): the establishments / GHT whose dossier was selected with their selected
domains (one page), and the dates that slipped at the project reviews (`funding.reviews.services`), largest slip
first.

The rows are plain values read with `values()` — the page only prints them — turned into small frozen records
whose dates and links are already written (« 30/06/2020 », the project reviews' address): a national page lists
hundreds of rows, and model instances, select_related chains and a template filter per date cost more than the
SQL that reads them. The figures stay the database's: money from the ledger, attainment from the attainment
state (`.attainment`).
"""

import datetime
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import quote

from django.core.paginator import Page, Paginator
from django.db.models import Count, DurationField, ExpressionWrapper, F, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils.http import RFC3986_SUBDELIMS

from envelopes.models import EntryKind, LedgerEntry
from funding.dossiers.models import (
    SELECTED_DOMAIN_STATUSES, Dossier, DossierDomain, DossierMember, DossierStatus, DomainStatus,
)
from hopen import formatting

from . import attainment
from .money import MONEY_ZERO, ZERO

SLIP_IGNORED_DOMAIN_STATUSES = (DomainStatus.PENDING, DomainStatus.REFUSED)
SLIPPED_LIMIT = 100
SELECTED_PAGE_SIZE = 50
DOSSIER_STATUS_LABELS = dict(DossierStatus.choices)
DOMAIN_STATUS_LABELS = {value: label.lower() for value, label in DomainStatus.choices}
COMMITMENTS = (EntryKind.SEED_COMMITMENT, EntryKind.USAGE_COMMITMENT)
PAYMENTS = (EntryKind.SEED_PAYMENT, EntryKind.USAGE_PAYMENT)
_REFERENCE_MARK = "REFERENCE0MARK"  # letters and digits only: `reverse` leaves it as it is


def _day(value: datetime.date | None) -> str:
    """« 30/06/2020 » (the `date:"d/m/Y"` of the templates), empty for no date."""
    return value.strftime("%d/%m/%Y") if value else ""


def _reviews_urls():
    """reference → the address of the dossier's project reviews (`funding:dossier_reviews`): `reverse` once, then
    the reference quoted as `reverse` quotes a path (a list of 200 rows would resolve the pattern 200 times)."""
    pattern = reverse("funding:dossier_reviews", args=[_REFERENCE_MARK])
    return lambda reference: pattern.replace(_REFERENCE_MARK, quote(str(reference), safe=RFC3986_SUBDELIMS + "/~:@"))


class _PrintedRow:
    """A row the template prints. Django's template engine tries `row[name]` before `row.name`: answering the first
    spares an exception per printed value, and a national page prints thousands of them."""

    __slots__ = ()

    def __getitem__(self, name):
        return getattr(self, name)


# --- Slipped dates ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SlippedDate(_PrintedRow):
    """A dossier's prerequisites forecast later than the one announced with the dossier, or one of its domains'
    target deadline later than the initial one (`domain_code` set)."""

    reference: str  # the dossier's
    reviews_url: str
    label: str  # « establishment — GHT code »
    region: str
    initial: str  # « 30/06/2020 »
    current: str
    slip: datetime.timedelta
    slip_text: str  # « 184 jours »
    domain_code: str = ""
    domain_status: str = ""  # « sélectionné », « cibles atteintes »…

    @classmethod
    def of(cls, url, reference, name, ght, region, initial, current, code="", status=""):
        slip = current - initial
        return cls(
            reference, url(reference), f"{name} — GHT {ght}" if ght else name, region, _day(initial), _day(current),
            slip, formatting.french_count(slip.days, "jour"), code, DOMAIN_STATUS_LABELS.get(status, status),
        )


def slipped_prerequisites(followed: Q) -> list[SlippedDate]:
    """The SLIPPED_LIMIT followed dossiers (`followed`: a Q on Dossier) whose prerequisites date slipped the most."""
    slip = ExpressionWrapper(
        F("prerequisites_forecast") - F("prerequisites_forecast_initial"), output_field=DurationField()
    )
    rows = (
        Dossier.objects.filter(followed, prerequisites_forecast__gt=F("prerequisites_forecast_initial"))
        .annotate(slip=slip)
        .order_by("-slip", "reference")
        .values_list(
            "reference", "establishment__name", "ght__code", "region__name", "prerequisites_forecast_initial",
            "prerequisites_forecast",
        )[:SLIPPED_LIMIT]
    )
    url = _reviews_urls()
    return [SlippedDate.of(url, *row) for row in rows]


def slipped_targets(followed: Q) -> list[SlippedDate]:
    """The SLIPPED_LIMIT domains (neither pending nor refused) of the followed dossiers (`followed`: a Q on
    DossierDomain, through `dossier__`) whose target deadline slipped the most."""
    slip = ExpressionWrapper(F("target_deadline") - F("target_deadline_initial"), output_field=DurationField())
    rows = (
        DossierDomain.objects.filter(followed, target_deadline__gt=F("target_deadline_initial"))
        .exclude(status__in=SLIP_IGNORED_DOMAIN_STATUSES)
        .annotate(slip=slip)
        .order_by("-slip", "dossier__reference", "domain_code")
        .values_list(
            "dossier__reference", "dossier__establishment__name", "dossier__ght__code", "dossier__region__name",
            "target_deadline_initial", "target_deadline", "domain_code", "status",
        )[:SLIPPED_LIMIT]
    )
    url = _reviews_urls()
    return [SlippedDate.of(url, *row) for row in rows]


# --- Selected dossiers ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DomainMoney(_PrintedRow):
    """The ledger's committed and paid amounts of one selected domain (seed + usage)."""

    committed: Decimal = ZERO
    paid: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class SelectedDomain(_PrintedRow):
    domain_code: str
    status: str  # « sélectionné », « cibles atteintes »…
    targets_reached: bool | None  # None without catalogue in force
    deadline_text: str  # « échéance 31/12/2023 (initiale 30/06/2023) »
    money: DomainMoney
    money_text: str  # « engagé 100 000,00 € — versé 20 000,00 € »


@dataclass(frozen=True, slots=True)
class SelectedDossier(_PrintedRow):
    reference: str
    reviews_url: str
    status: str  # « Sélectionné — projet en cours »…
    establishment: str
    detail: str  # « FINESS — GHT code (n établissements) — region » (the region on the national page only)
    prerequisites_reached: bool | None  # None without catalogue in force
    prerequisites_forecast: str  # « 30/06/2020 », empty without a date
    selected_list: list


def _sum_of(kinds) -> Coalesce:
    """SUM of the ledger's movements of `kinds` on the domain (a correlated subquery: one probe of the ledger's
    dossier_domain index per domain of the page)."""
    entries = (
        LedgerEntry.objects.filter(dossier_domain_id=OuterRef("pk"), kind__in=kinds)
        .order_by()
        .values("dossier_domain_id")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    return Coalesce(Subquery(entries), MONEY_ZERO)


def _selected_domains(dossier_ids, group_ids) -> dict[int, list[SelectedDomain]]:
    """{dossier id: its selected domains by code, with their money and targets} — one query."""
    domains = DossierDomain.objects.filter(dossier_id__in=dossier_ids, status__in=SELECTED_DOMAIN_STATUSES)
    fields = ["dossier_id", "domain_code", "status", "target_deadline", "target_deadline_initial", "committed", "paid"]
    if group_ids is not None:
        domains = attainment.domain_targets_reached(domains, group_ids).annotate(targets_reached=F("targets_ok"))
        fields.append("targets_reached")
    rows = domains.annotate(committed=_sum_of(COMMITMENTS), paid=_sum_of(PAYMENTS)).order_by("domain_code")
    by_dossier = {pk: [] for pk in dossier_ids}
    for row in rows.values(*fields):
        deadline, initial = row["target_deadline"], row["target_deadline_initial"]
        deadline_text = f"échéance {_day(deadline)}" + (f" (initiale {_day(initial)})" if deadline > initial else "")
        money = DomainMoney(row["committed"], row["paid"])
        by_dossier[row["dossier_id"]].append(
            SelectedDomain(
                row["domain_code"], DOMAIN_STATUS_LABELS.get(row["status"], row["status"]),
                row.get("targets_reached"), deadline_text, money,
                f"engagé {formatting.french_euros(money.committed)} — versé {formatting.french_euros(money.paid)}",
            )
        )
    return by_dossier


def _dossier_detail(row: dict, national: bool) -> str:
    detail = row["establishment__finess"]
    if row["ght__code"]:
        candidates = formatting.french_count(row["member_count"] or 1, "établissement")
        detail += f" — GHT {row['ght__code']} ({candidates})"
    return f"{detail} — {row['region__name']}" if national else detail


def selected_dossiers_page(selected: Q, page_number, *, count: int, national: bool, programme, group_ids) -> Page:
    """One page of the dossiers with a selected domain (`selected`: a Q on Dossier; `count`: how many there are,
    which the dashboard counted with its other per-region figures), by establishment name: SelectedDossier rows
    with their selected domains, money from the ledger, attainment from the state (None without catalogue); their
    region written on the `national` page. Two queries whatever the page."""
    paginator = Paginator(range(count), SELECTED_PAGE_SIZE)
    page = paginator.get_page(page_number)
    members = (
        DossierMember.objects.filter(dossier_id=OuterRef("pk")).order_by().values("dossier_id")
        .annotate(n=Count("pk")).values("n")
    )
    queryset = Dossier.objects.filter(selected).annotate(member_count=Subquery(members))
    fields = [
        "pk", "reference", "status", "prerequisites_forecast", "establishment__name", "establishment__finess",
        "ght__code", "region__name", "member_count",
    ]
    if group_ids is not None:
        queryset = queryset.annotate(prerequisites_reached=attainment.dossier_prerequisites_met(programme))
        fields.append("prerequisites_reached")
    bottom = (page.number - 1) * SELECTED_PAGE_SIZE
    ordered = queryset.order_by("establishment__name", "reference").values(*fields)
    rows = list(ordered[bottom:bottom + SELECTED_PAGE_SIZE])
    domains = _selected_domains([row["pk"] for row in rows], group_ids)
    url = _reviews_urls()
    page.object_list = [
        SelectedDossier(
            row["reference"], url(row["reference"]), DOSSIER_STATUS_LABELS.get(row["status"], row["status"]),
            row["establishment__name"], _dossier_detail(row, national), row.get("prerequisites_reached"),
            _day(row["prerequisites_forecast"]), domains[row["pk"]],
        )
        for row in rows
    ]
    return page
