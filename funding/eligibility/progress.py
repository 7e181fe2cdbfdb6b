"""Progress of establishments towards the HOP'EN prerequisites and the usage targets, for many at once.

Used by the dossier decisions (derogatory seed funding, usage funding), the deadline jobs (refund of the seed
at the prerequisites deadline) and the dashboards. Internal reads: the caller has already scoped the
establishments through the permission policy. One query whatever the number of establishments: the attainment
state (`indicators.state`, kept in the transaction of every declaration, correction and catalogue change) or the
Hôpital numérique results — no read of the value history.

- HOP'EN prerequisites (§5.3.1, annex 2 §2 « les prérequis du programme HOP'EN »): reached when every indicator
  of P1–P4 is reached on its latest declared value **with its justificatory documents** (§5.3.1: « la valeur des
  indicateurs et la totalité des pièces justificatives ») — the one rule `indicators.prerequisites.
  prerequisite_gaps` (re-exported by `funding.eligibility.prerequisites`), asked by the state's writer and by the
  eligibility rules; a « non applicable » prerequisite is not reached.
- Hôpital numérique prerequisites (§5.3.1 note 3): the « prérequis atteints » result of the oSIS export
  (`indicators.PriorProgrammeResult`); no result recorded is not reached.
- Targets of a domain (annex 2 §2: « les valeurs cibles d'usage atteints […] toutes activités confondues »):
  reached when its indicator group D<n> is REACHED (`indicators.attainment.group_attainment`: every indicator
  reached or not applicable, one at least reached).
"""

from indicators.models import Indicator
from indicators.state.selectors import group_reached, indicators_reached_pairs, prerequisites_met_ids

from .selectors import hn_results


def _ids(establishment_ids) -> list[int]:
    return list(dict.fromkeys(int(pk) for pk in establishment_ids))


def _programme_id(programme, catalogue) -> int:
    """The programme whose catalogue in force is read (`catalogue`, when given, is that catalogue)."""
    if catalogue is not None:
        return catalogue.programme_id
    if programme is None:
        raise TypeError("Give the programme (or its catalogue in force).")
    return programme.pk


def prerequisites_reached(establishment_ids, *, programme=None, catalogue=None) -> dict[int, bool]:
    """{establishment id: True when the programme's prerequisites P1–P4 are all reached, values and justificatory
    documents (§5.3.1: « la valeur des indicateurs et la totalité des pièces justificatives », `prerequisites_met`)}
    — read from the attainment state (`EstablishmentState.prerequisites_met`, kept on every declaration), 1 query."""
    ids = _ids(establishment_ids)
    if not ids:
        return {}
    met = prerequisites_met_ids(_programme_id(programme, catalogue), ids)
    return {pk: pk in met for pk in ids}


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
    """{(establishment id, domain code): True when the indicator group of the domain is reached} (annex 2 §2 « les
    valeurs cibles d'usage atteintes »; annex 1 targets) — read from the attainment state (`GroupState`), 1 query.
    A domain code unknown to the catalogue is not reached."""
    ids = _ids(establishment_ids)
    codes = list(dict.fromkeys(str(code).upper() for code in domain_codes))
    if not ids or not codes:
        return {}
    reached = group_reached(_programme_id(programme, catalogue), ids, codes)
    return {(pk, code): (pk, code) in reached for pk in ids for code in codes}


def indicators_reached(establishment_ids, indicator_codes, *, programme=None, catalogue=None) -> dict[tuple[int, str], bool]:
    """{(establishment id, indicator code): True when the latest declared value of that indicator reaches its target}
    (annex 1) — « non applicable » or no value is not reached; codes absent from the catalogue in force are left out.
    Used for the advanced rate (annex 3 §3: the structured-format indicator, D1.3 / D6.1 for HOP'EN). Read from the
    attainment state (`CurrentValue`): 1 query with `catalogue` given, 2 otherwise."""
    ids = _ids(establishment_ids)
    codes = list(dict.fromkeys(str(code) for code in indicator_codes if code))
    if not ids or not codes:
        return {}
    programme_id = _programme_id(programme, catalogue)
    if catalogue is not None:
        known = [i.code for i in catalogue.indicators.all() if i.code in codes]
    else:
        known = list(
            Indicator.objects.filter(
                catalogue__programme_id=programme_id, catalogue__is_current=True, code__in=codes
            ).order_by("group__position", "position").values_list("code", flat=True)
        )
    reached = indicators_reached_pairs(programme_id, ids, known) if known else set()
    return {(pk, code): (pk, code) in reached for pk in ids for code in known}
