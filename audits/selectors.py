"""Reads of the audits, scoped to the user (`hopen.permissions`): the population of a campaign, the campaigns and
their progress, the audits, one audit with its checklist, the campaign dashboard."""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, Sum
from django.http import Http404

from envelopes.models import EntryKind, LedgerEntry
from funding.dossiers.models import SELECTED_DOMAIN_STATUSES, DomainStatus, Dossier, DossierDomain, DossierStatus
from hopen import permissions
from hopen.sectors import SECTOR_LABELS, sector_of, sector_q
from indicators.evidence import documents_prefetch

from .models import FAILING_FINDINGS, Audit, AuditCampaign, AuditLine, AuditStatus, Finding
from .sampling import Unit

USAGE_STATUSES = (DomainStatus.USAGE_NOTIFIED, DomainStatus.PAID)
POPULATION_STATUSES = (DossierStatus.IN_PROGRESS, DossierStatus.COMPLETED)
AUDIT_REFUND_PREFIX = "audit-refund:"  # the ledger keys of `funding.dossiers.services.dossier_close`


@dataclass(frozen=True)
class PopulationFilters:
    """The criteria of a campaign's population (all optional): regions (INSEE codes), dossier statuses, sectors,
    domains (a selected domain among them), dossiers with usage funding notified or paid."""

    regions: tuple = ()
    statuses: tuple = ()
    sectors: tuple = ()
    domains: tuple = ()
    usage_notified_or_paid: bool = False

    def as_json(self) -> dict:
        return {
            "regions": list(self.regions), "statuses": list(self.statuses), "sectors": list(self.sectors),
            "domains": list(self.domains), "usage_notified_or_paid": self.usage_notified_or_paid,
        }


def population_units(*, programme, filters: PopulationFilters, strata=(), exclude_audited_since=None) -> list[Unit]:
    """The dossiers of `programme` selected for funding and matching `filters`, as sampling units whose stratum is
    (region code, sector) as asked by `strata` — one query."""
    funded = DossierDomain.objects.filter(dossier=OuterRef("pk"), status__in=SELECTED_DOMAIN_STATUSES)  # funded: selected (annex 4 §1)
    if filters.domains:
        funded = funded.filter(domain_code__in=filters.domains)
    dossiers = Dossier.objects.filter(programme=programme).filter(Exists(funded))
    dossiers = dossiers.filter(status__in=filters.statuses or POPULATION_STATUSES)
    if filters.regions:
        dossiers = dossiers.filter(region__code__in=filters.regions)
    if filters.sectors:
        condition = Q(pk__in=[])
        for sector in filters.sectors:
            condition |= sector_q(sector, "establishment__")
        dossiers = dossiers.filter(condition)
    if filters.usage_notified_or_paid:
        dossiers = dossiers.filter(
            Exists(DossierDomain.objects.filter(dossier=OuterRef("pk"), status__in=USAGE_STATUSES))
        )
    if exclude_audited_since is not None:
        dossiers = dossiers.exclude(Exists(Audit.objects.filter(dossier=OuterRef("pk"), created_at__gte=exclude_audited_since)))
    rows = dossiers.values_list("reference", "region__code", "establishment__status", "establishment__is_espic")
    units = []
    for reference, region, status, is_espic in rows:
        key = {"region": region, "sector": sector_of(status, is_espic)}
        units.append(Unit(reference=reference, stratum=tuple(key[d] for d in strata)))
    return units


def audited_since(now) -> datetime.datetime:
    """The start of the exclusion period of a campaign created at `now` (setting `AUDITS_RECENT_MONTHS`)."""
    return now - relativedelta(months=settings.AUDITS_RECENT_MONTHS)


def stratum_label(key, strata) -> str:
    """« 32 · public »: a stratum key as the pages show it."""
    if not strata:
        return "Population entière"
    names = {"sector": lambda v: SECTOR_LABELS.get(v, v), "region": str}
    return " · ".join(names[d](v) for d, v in zip(strata, key))


# --- Campaigns -------------------------------------------------------------------------------------------------------


def campaigns_visible_to(user):
    if not permissions.can_browse_audit_campaigns(user):
        return AuditCampaign.objects.none()
    return AuditCampaign.objects.select_related("programme", "created_by").annotate(
        audit_count=Count("audits"),
        concluded_count=Count("audits", filter=Q(audits__status=AuditStatus.CONCLUDED)),
    )


