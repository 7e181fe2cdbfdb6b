"""Work-queue reads of the dossier workflow for the homes (`hopen.work_queues`), each a constant number of queries.

Establishment side (§5.3.2 « Etape 2 », annex 2 §2): a dossier in preparation waits for its director's
transmission; a selected domain waits for its targets to be recorded, before its target deadline (annex 4 §3).
ARS side (annex 4 §1, §5.3.2): a transmitted dossier waits for the opening of the instruction, a dossier under
review for the decision — both within four months of the transmission (« L'ARS doit se prononcer au bout de quatre
mois au plus tard »); a dossier whose initialisation is requested within one month and a half (« L'ARS dispose
d'un délai de 1 mois et demi pour initialiser le dossier »); a member's share whose targets are reached waits for
its usage funding to be notified (annex 2 §2); a selected domain past its target deadline is flagged (annex 4 §3).
"""

import datetime
from dataclasses import dataclass, field

from django.db.models import Count, Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone

from funding import calendar
from hopen import permissions
from hopen.work_items import ITEMS_SHOWN, QueueItem, days_left

from .models import DomainStatus, Dossier, DossierDomain, DossierDomainShare, DossierStatus
from .rules import initialisation_deadline, review_deadline


def _detail(reference: str) -> str:
    return reverse("funding:dossier_detail", args=[reference])


def _name(dossier) -> str:
    return dossier.ght.name if dossier.ght_id and dossier.ght else dossier.establishment.name


# --- Establishment side ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EstablishmentDossierQueue:
    to_transmit: list = field(default_factory=list)  # QueueItem per dossier in preparation
    targets_to_record: list = field(default_factory=list)  # QueueItem per share waiting, with its target deadline


def establishment_queue(establishment_ids, ght_ids, programme, *, today: datetime.date) -> dict:
    """{establishment id: EstablishmentDossierQueue}: the dossiers filed by these establishments (or for these GHTs)
    still in preparation, under their filer; the shares of these establishments' (or GHTs') selected domains whose
    targets are not recorded yet, under the share's establishment, soonest deadline first (two queries)."""
    ids, ghts = list(establishment_ids), list(ght_ids)
    if (not ids and not ghts) or programme is None:
        return {}
    drafts = (
        Dossier.objects.filter(
            Q(establishment_id__in=ids) | Q(ght_id__in=ghts), programme=programme, status=DossierStatus.DRAFT
        )
        .select_related("establishment", "ght")
        .order_by("created_at", "pk")
    )
    shares = (
        DossierDomainShare.objects.filter(
            Q(establishment_id__in=ids) | Q(domain__dossier__ght_id__in=ghts),
            domain__dossier__programme=programme,
            domain__dossier__status=DossierStatus.IN_PROGRESS,
            domain__status=DomainStatus.SELECTED,
            targets_reached_at__isnull=True,
        )
        .select_related("establishment", "domain__dossier__ght")
        .order_by("domain__target_deadline", "pk")
    )
    queues: dict = {}

    def queue_of(establishment_id):
        return queues.setdefault(establishment_id, EstablishmentDossierQueue())

    for dossier in drafts:
        queue_of(dossier.establishment_id).to_transmit.append(
            QueueItem(f"Dossier {dossier.reference} — {_name(dossier)}", _detail(dossier.reference))
        )
    for share in shares:
        dossier, deadline = share.domain.dossier, share.domain.target_deadline
        queue_of(share.establishment_id).targets_to_record.append(QueueItem(
            f"Dossier {dossier.reference}, domaine {share.domain.domain_code} — {share.establishment.name}",
            _detail(dossier.reference), deadline, days_left(deadline, today),
        ))
    return queues


# --- ARS and DGOS side -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RegionDossierQueue:
    transmitted: int = 0  # the instruction is to open
    under_review: int = 0  # the decision is to take
    initialisation_requested: int = 0
    usage_ready: int = 0
    targets_overdue: int = 0
    transmitted_items: list = field(default_factory=list)  # QueueItem, 4-month deadline (annex 4 §1)
    under_review_items: list = field(default_factory=list)  # QueueItem, the same deadline
    awaiting_initialisation: list = field(default_factory=list)  # QueueItem, 1.5-month deadline (§5.3.2)
    usage_ready_items: list = field(default_factory=list)
    overdue_items: list = field(default_factory=list)


def _local_day(moment) -> datetime.date | None:
    return timezone.localdate(moment) if moment else None


