"""Reads for the eligibility rules (§5.3.1): gather the inputs of `funding.eligibility.rules` from the database.

`eligibility_for_establishment` takes an establishment the caller has already checked against the permission
policy; `establishment_eligibility` does the check itself (404 outside the user's scope). A constant number of
queries whatever the number of values and documents: catalogue (3), latest declared values with their document
counts (1, from the attainment state kept on write), Hôpital numérique results (1), derogatory deadline (1), GHT
and its IT governance (1, public GHT members only: CIO, current SDSI, declared GHT-level values — `funding.ght.selectors.ghts_with_facts`),
software vendors (1, only when the application names vendors by name).
"""

import datetime
from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone

from hopen.models import EstablishmentStatus
from hopen.permissions import get_establishment_for_reading
from indicators.models import GroupKind, PriorProgrammeResult, PriorResultKind
from indicators import windows
from indicators.selectors import attainment_of, current_catalogue
from indicators.state.selectors import current_declared_values

from funding.ght.selectors import declined_indicators, ghts_with_facts

from .models import SoftwareVendor
from .rules import (
    DOMAINS,
    ApplicationFacts,
    EligibilityInputs,
    GhtFacts,
    HnResults,
    IndicatorState,
    VendorFacts,
    Verdict,
    VerdictsByDomain,
    eligibility,
)



@dataclass(frozen=True)
class Application:
    """What an application (dossier) declares, as the eligibility rules need it.

    `domains`: every domain of the same application (joint candidature, §5.3.1 D6/D7); `vendors`: names of
    the vendors of the project (looked up in the RELIMS referential, `SoftwareVendor`) or `SoftwareVendor`
    objects; `convergence_reapplication`: the establishment re-applies in the frame of its GHT convergence
    strategy (new single application); `validated_by_support`: the GHT support establishment validated it.
    Any object with these attributes will do (a future dossier model, for instance).
    """

    domains: frozenset = frozenset()
    vendors: tuple = ()
    convergence_reapplication: bool = False
    validated_by_support: bool = False


def hn_results(establishment_ids, *, programme) -> dict:
    """{establishment id: HnResults} of the programme's earlier programme (`programme.prior_programme`: Hôpital
    numérique for HOP'EN, §5.3.1); domain codes are the programme's codes (see `indicators.PriorProgrammeResult`) —
    one query; no earlier programme, no result."""
    prior_id = programme.prior_programme_id
    rows = (
        PriorProgrammeResult.objects.filter(establishment_id__in=establishment_ids, programme_id=prior_id).values_list(
            "establishment_id", "kind", "domain_code", "achieved"
        )
        if prior_id is not None
        else []
    )
    gathered = {pk: {"prerequisites": None, "complete": None, "usage": set(), "funding": set()} for pk in establishment_ids}
    for establishment_id, kind, domain, achieved in rows:
        facts = gathered[establishment_id]
        if kind == PriorResultKind.PREREQUISITES_REACHED:
            facts["prerequisites"] = achieved
        elif kind == PriorResultKind.INDICATORS_COMPLETE:
            facts["complete"] = achieved
        elif kind == PriorResultKind.USAGE_TARGETS_REACHED and achieved:
            facts["usage"].add(domain.upper())
        elif kind == PriorResultKind.FUNDING_RECEIVED and achieved:
            facts["funding"].add(domain.upper())
    return {
        pk: HnResults(f["prerequisites"], f["complete"], frozenset(f["usage"]), frozenset(f["funding"]))
        for pk, f in gathered.items()
    }


def derogatory_deadline(programme) -> datetime.date:
    """The first day past the programme's prerequisites derogatory window (`windows.PREREQUISITES_DEROGATORY`;
    §5.3.1, annex 2 §2 « avant le 1er janvier 2021 dernier délai » → 01/01/2021 for HOP'EN) — one query."""
    return windows.programme_window(programme, windows.PREREQUISITES_DEROGATORY).last_day + windows.ONE_DAY


def _ghts_with_governance(establishments, indicators) -> dict:
    """{GHT id: (GHT, its governance facts)} for the public GHT members among `establishments`: what the GHT's
    support establishment entered on the GHT page (`funding.ght`: current SDSI with its validation date, GHT-level
    values declared for every indicator of `indicators` declined at GHT level, validated CIO) — one query."""
    ids = {e.ght_id for e in establishments if e.status == EstablishmentStatus.PUBLIC and e.ght_id}
    return ghts_with_facts(ids, declined_indicator_ids=[i.pk for i in declined_indicators(indicators)])


