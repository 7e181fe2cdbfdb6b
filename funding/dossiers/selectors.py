"""Reads of the dossier workflow, scoped to the user through `hopen.permissions` (404 outside the scope).

- `dossiers_visible_to(user, filters)`: the list (an establishment its own dossiers, an ARS its region's, the DGOS
  all), with a constant number of queries whatever the number of dossiers (establishment, region and GHT joined,
  domains prefetched in one query).
- `dossier_for_reading(user, reference)`: one dossier with its members, domains, shares, vendors and letters.
- `dossier_page(user, dossier)`: what the dossier's page shows — eligibility per candidate and domain (§5.3.1),
  re-candidacy dates of refused domains (annex 4 §1), the deadlines of the ARS (§5.3.2, annex 4 §1), the history
  and the actions the user may take (the state machine's allowed actions intersected with the permissions).
- `recandidacy_blocks`, `dossier_eligibility`: shared with the services (checked again there under locks).
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Prefetch, Q
from django.http import Http404
from django.utils import timezone

from funding import calendar
from funding.eligibility.rules import Effect
from hopen import permissions
from hopen.audit_display import present
from hopen.models import AuditRecord, Establishment
from indicators import windows
from indicators.models import CatalogueVersion

from .models import SELECTED_DOMAIN_STATUSES, DomainStatus, Dossier, DossierDomain, DossierDomainShare, DossierStatus
from .rules import (
    initialisation_deadline,
    recandidacy_allowed_from,
    recandidacy_message,
    review_deadline,
    target_deadline_passed,
)
from .states import OPEN_FOR_DECISION, allowed_domain_actions, allowed_dossier_actions

ENDED_DOSSIER_STATUSES = [DossierStatus.REFUSED, DossierStatus.CLOSED]
EDITABLE_STATUSES = {DossierStatus.INITIALISATION_REQUESTED, DossierStatus.DRAFT}
SEED_PAYABLE_STATUSES = frozenset(SELECTED_DOMAIN_STATUSES)  # the seed is paid on a selected domain
# Transitions of the state machine no user triggers from a page: the services and the deadline jobs do.
AUTOMATIC_ACTIONS = {"decide", "refuse_for_silence", "complete"}
HISTORY_LIMIT = 200


# --- The list ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DossierFilters:
    status: str = ""
    domain: str = ""
    region: str = ""
    establishment: str = ""  # FINESS of the filer or of a candidate


def dossiers_visible_to(user, filters: DossierFilters | None = None, *, programme):
    """The dossiers of `programme` the user may read (`hopen.permissions.dossier_read_filter`), filtered, newest
    first."""
    filters = filters or DossierFilters()
    dossiers = permissions.dossiers_readable_by(user).filter(programme=programme)
    if filters.status:
        dossiers = dossiers.filter(status=filters.status)
    if filters.region:
        dossiers = dossiers.filter(region__code=filters.region)
    if filters.domain:
        dossiers = dossiers.filter(
            pk__in=DossierDomain.objects.filter(domain_code=filters.domain.upper()).values("dossier_id")
        )
    if filters.establishment:
        finess = filters.establishment.strip().upper()
        dossiers = dossiers.filter(
            Q(establishment__finess=finess)
            | Q(pk__in=Dossier.objects.filter(members__establishment__finess=finess).values("pk"))
        )
    return (
        dossiers.select_related("establishment", "region", "ght")
        .prefetch_related(Prefetch("domains", queryset=DossierDomain.objects.order_by("domain_code")))
        .order_by("-created_at", "-id")
    )


def dossier_total(dossier) -> Decimal:
    """The sum of the domains' totals (domains prefetched: no query)."""
    return sum((d.total_amount for d in dossier.domains.all()), Decimal("0.00"))


# --- One dossier ---------------------------------------------------------------------------------------------------


