"""The facts the money gates read (`funding.dossiers.gates`), gathered from the database for every domain of a
dossier at once, in a constant number of queries whatever the number of domains and candidates: the dossier's
domains and their vendors (2), the eligibility verdicts (`funding.eligibility.selectors`, ~8), the HOP'EN
prerequisites with their documents (`funding.eligibility.progress`, 1 with the catalogue), the Hôpital numérique
prerequisites (1), the domains' usage targets (1), the AMI pre-selections (1), the derogatory deadline (1), plus the
catalogue (3) and the candidates (1) when not given.

Used by the services inside their locked transaction and by the dossier page (`dossier_gates`), so the page's
disabled buttons say what the services would answer.
"""

import datetime

from django.db.models import Prefetch
from django.utils import timezone

from ami.models import Decision, PreCandidatureDomain
from hopen.exceptions import ApplicationError
from hopen.models import Establishment
from indicators import windows
from indicators.models import CatalogueVersion
from indicators.selectors import current_catalogue

from .gates import (
    DomainFacts,
    advanced_rate_gate,
    MemberFacts,
    ReasonFacts,
    seed_commitment_gate,
    seed_payment_gate,
    targets_reached_gate,
    usage_notification_gate,
    usage_payment_gate,
    vendors_named_gate,
)
from .models import DomainStatus, DossierDomain, DossierStatus


def ami_preselections(establishment_ids, codes, *, programme) -> set[tuple[int, str]]:
    """{(establishment id, domain code)} pre-selected by the ARS at the AMI of `programme` (§5.3.2) — one query."""
    ids = list({int(pk) for pk in establishment_ids})
    codes = list({str(c).upper() for c in codes})
    if not ids or not codes:
        return set()
    return set(
        PreCandidatureDomain.objects.filter(
            pre_candidature__establishment_id__in=ids, pre_candidature__programme=programme,
            domain_code__in=codes, decision=Decision.PRESELECTED,
        ).values_list("pre_candidature__establishment_id", "domain_code")
    )


def _members(dossier) -> list:
    return list(
        Establishment.objects.filter(dossier_memberships__dossier=dossier).select_related("region").order_by("name")
    )


def _application(dossier, domains):
    from funding.eligibility.selectors import Application

    vendors = tuple({v.pk: v for d in domains for v in d.vendors.all()}.values())
    return Application(
        domains=frozenset(d.domain_code for d in domains), vendors=vendors, validated_by_support=dossier.is_ght_dossier
    )


def domain_facts(dossier, *, today=None, members=None, domains=None) -> dict[int, DomainFacts]:
    """{domain id: DomainFacts} of every domain of the dossier (read after the service's locks when called by one)."""
    from funding.eligibility.progress import (
        domain_targets_reached,
        hn_prerequisites_reached,
        indicators_reached,
        prerequisites_reached,
    )
    from funding.eligibility.selectors import derogatory_deadline, eligibility_for_establishments

    today = today or timezone.localdate()
    programme = dossier.programme
    members = list(members) if members is not None else _members(dossier)
    if domains is None:
        domains = list(DossierDomain.objects.filter(dossier=dossier).prefetch_related("vendors").order_by("domain_code"))
    domains = list(domains)
    if not domains:
        return {}
    ids = [m.pk for m in members]
    codes = [d.domain_code for d in domains]
    try:
        catalogue = current_catalogue(programme)
        verdicts = eligibility_for_establishments(
            members, programme=programme, application=_application(dossier, domains), today=today
        )
    except CatalogueVersion.DoesNotExist:
        catalogue, verdicts = None, None
    reached = prerequisites_reached(ids, catalogue=catalogue) if catalogue is not None else {}
    targets = domain_targets_reached(ids, codes, catalogue=catalogue) if catalogue is not None else {}
    hn = hn_prerequisites_reached(ids, programme=programme)
    structured = (programme.advanced_rate_indicators or {})  # annex 3 §3: {domain: structured-format indicator}
    advanced_codes = [structured[d.domain_code] for d in domains if d.rate == "advanced" and d.domain_code in structured]
    formats = indicators_reached(ids, advanced_codes, catalogue=catalogue) if catalogue is not None else {}
    preselected = ami_preselections(ids, codes, programme=programme)
    try:
        deadline = derogatory_deadline(programme)
    except ApplicationError:  # the calendar does not declare it: a derogatory seed cannot be granted (gates)
        deadline = None
    result = {}
    for domain in domains:
        code = domain.domain_code
        result[domain.pk] = DomainFacts(
            today=today, derogatory_deadline=deadline, dossier_status=dossier.status, domain_code=code,
            seed_amount=domain.seed_amount, seed_paid=domain.seed_paid_at is not None,
            admitted_without_ami=bool(domain.admitted_without_ami_at), eligibility_known=verdicts is not None,
            ght=dossier.is_ght_dossier, rate=domain.rate, structured_format_indicator=structured.get(code, ""),
            members=tuple(
                MemberFacts(
                    establishment_id=m.pk, name=m.name,
                    reasons=tuple(
                        ReasonFacts(r.code, r.section, r.message, r.effect.value)
                        for r in (verdicts[m.pk][code].reasons if verdicts is not None else ())
                    ),
                    prerequisites_reached=bool(reached.get(m.pk)), hn_prerequisites_reached=bool(hn.get(m.pk)),
                    targets_reached=bool(targets.get((m.pk, code))), ami_preselected=(m.pk, code) in preselected,
                    structured_format_reached=bool(formats.get((m.pk, structured.get(code, "")))),
                )
                for m in members
            ),
        )
    return result