def campaign_for_reading(user, campaign_id) -> AuditCampaign:
    campaign = campaigns_visible_to(user).filter(pk=campaign_id).first()
    if campaign is None:
        raise Http404("Campagne de contrôle introuvable.")
    return campaign


def campaign_progress(campaign) -> dict:
    """{status: count} of the campaign's audits, every status present (one query)."""
    counts = dict(campaign.audits.values_list("status").annotate(n=Count("pk")).order_by())
    return {status: counts.get(status, 0) for status in AuditStatus.values}


# --- Audits ----------------------------------------------------------------------------------------------------------


def audits_visible_to(user):
    matching = Audit.objects.filter(permissions.audit_read_filter(user)).values("pk")
    return Audit.objects.filter(pk__in=matching).select_related(
        "campaign", "campaign__programme", "dossier", "dossier__establishment", "dossier__region"
    )


def audit_for_reading(user, audit_id) -> Audit:
    """The audit if the user may read it; 404 otherwise (existence not revealed)."""
    audit = (
        audits_visible_to(user)
        .select_related("dossier__ght", "decided_by", "findings_sent_by", "responded_by")
        .prefetch_related(
            Prefetch(
                "lines",
                queryset=AuditLine.objects.select_related(
                    "establishment", "indicator", "indicator__group", "value", "checked_by"
                ).prefetch_related(documents_prefetch("value__documents")),
            ),
            "letters",
            "response_documents",
        )
        .filter(pk=audit_id)
        .first()
    )
    if audit is None:
        raise Http404("Contrôle introuvable.")
    return audit


def audit_claims(audit) -> list:
    """The refund claims raised by the audit's non-conform decision (ledger entries, keys `audit-refund:…`)."""
    return list(
        LedgerEntry.objects.filter(
            dossier_domain__dossier_id=audit.dossier_id, kind=EntryKind.REFUND_CLAIM,
            idempotency_key__startswith=AUDIT_REFUND_PREFIX,
        ).select_related("dossier_domain").order_by("sequence")
    )


# --- Dashboard of a campaign -----------------------------------------------------------------------------------------


@dataclass
class Rate:
    label: str
    total: int = 0
    failing: int = 0

    @property
    def percent(self):
        return None if not self.total else round(100 * self.failing / self.total, 1)


@dataclass
class CampaignDashboard:
    progress: dict
    regions: list = field(default_factory=list)
    indicators: list = field(default_factory=list)
    claimed: Decimal = Decimal("0.00")
    received: Decimal = Decimal("0.00")


def campaign_dashboard(campaign) -> CampaignDashboard:
    """Progress; non-conformity rate per region (concluded audits) and per indicator (checked lines); amounts claimed
    and received on the refund claims the campaign's decisions raised — a constant number of queries."""
    dashboard = CampaignDashboard(progress=campaign_progress(campaign))
    regions = defaultdict(lambda: Rate(""))
    for region, name, decision in campaign.audits.filter(status=AuditStatus.CONCLUDED).values_list(
        "dossier__region__code", "dossier__region__name", "decision"
    ):
        rate = regions[region]
        rate.label = f"{name} ({region})"
        rate.total += 1
        rate.failing += decision == "non_conform"
    dashboard.regions = [regions[k] for k in sorted(regions)]
    per_indicator = (
        AuditLine.objects.filter(audit__campaign=campaign).exclude(finding=Finding.PENDING)
        .values("indicator__code", "indicator__group__position", "indicator__position")
        .annotate(total=Count("pk"), failing=Count("pk", filter=Q(finding__in=FAILING_FINDINGS)))
        .order_by("indicator__group__position", "indicator__position")
    )
    dashboard.indicators = [Rate(row["indicator__code"], row["total"], row["failing"]) for row in per_indicator]
    claims = LedgerEntry.objects.filter(
        dossier_domain__dossier__audits__campaign=campaign, dossier_domain__dossier__audits__decision="non_conform",
        kind=EntryKind.REFUND_CLAIM, idempotency_key__startswith=AUDIT_REFUND_PREFIX,
    )
    dashboard.claimed = claims.aggregate(total=Sum("amount"))["total"] or Decimal("0.00")
    dashboard.received = LedgerEntry.objects.filter(
        kind=EntryKind.REFUND_RECEIVED, counterpart__in=claims.values("pk")
    ).aggregate(total=Sum("amount"))["total"] or Decimal("0.00")
    return dashboard