def _detail_queryset(user):
    shares = DossierDomainShare.objects.select_related("establishment").order_by("establishment__name")
    domains = (
        DossierDomain.objects.select_related("decided_by", "usage_notified_by", "admitted_without_ami_by")
        .prefetch_related(Prefetch("shares", queryset=shares), "vendors")
        .order_by("domain_code")
    )
    return permissions.dossiers_readable_by(user).select_related(
        "establishment", "establishment__region", "establishment__ght", "ght", "ght__support", "region", "programme",
        "created_by", "transmitted_by", "initialised_by", "closed_by",
    ).prefetch_related(
        Prefetch("domains", queryset=domains),
        Prefetch("members__establishment", queryset=Establishment.objects.select_related("region")),
        "letters",
    )


def dossier_for_reading(user, reference) -> Dossier:
    """The dossier with this reference if the user may read it; 404 otherwise (existence not revealed)."""
    dossier = _detail_queryset(user).filter(reference=str(reference)).first()
    if dossier is None:
        raise Http404("Dossier introuvable.")
    return dossier


def domain_for_reading(user, reference, code) -> DossierDomain:
    """A domain of a readable dossier (404 when the dossier is out of scope or has no such domain)."""
    dossier = dossier_for_reading(user, reference)
    domain = next((d for d in dossier.domains.all() if d.domain_code == str(code).upper()), None)
    if domain is None:
        raise Http404("Domaine introuvable dans ce dossier.")
    domain.dossier = dossier
    return domain


def members_of(dossier) -> list[Establishment]:
    """The candidate establishments (prefetched by `dossier_for_reading`), by name."""
    return sorted((m.establishment for m in dossier.members.all()), key=lambda e: e.name)


# --- Rules read from the database (shared with the services) ------------------------------------------------------


def recandidacy_blocks(establishments, codes, today: datetime.date, *, programme, exclude_dossier=None) -> list[str]:
    """Annex 4 §1: the domains the establishments may not present yet on `programme` after a refusal (its
    re-candidacy delay), and the domains already in one of their dossiers of the programme neither refused nor
    closed — one French sentence each (two queries, three with a refusal)."""
    establishments = list(establishments)
    ids = [e.pk for e in establishments]
    names = {e.pk: e.name for e in establishments}
    codes = [str(c).upper() for c in codes]
    if not ids or not codes:
        return []
    blocks = []
    refused = list(
        DossierDomain.objects.filter(
            status=DomainStatus.REFUSED, domain_code__in=codes, dossier__members__establishment_id__in=ids,
            dossier__programme=programme,
        )
        .values_list("dossier__members__establishment_id", "domain_code", "decided_at", "refusal_kind")
        .order_by()
    )
    latest = {}
    if refused:
        delay = calendar.programme_delay(calendar.RECANDIDACY, programme)
        for establishment_id, code, decided_at, kind in refused:
            if decided_at is None:
                continue
            refused_on = timezone.localdate(decided_at)
            allowed = recandidacy_allowed_from(refused_on, kind, delay)
            key = (establishment_id, code)
            if today < allowed and (key not in latest or latest[key][2] < allowed):
                latest[key] = (refused_on, kind, allowed)
    for (establishment_id, code), (refused_on, kind, allowed) in sorted(
        latest.items(), key=lambda item: (names[item[0][0]], item[0][1])
    ):
        message = recandidacy_message(code, refused_on, kind, allowed)
        blocks.append(message if len(ids) == 1 else f"{names[establishment_id]} — {message}")
    engaged = (
        DossierDomain.objects.filter(
            domain_code__in=codes, dossier__members__establishment_id__in=ids, dossier__programme=programme
        )
        .exclude(status=DomainStatus.REFUSED)
        .exclude(dossier__status__in=ENDED_DOSSIER_STATUSES)
    )
    if exclude_dossier is not None:
        engaged = engaged.exclude(dossier_id=exclude_dossier.pk)
    for establishment_id, code, reference in engaged.values_list(
        "dossier__members__establishment_id", "domain_code", "dossier__reference"
    ).order_by("domain_code", "dossier__reference"):
        blocks.append(f"{names[establishment_id]} est déjà candidat sur le domaine {code} dans le dossier {reference}.")
    return blocks


def dossier_application(dossier):
    """The dossier as the eligibility rules read an application (§5.3.1): its domains, the software vendors of its
    domains, and — for a GHT dossier, filed by the support establishment — validated by the support."""
    from funding.eligibility.selectors import Application

    domains = list(dossier.domains.all())
    vendors = tuple({v.pk: v for d in domains for v in d.vendors.all()}.values())
    return Application(
        domains=frozenset(d.domain_code for d in domains), vendors=vendors, validated_by_support=dossier.is_ght_dossier
    )