def _ght_facts(establishment, ghts: dict) -> GhtFacts | None:
    """§5.3.1 GHT requirements, for a public establishment member of a GHT (None otherwise)."""
    if establishment.status != EstablishmentStatus.PUBLIC or not establishment.ght_id:
        return None
    found = ghts.get(establishment.ght_id)
    if found is None:
        return None
    ght, facts = found
    return GhtFacts(
        is_support=ght.support_id == establishment.pk,
        master_plan_uploaded=facts.master_plan_uploaded,
        convergence_indicators_entered=facts.convergence_indicators_entered,
        cio_validated=facts.cio_validated,
    )


def _vendor_facts(vendors) -> tuple:
    """RELIMS facts of the application's vendors (one query for those given by name, case-insensitive); a name
    absent from the referential is neither referenced nor engaged."""
    names = {v.strip() for v in vendors if isinstance(v, str) and v.strip()}
    known = {}
    if names:
        condition = Q()
        for name in names:
            condition |= Q(name__iexact=name)
        known = {v.name.casefold(): v for v in SoftwareVendor.objects.filter(condition)}
    facts = []
    for vendor in vendors:
        if isinstance(vendor, str):
            if not vendor.strip():
                continue
            found = known.get(vendor.strip().casefold())
            facts.append(
                VendorFacts(vendor.strip(), bool(found and found.is_referenced), bool(found and found.qhn_engaged))
            )
        else:
            facts.append(VendorFacts(vendor.name, bool(vendor.is_referenced), bool(vendor.qhn_engaged)))
    return tuple(facts)


def _application_facts(application) -> ApplicationFacts | None:
    if application is None:
        return None
    return ApplicationFacts(
        vendors=_vendor_facts(tuple(getattr(application, "vendors", ()) or ())),
        convergence_reapplication=bool(getattr(application, "convergence_reapplication", False)),
        validated_by_support=bool(getattr(application, "validated_by_support", False)),
    )


def eligibility_for_establishment(establishment, *, programme, application=None, today=None) -> dict[str, Verdict]:
    """{domain: Verdict} for D1–D7 (§5.3.1) on `programme`, as a `VerdictsByDomain` (a dict that also names the
    reasons common to every domain). The establishment must already be in the caller's scope."""
    return eligibility_for_establishments(
        [establishment], programme=programme, application=application, today=today
    )[establishment.pk]


def eligibility_for_establishments(establishments, *, programme, application=None, today=None) -> dict:
    """{establishment id: VerdictsByDomain} on `programme` (its catalogue in force, its earlier programme's results,
    its derogatory deadline) for many establishments with a constant number of queries (lists)."""
    establishments = list(establishments)
    ids = [e.pk for e in establishments]
    today = today or timezone.localdate()
    catalogue = current_catalogue(programme)
    indicators = list(catalogue.indicators.all())
    labels = {group.code: group.label for group in catalogue.groups.all()}
    values = current_declared_values(ids, [indicator.pk for indicator in indicators])
    hn_by_establishment = hn_results(ids, programme=programme)
    deadline = derogatory_deadline(programme)
    ghts = _ghts_with_governance(establishments, indicators)
    facts = _application_facts(application)
    applied_domains = {str(d).upper() for d in (getattr(application, "domains", ()) or ())} if application else set()

    result = {}
    for establishment in establishments:
        states_by_group, prerequisites = {}, []
        for indicator in indicators:
            value = values.get((establishment.pk, indicator.pk))
            state = IndicatorState(
                indicator.code, attainment_of(indicator, value), value.document_count if value is not None else 0
            )
            states_by_group.setdefault(indicator.group.code, []).append(state)
            if indicator.group.kind == GroupKind.PREREQUISITE:
                prerequisites.append(state)
        verdicts = VerdictsByDomain()
        for domain in DOMAINS:  # D2 and D3 come before D6 and D7, whose joint candidature needs their verdicts
            joint = frozenset(
                d for d in applied_domains if d != domain and d in verdicts and verdicts[d].eligible_to_apply
            )
            verdicts[domain] = eligibility(
                EligibilityInputs(
                    domain=domain,
                    today=today,
                    derogatory_deadline=deadline,
                    indicators=tuple(states_by_group.get(domain, ())),
                    prerequisites=tuple(prerequisites),
                    hn=hn_by_establishment[establishment.pk],
                    ght=_ght_facts(establishment, ghts),
                    application=facts,
                    joint_domains=joint,
                    domain_label=labels.get(domain, ""),
                )
            )
        result[establishment.pk] = verdicts
    return result


def establishment_eligibility(user, finess, *, programme, application=None, today=None):
    """The establishment (404 outside the user's scope) and its verdicts per domain on `programme`."""
    establishment = get_establishment_for_reading(user, finess)
    return establishment, eligibility_for_establishment(
        establishment, programme=programme, application=application, today=today
    )
