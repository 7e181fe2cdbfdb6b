"""Job d of the sweep: the refund of the seed when the HOP'EN prerequisites are not reached at the deadline
(annex 2 §2)."""

import datetime
from collections import defaultdict

from django.db import transaction
from django.db.models import Exists, OuterRef, Subquery, Sum

from funding.dossiers.gates import RefundClaimFacts, refund_claim_gate
from funding.dossiers.models import DossierDomain, DossierMember, DossierStatus
from funding.eligibility.progress import prerequisites_reached
from funding.eligibility.selectors import derogatory_deadline
from funding.letters.models import LetterKind
from funding.letters.services import LetterRequest, request_letters
from hopen.formatting import french_euros

from .common import (
    Event,
    Note,
    _day,
    _dossier_link,
    _dossier_parties,
    add_counts,
    logger,
    notify_many,
    programmes_with_delays,
    record_events,
)
from .models import DeadlineEvent, DeadlineEventKind

REFUND_KEY_PREFIX = "prerequisites-refund"
REFUND_REASON = (
    "Prérequis HOP'EN non atteints à l'échéance du {deadline} : remboursement de l'amorçage perçu (annexe 2 §2)."
)


# --- d. Refund of the seed when the prerequisites are not reached at the deadline (annex 2 §2) ------------------------


@transaction.atomic
def claim_refunds_for_unmet_prerequisites(as_of: datetime.date) -> dict[str, int]:
    """Annex 2 §2: « Les prérequis doivent être atteints au plus tard le 01 janvier 2021. Si les prérequis ne
    sont pas atteints à date par l'établissement, il remboursera les montants perçus au titre de l'amorçage ».
    From the deadline day on (« au plus tard le 01 janvier 2021 »), read as in `funding.eligibility.rules` — for
    every programme, with its derogatory deadline and its prerequisites (values and justificatory documents, §5.3.1:
    `funding.eligibility.progress.prerequisites_reached`), through `funding.dossiers.gates.refund_claim_gate`."""
    counts = {"domains": 0, "claims": 0, "notifications": 0, "letters": 0}
    for programme, _ in programmes_with_delays():
        add_counts(counts, _claim_refunds(as_of, programme))
    return counts


def _claim_refunds(as_of, programme) -> dict[str, int]:
    from envelopes.models import EntryKind, LedgerEntry

    counts = {"domains": 0, "claims": 0, "notifications": 0, "letters": 0}
    deadline = derogatory_deadline(programme)
    if as_of < deadline:
        return counts
    domains = list(
        DossierDomain.objects.select_related("dossier__establishment")
        .filter(dossier__programme=programme)
        .filter(Exists(LedgerEntry.objects.filter(dossier_domain=OuterRef("pk"), kind=EntryKind.SEED_PAYMENT)))
        .annotate(seed_paid_total=Subquery(
            LedgerEntry.objects.filter(dossier_domain=OuterRef("pk"), kind=EntryKind.SEED_PAYMENT)
            .order_by().values("dossier_domain").annotate(total=Sum("amount")).values("total")[:1]
        ))
        .exclude(dossier__status=DossierStatus.CLOSED)
        .filter(~Exists(DeadlineEvent.objects.filter(
            kind=DeadlineEventKind.PREREQUISITES_REFUND, domain=OuterRef("pk"))))
        .order_by("pk")
    )
    if not domains:
        return counts
    dossier_ids = {domain.dossier_id for domain in domains}
    members = defaultdict(set)
    for dossier_id, establishment_id in DossierMember.objects.filter(dossier_id__in=dossier_ids).values_list(
        "dossier_id", "establishment_id"
    ):
        members[dossier_id].add(establishment_id)
    for domain in domains:
        members[domain.dossier_id] = members[domain.dossier_id] or {domain.dossier.establishment_id}
    reached = prerequisites_reached({pk for ids in members.values() for pk in ids}, programme=programme)
    unmet = {
        dossier_id: sorted(pk for pk in ids if not reached.get(pk)) for dossier_id, ids in members.items()
    }
    due = [  # the refund gate (annex 2 §2): deadline come, seed paid, a candidate without the prerequisites
        domain for domain in domains
        if not refund_claim_gate(RefundClaimFacts(
            as_of=as_of, deadline=deadline, paid=domain.seed_paid_total or 0,
            behind=tuple(str(pk) for pk in unmet[domain.dossier_id]),
        ))
    ]
    inserted = record_events(
        [Event(DeadlineEventKind.PREREQUISITES_REFUND, f"prerequisites_refund:{d.pk}", dossier_id=d.dossier_id,
               domain_id=d.pk, region_id=d.dossier.region_id,
               detail=f"Prérequis HOP'EN non atteints au {_day(deadline)} ({len(unmet[d.dossier_id])} "
                      f"établissement(s) candidat(s)).")
         for d in due],
        as_of,
    )
    fresh = [d for d in due if f"prerequisites_refund:{d.pk}" in inserted]
    if not fresh:
        return counts
    from envelopes.services import refund_claims_for

    claims = refund_claims_for(
        dossier_domains=fresh, pots={"seed"}, reason=REFUND_REASON.format(deadline=_day(deadline)),
        key_prefix=REFUND_KEY_PREFIX, by=None,
    )
    by_id = {domain.pk: domain for domain in fresh}
    claimed = defaultdict(list)
    for entry in claims:
        claimed[entry.dossier_domain_id].append(entry)
    counts["letters"] = request_letters([
        LetterRequest(by_id[entry.dossier_domain_id].dossier, LetterKind.REFUND_CLAIM, f"refund:{entry.pk}",
                      by_id[entry.dossier_domain_id])
        for entry in claims
    ])
    dossiers = {d.dossier_id: d.dossier for d in fresh}
    side, by_region = _dossier_parties(dossiers.values())
    notes = []
    for domain in fresh:
        if not claimed[domain.pk]:
            continue
        dossier = domain.dossier
        amount = sum(entry.amount for entry in claimed[domain.pk])
        notes.append(Note(
            [*side[dossier.pk], *by_region[dossier.region_id].values()],
            f"Dossier {dossier.reference}, domaine {domain.domain_code} : les prérequis HOP'EN n'étaient pas atteints "
            f"au {_day(deadline)} ; le remboursement de l'amorçage perçu ({french_euros(amount)}) est demandé "
            "(annexe 2 §2).",
            _dossier_link(dossier.reference),
        ))
    counts["notifications"] = notify_many(notes, subject="HOP'EN — demande de remboursement de l'amorçage")
    counts["domains"], counts["claims"] = len(fresh), len(claims)
    logger.info(
        "Prérequis non atteints à l'échéance du %s (au %s) : %s domaine(s), %s demande(s) de remboursement.",
        deadline, as_of, len(fresh), len(claims),
    )
    return counts
