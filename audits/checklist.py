"""The checklist of an audit (annex 4: « vérifier, sur la base des pièces justificatives : … les données déclarées
… sur les quatre prérequis et les cibles d'usage du (des) domaine(s) … pour lesquels ils ont été sélectionnés »):
for each candidate establishment of the dossier, every indicator of the four prerequisites and of each domain the
ARS selected, with the declared value in force when the dossier was drawn (its id is kept on the line: a later
correction does not change what was audited)."""

from collections import defaultdict

from funding.dossiers.models import SELECTED_DOMAIN_STATUSES, DossierDomain, DossierMember
from indicators.models import GroupKind
from indicators.selectors import current_catalogue
from indicators.state.selectors import current_declared_values

from .models import AuditLine


def checklist_lines(audits) -> list[AuditLine]:
    """The (unsaved) lines of `audits` (Audit rows of one campaign, saved): a constant number of queries."""
    audits = list(audits)
    if not audits:
        return []
    dossier_ids = [audit.dossier_id for audit in audits]
    members = defaultdict(list)
    for dossier_id, establishment_id in (
        DossierMember.objects.filter(dossier_id__in=dossier_ids).order_by("establishment_id")
        .values_list("dossier_id", "establishment_id")
    ):
        members[dossier_id].append(establishment_id)
    domains = defaultdict(set)
    for dossier_id, code in DossierDomain.objects.filter(
        dossier_id__in=dossier_ids, status__in=SELECTED_DOMAIN_STATUSES
    ).values_list("dossier_id", "domain_code"):
        domains[dossier_id].add(code)
    catalogue = current_catalogue(audits[0].campaign.programme)
    indicators = list(catalogue.indicators.all())
    # The latest declared values from the attainment state (issue 17: no read of « latest declared » over the history).
    values = current_declared_values(
        {e for ids in members.values() for e in ids}, [indicator.pk for indicator in indicators]
    )
    lines = []
    for audit in audits:
        wanted = [
            indicator for indicator in indicators
            if indicator.group.kind == GroupKind.PREREQUISITE or indicator.group.code in domains[audit.dossier_id]
        ]
        for establishment_id in members[audit.dossier_id]:
            for indicator in wanted:
                value = values.get((establishment_id, indicator.pk))
                lines.append(
                    AuditLine(
                        audit=audit, establishment_id=establishment_id, indicator=indicator,
                        group_code=indicator.group.code, value=value,
                    )
                )
    return lines