def region_queue(user, programme, *, today: datetime.date, with_items: bool = True) -> RegionDossierQueue:
    """What waits for the ARS in the dossiers of `programme` the user reads (an ARS its region, the DGOS every
    region): two aggregate queries, the delays (one query) and, `with_items`, the first dossiers and domains of each
    line with their deadlines (four queries)."""
    if programme is None:
        return RegionDossierQueue()
    dossiers = permissions.dossiers_readable_by(user).filter(programme=programme)
    counts = dossiers.aggregate(
        transmitted=Count("pk", filter=Q(status=DossierStatus.TRANSMITTED)),
        under_review=Count("pk", filter=Q(status=DossierStatus.UNDER_REVIEW)),
        initialisation_requested=Count("pk", filter=Q(status=DossierStatus.INITIALISATION_REQUESTED)),
    )
    ready_share = DossierDomainShare.objects.filter(
        domain=OuterRef("pk"), targets_reached_at__isnull=False, usage_notified_at__isnull=True
    )
    overdue = Q(status=DomainStatus.SELECTED, target_deadline__lt=today)
    domains = DossierDomain.objects.filter(dossier__in=dossiers.values("pk"), dossier__status=DossierStatus.IN_PROGRESS)
    domain_counts = domains.aggregate(
        usage_ready=Count("pk", filter=Q(Exists(ready_share))),
        targets_overdue=Count("pk", filter=overdue),
    )
    if not with_items:
        return RegionDossierQueue(**counts, **domain_counts)
    delays = calendar.programme_delays(programme)
    return RegionDossierQueue(
        **counts,
        **domain_counts,
        transmitted_items=_awaiting_decision(dossiers, DossierStatus.TRANSMITTED, delays, today)
        if counts["transmitted"] else [],
        under_review_items=_awaiting_decision(dossiers, DossierStatus.UNDER_REVIEW, delays, today)
        if counts["under_review"] else [],
        awaiting_initialisation=_awaiting_initialisation(dossiers, delays.get(calendar.ARS_INITIALISATION), today)
        if counts["initialisation_requested"] else [],
        usage_ready_items=_domain_items(domains.filter(Exists(ready_share)), today, with_deadline=False)
        if domain_counts["usage_ready"] else [],
        overdue_items=_domain_items(domains.filter(overdue), today) if domain_counts["targets_overdue"] else [],
    )


def _awaiting_decision(dossiers, status, delays, today) -> list[QueueItem]:
    """Annex 4 §1: the last day of the decision is the transmission day plus four months; soonest first."""
    delay = delays.get(calendar.ARS_DECISION)
    rows = (
        dossiers.filter(status=status)
        .select_related("establishment", "ght")
        .order_by("transmitted_at", "pk")[:ITEMS_SHOWN]
    )
    items = []
    for dossier in rows:
        transmitted_on = _local_day(dossier.transmitted_at)
        deadline = review_deadline(transmitted_on, delay) if transmitted_on and delay else None
        items.append(QueueItem(
            f"Dossier {dossier.reference} — {_name(dossier)}",
            _detail(dossier.reference), deadline, days_left(deadline, today),
        ))
    return items


def _awaiting_initialisation(dossiers, delay, today) -> list[QueueItem]:
    """§5.3.2 « Etape 2 »: one month and a half from the request to initialise the dossier; soonest first."""
    rows = (
        dossiers.filter(status=DossierStatus.INITIALISATION_REQUESTED)
        .select_related("establishment", "ght")
        .order_by("initialisation_requested_at", "pk")[:ITEMS_SHOWN]
    )
    items = []
    for dossier in rows:
        requested_on = _local_day(dossier.initialisation_requested_at)
        deadline = initialisation_deadline(requested_on, delay) if requested_on and delay else None
        items.append(QueueItem(
            f"Dossier {dossier.reference} — {_name(dossier)}", _detail(dossier.reference), deadline,
            days_left(deadline, today),
        ))
    return items


def _domain_items(domains, today, *, with_deadline=True) -> list[QueueItem]:
    rows = domains.select_related("dossier__establishment", "dossier__ght").order_by("target_deadline", "pk")
    items = []
    for domain in rows[:ITEMS_SHOWN]:
        deadline = domain.target_deadline if with_deadline else None
        items.append(QueueItem(
            f"Dossier {domain.dossier.reference}, domaine {domain.domain_code} — {_name(domain.dossier)}",
            _detail(domain.dossier.reference), deadline, days_left(deadline, today),
        ))
    return items
