"""The ARS admits a dossier domain without AMI pre-selection (§5.3.2 « Exceptionnellement, les établissements
pourront candidater […] jusqu'au 31/12/2021, si l'ARS et son enveloppe régionale le permettent »).

Reading (see `funding.dossiers.gates`): the Étape 2 concerns the projects pre-selected at the AMI; a late
candidature without that pre-selection is admitted by the ARS of the region, with a mandatory reason, only while
the programme's late candidature window (`indicators.windows.AMI_LATE_FILING`) is open and before the dossier is
transmitted. Audited; the establishment is notified.
"""

from django.db import transaction
from django.utils import timezone

from hopen.audit import audit_record, diff
from hopen.exceptions import ApplicationError
from indicators import windows

from ..models import DossierDomain, DossierStatus
from ..selectors import EDITABLE_STATUSES
from ..states import TransitionRefused
from .common import _domain_state, establishment_side, _lock_domain, _notify, _now, _require_region_money

ACTION = "Admission sans présélection AMI"


@transaction.atomic
def domain_admit_without_ami(*, domain, reason, by, now=None) -> DossierDomain:
    """§5.3.2: the region's ARS records « admis sans présélection AMI » on a domain of a dossier being prepared, with
    its reason, while the late candidature window is open; the transmission then accepts the domain."""
    now = _now(now)
    dossier, domain = _lock_domain(domain)
    _require_region_money(by, dossier, "L'admission d'un domaine sans présélection AMI revient à l'ARS de la région.")
    if dossier.status not in EDITABLE_STATUSES:
        raise TransitionRefused(
            f"Impossible d'admettre le domaine sans présélection AMI : le dossier est « {DossierStatus(dossier.status).label} »."
        )
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(
            "Le motif de l'admission sans présélection AMI est obligatoire (instruction §5.3.2).",
            extra={"errors": {"reason": ["Le motif est obligatoire."]}},
        )
    windows.require_open(dossier.programme, windows.AMI_LATE_FILING, timezone.localdate(now), action=ACTION)
    if domain.admitted_without_ami_at is not None:
        raise TransitionRefused(f"Le domaine {domain.domain_code} est déjà admis sans présélection AMI.")
    before = _domain_state(domain)
    domain.admitted_without_ami_reason, domain.admitted_without_ami_at, domain.admitted_without_ami_by = reason, now, by
    domain.save()
    audit_record(
        actor=by, action="dossier_domain.admit_without_ami", target=domain, changes=diff(before, _domain_state(domain))
    )
    _notify(
        establishment_side(dossier),
        f"L'ARS admet le domaine {domain.domain_code} du dossier {dossier.reference} sans présélection AMI "
        f"(candidature tardive, instruction §5.3.2) : {reason}",
        dossier,
    )
    return domain