def facts_of(domain, *, today=None) -> DomainFacts:
    """The facts of one (locked) domain: the dossier's other domains count for the joint candidature (§5.3.1)."""
    facts = domain_facts(domain.dossier, today=today)
    return facts[domain.pk]


# --- The page: which gated action is refused, and why ---------------------------------------------------------------

GATED_ACTIONS = {"select", "pay_seed", "reach_targets", "notify_usage", "pay_usage"}
ANY_SEED = 1  # the page does not know the seed the ARS will type: it shows what a seed would meet


def gate_refusals(action: str, facts: DomainFacts) -> list:
    """The refusals of the gate of a page action (`select`: with a seed; the selection without seed only needs
    « en instruction »)."""
    if action == "select":
        return seed_commitment_gate(facts, ANY_SEED)
    return {
        "pay_seed": seed_payment_gate,
        "reach_targets": targets_reached_gate,
        "notify_usage": usage_notification_gate,
        "pay_usage": usage_payment_gate,
    }[action](facts)


def dossier_gates(dossier, members, actions_by_domain: dict, *, today=None) -> dict[str, dict[str, list]]:
    """{domain code: {action: [Refusal]}} for the gated actions the page offers (`actions_by_domain`: {domain:
    [action]}, the domains prefetched with their vendors) — nothing read when no gated action is offered."""
    wanted = {d: [a for a in actions if a in GATED_ACTIONS] for d, actions in actions_by_domain.items()}
    if not any(wanted.values()) or dossier.status in (DossierStatus.CLOSED, DossierStatus.REFUSED):
        return {}
    facts = domain_facts(dossier, today=today, members=members, domains=list(actions_by_domain))
    return {
        domain.domain_code: {a: gate_refusals(a, facts[domain.pk]) for a in actions}
        for domain, actions in wanted.items()
        if actions and domain.status != DomainStatus.REFUSED
    }


def advanced_rate_refusals(programme, members, rates) -> list:
    """Annex 3 §3 (`gates.advanced_rate_gate`) for `rates` [(domain code, rate)] of the candidates `members`: the
    structured-format indicators read in one query, and only when a domain asks for the advanced rate."""
    from funding.eligibility.progress import indicators_reached

    structured = programme.advanced_rate_indicators or {}
    wanted = [(code, rate) for code, rate in rates if rate == "advanced"]
    if not wanted:
        return []
    try:
        reached = indicators_reached([m.pk for m in members], [structured.get(c, "") for c, _ in wanted], programme=programme)
    except CatalogueVersion.DoesNotExist:  # no catalogue in force: nothing can be declared reached
        reached = {}
    return [
        refusal
        for code, rate in wanted
        for refusal in advanced_rate_gate(
            code, rate, structured.get(code, ""),
            [(m.name, reached.get((m.pk, structured.get(code, "")), False)) for m in members],
        )
    ]


def transmission_refusals(dossier, members, domains) -> list:
    """The transmission's gates the page shows on its disabled button: the vendor rule (§5.3.1,
    `gates.vendors_named_gate`, domains prefetched with their vendors: no query) and the advanced rate (annex 3 §3)."""
    return vendors_named_gate([(d.domain_code, len(d.vendors.all())) for d in domains]) + advanced_rate_refusals(
        dossier.programme, members, [(d.domain_code, d.rate) for d in domains]
    )


def today_of(now) -> datetime.date:
    return timezone.localdate(now) if now is not None else timezone.localdate()


def admissible_without_ami(dossier, members, domains, *, today=None) -> set[str]:
    """The domain codes of a dossier being prepared (the caller checks its status) the region's ARS may admit without
    AMI pre-selection today (§5.3.2, the rule of `services.admission.domain_admit_without_ami`): the programme's late
    candidature window is open, the domain is not admitted yet and a candidate lacks its pre-selection (2 queries)."""
    if not members:
        return set()
    window = windows.programme_windows(dossier.programme).get(windows.AMI_LATE_FILING)
    if window is None or not window.is_open(today or timezone.localdate()):
        return set()
    waiting = [d.domain_code for d in domains if d.admitted_without_ami_at is None]
    preselected = ami_preselections([m.pk for m in members], waiting, programme=dossier.programme)
    return {code for code in waiting if any((m.pk, code) not in preselected for m in members)}