def dossier_eligibility(dossier, members, *, today=None) -> dict | None:
    """{establishment id: {domain: Verdict}} for the candidates and the dossier's domains (§5.3.1), constant number
    of queries; None while the indicator catalogue is not loaded."""
    from funding.eligibility.selectors import eligibility_for_establishments

    try:
        return eligibility_for_establishments(
            members, programme=dossier.programme, application=dossier_application(dossier), today=today
        )
    except CatalogueVersion.DoesNotExist:
        return None


def eligibility_blockers(dossier, members, verdicts) -> list[str]:
    """The reasons that make a candidate not eligible to apply on a domain of the dossier, one line each."""
    blockers = []
    codes = sorted(d.domain_code for d in dossier.domains.all())
    for member in members:
        for code in codes:
            verdict = verdicts[member.pk][code]
            if not verdict.eligible_to_apply:
                blockers += [
                    f"{member.name} — {code} : {reason.message}"
                    for reason in verdict.reasons if reason.effect == Effect.INELIGIBLE
                ]
    return blockers


# --- What the user may do ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Abilities:
    manage: bool  # the region's ARS
    file: bool  # the establishment's director (GHT: the support establishment)
    prepare: bool
    close: bool


def abilities_of(user, dossier) -> Abilities:
    return Abilities(
        manage=permissions.can_manage_region_money(user, dossier.region),
        file=permissions.can_file_dossier(user, dossier.establishment),
        prepare=permissions.can_prepare_dossier(user, dossier.establishment),
        close=permissions.can_close_dossier(user, dossier),
    )


def dossier_actions(abilities: Abilities, dossier) -> list[str]:
    """The state machine's actions on the dossier (`allowed_dossier_actions`) the user may take."""
    allowed = {
        "initialise": abilities.manage,
        "transmit": abilities.file,
        "start_review": abilities.manage,
        "close": abilities.close,
    }
    return [a for a in allowed_dossier_actions(dossier.status) if a not in AUTOMATIC_ACTIONS and allowed.get(a)]


def domain_actions(abilities: Abilities, dossier, domain) -> list[str]:
    """The state machine's actions on a domain (`allowed_domain_actions`) the user may take, plus the seed payment
    (not a change of state: `seed_paid_at`)."""
    allowed = {
        "select": abilities.manage,
        "refuse": abilities.manage,
        "reach_targets": abilities.file or abilities.manage,
        "notify_usage": abilities.manage,
        "pay_usage": abilities.manage,
    }
    actions = [a for a in allowed_domain_actions(domain.status, dossier.status) if allowed.get(a)]
    if dossier.is_ght_dossier:  # annex 2 §2: per member share (`share_page`), not for the domain as a whole
        actions = [a for a in actions if a not in ("reach_targets", "notify_usage", "pay_usage")]
    if (
        abilities.manage and dossier.status == DossierStatus.IN_PROGRESS and domain.status in SEED_PAYABLE_STATUSES
        and domain.seed_amount > 0 and domain.seed_paid_at is None
    ):
        actions.insert(0, "pay_seed")
    return actions


# --- The page ------------------------------------------------------------------------------------------------------


@dataclass
class DomainLine:
    domain: DossierDomain
    actions: list
    verdicts: list = field(default_factory=list)  # [(establishment, Verdict)]
    recandidacy_from: datetime.date | None = None
    # The money gates (`funding.dossiers.gates`) of the actions offered: {action: "reason ; reason"} when refused.
    blocked: dict = field(default_factory=dict)
    seed_refusals: list = field(default_factory=list)  # what a seed at the selection would meet (§5.3.1, §5.1)
    select_locked: str = ""  # why the selection itself is refused (annex 4 §1: « en instruction »; §5.3.2 AMI)
    admissible_without_ami: bool = False  # the region's ARS may admit it without AMI pre-selection (§5.3.2)
    target_overdue: bool = False  # selected, targets not reached, deadline past (annex 4 §3)
    share_lines: list = field(default_factory=list)  # a GHT domain's members (`share_page.ShareLine`, annex 2 §2)

    @property
    def usage_amount(self):
        from .rules import usage_amount

        if self.domain.usage_amount is not None:
            return self.domain.usage_amount
        return usage_amount(self.domain.total_amount, self.domain.seed_amount)


