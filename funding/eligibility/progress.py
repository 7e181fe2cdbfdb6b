"""Progress of establishments towards the HOP'EN prerequisites and the usage targets, for many at once.

Used by the dossier decisions (derogatory seed funding, usage funding), the deadline jobs (refund of the seed
at the prerequisites deadline) and the dashboards. Internal reads: the caller has already scoped the
establishments through the permission policy. A constant number of queries whatever the number of
establishments: the current catalogue (3) and the latest declared values (1), or the Hôpital numérique results (1).

- HOP'EN prerequisites (§5.3.1, annex 2 §2 « les prérequis du programme HOP'EN »): reached when every indicator
  of P1–P4 is reached on its latest declared value **with its justificatory documents** (§5.3.1: « la valeur des
  indicateurs et la totalité des pièces justificatives ») — the one rule `funding.eligibility.prerequisites.
  prerequisite_gaps`, also asked by the eligibility rules; a « non applicable » prerequisite is not reached.
- Hôpital numérique prerequisites (§5.3.1 note 3): the « prérequis atteints » result of the oSIS export
  (`indicators.PriorProgrammeResult`); no result recorded is not reached.
- Targets of a domain (annex 2 §2: « les valeurs cibles d'usage atteints […] toutes activités confondues »):
  reached when its indicator group D<n> is REACHED (`indicators.attainment.group_attainment`: every indicator
  reached or not applicable, one at least reached).
"""

from indicators.attainment import Attainment, group_attainment
from indicators.models import GroupKind
from indicators.selectors import attainment_of, current_catalogue, latest_declared_values

from .prerequisites import IndicatorState, prerequisites_met
from .selectors import hn_results, latest_declared_with_documents


def _ids(establishment_ids) -> list[int]:
    return list(dict.fromkeys(int(pk) for pk in establishment_ids))


def _catalogue(programme, catalogue):
    if catalogue is not None:
        return catalogue
    if programme is None:
        raise TypeError("Give the programme (or its catalogue in force).")
    return current_catalogue(programme)


def prerequisites_reached(establishment_ids, *, programme=None, catalogue=None) -> dict[int, bool]:
    """{establishment id: True when the programme's prerequisites P1–P4 are all reached, values and justificatory
    documents (§5.3.1, `prerequisites_met`)} (4 queries, 1 with the programme's `catalogue` given)."""
    ids = _ids(establishment_ids)
    if not ids:
        return {}
    catalogue = _catalogue(programme, catalogue)
    indicators = [i for i in catalogue.indicators.all() if i.group.kind == GroupKind.PREREQUISITE]
    values = latest_declared_with_documents(ids, [i.pk for i in indicators])

    def state(pk, indicator):
        value = values.get((pk, indicator.pk))
        return IndicatorState(
            indicator.code, attainment_of(indicator, value), value.document_count if value is not None else 0
        )

    return {pk: bool(indicators) and prerequisites_met([state(pk, i) for i in indicators]) for pk in ids}


def hn_prerequisites_reached(establishment_ids, *, programme) -> dict[int, bool]:
    """{establishment id: True when the prerequisites of the programme's earlier programme (Hôpital numérique for
    HOP'EN) are recorded as reached} (1 query)."""
    ids = _ids(establishment_ids)
    if not ids:
        return {}
    return {pk: bool(results.prerequisites_reached) for pk, results in hn_results(ids, programme=programme).items()}


def domain_targets_reached(
    establishment_ids, domain_codes, *, programme=None, catalogue=None
) -> dict[tuple[int, str], bool]:
    """{(establishment id, domain code): True when the indicator group of the domain is reached} (4 queries, 1
    with `catalogue` given). A domain code unknown to the catalogue is not reached."""
    ids = _ids(establishment_ids)
    codes = list(dict.fromkeys(str(code).upper() for code in domain_codes))
    if not ids or not codes:
        return {}
    catalogue = _catalogue(programme, catalogue)
    by_group = {code: [] for code in codes}
    for indicator in catalogue.indicators.all():
        if indicator.group.code in by_group:
            by_group[indicator.group.code].append(indicator)
    wanted = [i.pk for indicators in by_group.values() for i in indicators]
    values = latest_declared_values(ids, wanted, attainment_only=True) if wanted else {}
    return {
        (pk, code): bool(indicators)
        and group_attainment(attainment_of(i, values.get((pk, i.pk))) for i in indicators) == Attainment.REACHED
        for pk in ids
        for code, indicators in by_group.items()
    }


def indicators_reached(establishment_ids, indicator_codes, *, programme=None, catalogue=None) -> dict[tuple[int, str], bool]:
    """{(establishment id, indicator code): True when the latest declared value of that indicator reaches its target}
    — « non applicable » or no value is not reached. Used for the advanced rate (annex 3 §3: the structured-format
    indicator, D1.3 / D6.1 for HOP'EN). 1 query with `catalogue` given."""
    ids = _ids(establishment_ids)
    codes = list(dict.fromkeys(str(code) for code in indicator_codes if code))
    if not ids or not codes:
        return {}
    catalogue = _catalogue(programme, catalogue)
    indicators = [i for i in catalogue.indicators.all() if i.code in codes]
    values = latest_declared_values(ids, [i.pk for i in indicators], attainment_only=True) if indicators else {}
    return {
        (pk, indicator.code): attainment_of(indicator, values.get((pk, indicator.pk))) == Attainment.REACHED
        for pk in ids
        for indicator in indicators
    }
