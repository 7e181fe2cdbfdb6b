"""Work-queue counts of the AMI (§5.3.2 « Etape 1 », annex 5) for the homes (`hopen.work_queues`).

« La pré-candidature doit être validée par le directeur d'établissement et le directeur d'établissement support »:
a draft waits for its establishment (the editor fills it, the director validates it once a domain is chosen), a
member's validated pre-candidature waits for its GHT support director, a filed one waits for the ARS's decision on
each domain. One query each, whatever the number of pre-candidatures.
"""

from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Q

from hopen.models import AuditRecord, Establishment

from .models import Decision, FilingStatus, PreCandidature, PreCandidatureDomain
from .selectors import PROGRAMMING_TRANSMITTED, ami_establishment_filter


@dataclass(frozen=True)
class DraftState:
    domain_count: int


def drafts_of(establishment_ids, programme) -> dict[int, DraftState]:
    """{establishment id: DraftState} of the pre-candidatures still in preparation on `programme` (one query)."""
    ids = list(establishment_ids)
    if not ids or programme is None:
        return {}
    rows = (
        PreCandidature.objects.filter(establishment_id__in=ids, programme=programme, status=FilingStatus.DRAFT)
        .annotate(domain_count=Count("domains"))
        .values_list("establishment_id", "domain_count")
    )
    return {establishment_id: DraftState(count) for establishment_id, count in rows}


def awaiting_support_count(ght_ids, programme) -> int:
    """Members' pre-candidatures validated by their director and waiting for the GHT support's (one query)."""
    ids = list(ght_ids)
    if not ids or programme is None:
        return 0
    return PreCandidature.objects.filter(
        establishment__ght_id__in=ids, programme=programme, status=FilingStatus.AWAITING_SUPPORT
    ).count()


def to_decide_count(user, programme) -> int:
    """Filed pre-candidatures of the user's AMI scope (an ARS its region, the DGOS every region) with a domain the
    ARS has not decided yet (« présélection », annex 5) — one query."""
    if programme is None:
        return 0
    pending = PreCandidatureDomain.objects.filter(pre_candidature=OuterRef("pk"), decision=Decision.PENDING)
    return PreCandidature.objects.filter(
        programme=programme,
        status=FilingStatus.FILED,
        establishment__in=Establishment.objects.filter(ami_establishment_filter(user)).values("pk"),
    ).filter(Exists(pending)).count()


def regions_with_programming(programme) -> int:
    """§5.3.2: the number of regions whose ARS has presented its programming to the DGOS on `programme` (one query;
    the same records as `ami.selectors.last_transmission`)."""
    if programme is None:
        return 0
    of_programme = Q(changes__programme__1=programme.code)
    if programme.is_default:
        of_programme |= ~Q(changes__has_key="programme")
    return (
        AuditRecord.objects.filter(action=PROGRAMMING_TRANSMITTED, object_type="hopen.region")
        .filter(of_programme)
        .values("object_id")
        .distinct()
        .count()
    )