@dataclass
class DossierPage:
    dossier: Dossier
    members: list
    lines: list
    actions: list
    abilities: Abilities
    total: Decimal
    eligibility_available: bool
    blockers: list
    recandidacy_blocks: list
    review_deadline: datetime.date | None
    initialisation_deadline: datetime.date | None
    history: list
    letters: list
    filing: "FilingState | None" = None  # the dossier window, while the dossier is being prepared (§5.3.2)
    transmit_refusals: list = field(default_factory=list)  # gates.Refusal: why the transmission would be refused

    @property
    def transmit_blocked(self) -> str:
        """The reason the transmit button is disabled (the services' vendor gate, §5.3.1), or ""."""
        return " ; ".join(f"{r.message} ({r.section})" for r in self.transmit_refusals)


# --- The dossier window, shown up front (§5.3.2 « Etape 2 ») -------------------------------------------------------


@dataclass(frozen=True)
class FilingState:
    """What the dossier pages say about the programme's dossier window before any typing: a banner (« Dépôt des
    dossiers ouvert jusqu'au … » / « … clos depuis le … (Instruction, §5.3.2) ») and, when closed, the reason the
    create / transmit buttons are disabled — from `indicators.windows.window_state`, the rule the services ask."""

    is_open: bool
    title: str
    message: str


def filing_state(programme, *, today=None) -> FilingState:
    """The programme's dossier window on `today` (one query)."""
    today = today or timezone.localdate()
    state = windows.window_state(windows.programme_window(programme, windows.DOSSIER_FILING), today)
    window, day = state.window, (lambda d: f"{d:%d/%m/%Y}")
    if state.is_open:
        title = f"Dépôt des dossiers ouvert jusqu'au {day(window.last_day)}"
    elif state.not_yet_open:
        title = f"Dépôt des dossiers ouvert à partir du {day(window.opens)} ({window.citation})"
    else:
        title = f"Dépôt des dossiers clos depuis le {day(window.last_day)} ({window.citation})"
    return FilingState(is_open=state.is_open, title=title, message=state.message)


def _history(dossier) -> list:
    """The dossier's, its domains' and its shares' audit records, read as the audit trail reads them."""
    domain_ids = [str(d.pk) for d in dossier.domains.all()]
    share_ids = [str(s.pk) for d in dossier.domains.all() for s in d.shares.all()]
    records = list(
        AuditRecord.objects.filter(
            Q(object_type="funding.dossier", object_id=str(dossier.pk))
            | Q(object_type="funding.dossierdomain", object_id__in=domain_ids)
            | Q(object_type="funding.dossierdomainshare", object_id__in=share_ids)
        ).select_related("actor").order_by("-id")[:HISTORY_LIMIT]
    )
    return present(records)


def _apply_gates(dossier, members, lines, today) -> None:
    """The page asks the services' gates through the same selector: a refused action is shown disabled with its
    reasons (the selection stays possible without seed when only the seed is refused)."""
    from .gate_facts import dossier_gates
    from .gates import locks_selection

    gated = dossier_gates(dossier, members, {line.domain: line.actions for line in lines}, today=today)
    for line in lines:
        for action, refusals in gated.get(line.domain.domain_code, {}).items():
            if action == "select":
                line.select_locked = " ".join(f"{r.message} ({r.section})" for r in refusals if locks_selection(r))
                line.seed_refusals = [r for r in refusals if not locks_selection(r)]
            elif refusals:
                line.blocked[action] = " ; ".join(f"{r.message} ({r.section})" for r in refusals)


def dossier_page(user, dossier, *, today=None) -> DossierPage:
    """Everything the dossier's page shows, for `user` (the dossier comes from `dossier_for_reading`)."""
    from .gate_facts import transmission_refusals

    today = today or timezone.localdate()
    members = members_of(dossier)
    abilities = abilities_of(user, dossier)
    domains = list(dossier.domains.all())
    # §5.3.1 eligibility matters until the decision: shown while the dossier is prepared, transmitted or reviewed.
    before_decision = dossier.status in EDITABLE_STATUSES | OPEN_FOR_DECISION
    verdicts = dossier_eligibility(dossier, members, today=today) if members and domains and before_decision else None
    delays = calendar.programme_delays(dossier.programme)
    recandidacy = delays.get(calendar.RECANDIDACY)
    lines = []
    for domain in domains:
        line = DomainLine(domain=domain, actions=domain_actions(abilities, dossier, domain))
        line.target_overdue = dossier.status != DossierStatus.CLOSED and target_deadline_passed(
            selected=domain.status == DomainStatus.SELECTED, target_deadline=domain.target_deadline,
            targets_reached_at=domain.targets_reached_at, today=today,
        )
        if verdicts is not None and domain.status == DomainStatus.PENDING:
            line.verdicts = [(m, verdicts[m.pk][domain.domain_code]) for m in members]
        if domain.status == DomainStatus.REFUSED and domain.decided_at and recandidacy is not None:
            line.recandidacy_from = recandidacy_allowed_from(
                timezone.localdate(domain.decided_at), domain.refusal_kind, recandidacy
            )
        lines.append(line)
    _apply_gates(dossier, members, lines, today)
    from .share_page import share_lines

    by_domain = share_lines(abilities, dossier, members, domains, today=today)
    for line in lines:
        line.share_lines = by_domain.get(line.domain.pk, [])
    if abilities.manage and dossier.status in EDITABLE_STATUSES:  # §5.3.2: admitted before the transmission
        from .gate_facts import admissible_without_ami

        admissible = admissible_without_ami(dossier, members, domains, today=today)
        for line in lines:
            line.admissible_without_ami = line.domain.domain_code in admissible
    blocks = []
    if dossier.status in EDITABLE_STATUSES and members and domains:
        blocks = recandidacy_blocks(
            members, [d.domain_code for d in domains], today, programme=dossier.programme, exclude_dossier=dossier
        )
    deadline = None
    if dossier.transmitted_at and dossier.status in (DossierStatus.TRANSMITTED, DossierStatus.UNDER_REVIEW):
        if calendar.ARS_DECISION in delays:
            deadline = review_deadline(timezone.localdate(dossier.transmitted_at), delays[calendar.ARS_DECISION])
    initialisation = None
    if dossier.status == DossierStatus.INITIALISATION_REQUESTED and dossier.initialisation_requested_at:
        if calendar.ARS_INITIALISATION in delays:
            initialisation = initialisation_deadline(
                timezone.localdate(dossier.initialisation_requested_at), delays[calendar.ARS_INITIALISATION]
            )
    actions = dossier_actions(abilities, dossier)
    return DossierPage(
        dossier=dossier,
        members=members,
        lines=lines,
        actions=actions,
        abilities=abilities,
        total=sum((d.total_amount for d in domains), Decimal("0.00")),
        eligibility_available=verdicts is not None or not before_decision,
        blockers=eligibility_blockers(dossier, members, verdicts) if verdicts is not None and dossier.status in EDITABLE_STATUSES else [],
        recandidacy_blocks=blocks,
        review_deadline=deadline,
        initialisation_deadline=initialisation,
        history=_history(dossier),
        letters=list(dossier.letters.all()),
        filing=filing_state(dossier.programme, today=today) if dossier.status in EDITABLE_STATUSES else None,
        transmit_refusals=transmission_refusals(dossier, members, domains) if "transmit" in actions else [],
    )


# --- Creation page -------------------------------------------------------------------------------------------------


def establishments_for_new_dossier(user):
    """The establishments the user may prepare a dossier for (its own; for a GHT support director, the support)."""
    scope = permissions.scope_of(user)
    if not (scope.establishment_ids or scope.ght_ids):
        return []
    candidates = Establishment.objects.filter(
        Q(pk__in=scope.establishment_ids) | Q(ght_id__in=scope.ght_ids, supported_ght__isnull=False)
    ).select_related("ght", "region").order_by("name")
    return [e for e in candidates if permissions.can_prepare_dossier(user, e)]
