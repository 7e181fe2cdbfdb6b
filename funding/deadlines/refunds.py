"""Job d of the sweep: the refund of the seed when the HOP'EN prerequisites are not reached at the deadline
(annex 2 §2)."""

import datetime
from collections import defaultdict
from decimal import Decimal

from django.db import transaction
from django.db.models import Exists, OuterRef, Prefetch, Q, Subquery, Sum

from funding.dossiers.gates import RefundClaimFacts, refund_claim_gate
from funding.dossiers.models import DossierDomain, DossierDomainShare, DossierMember, DossierStatus
from funding.dossiers.rules import pro_rata
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

REFUND_KEY_PREFIX = "prerequisites-refund"  # ledger keys: `envelopes.services.share_claim_key`
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
    `funding.eligibility.progress.prerequisites_reached`), through `funding.dossiers.gates.refund_claim_gate`.

    Per member share: « l'établissement » that misses them refunds its own part of the seed paid — for a GHT
    domain only the members behind, each once (events `prerequisites_refund:<domain>:share:<share>`, ledger keys
    `prerequisites-refund:<domain>:share:<share>:seed`); an establishment's own dossier its whole seed paid, under its
    domain's keys. A dossier closed after an audit failure is claimed everything paid by `dossier_close`."""
    counts = {"domains": 0, "claims": 0, "notifications": 0, "letters": 0}
    for programme, _ in programmes_with_delays():
        add_counts(counts, _claim_refunds(as_of, programme))
    return counts


def _refund_event_key(domain, share) -> str:
    """One event per member share (annex 2 §2: the establishment that misses the prerequisites refunds its part); an
    establishment's own dossier keeps its domain's key (its single share)."""
    return f"prerequisites_refund:{domain.pk}" if share is None else f"prerequisites_refund:{domain.pk}:share:{share.pk}"


def _claims_of(domain):
    """[(share or None, member ids, part of the seed paid)] of a domain: per member share for a GHT dossier (its
    part of the seed paid, pro rata of the shares' seed parts — `funding.dossiers.rules.pro_rata`), the whole seed
    paid for an establishment's own dossier (its single share: the domain's keys)."""
    paid = domain.seed_paid_total or Decimal("0.00")
    shares = list(domain.shares.all())
    if not domain.dossier.ght_id or not shares:
        members = {s.establishment_id for s in shares} or set(domain.member_ids) or {domain.dossier.establishment_id}
        return [(None, sorted(members), paid)]
    weights = [s.seed_part for s in shares] if any(s.seed_part for s in shares) else [s.amount for s in shares]
    return [(share, [share.establishment_id], part) for share, part in zip(shares, pro_rata(paid, weights))]


def _claim_refunds(as_of, programme) -> dict[str, int]:
    """Annex 2 §2 per member share: only the part of the seed of the members without the prerequisites (values and
    documents) is claimed, once (event and ledger keys per share)."""
    from envelopes.models import EntryKind, LedgerEntry
    from envelopes.services import ShareClaim, seed_refund_claims_for_shares, share_claim_key

    counts = {"domains": 0, "claims": 0, "notifications": 0, "letters": 0}
    deadline = derogatory_deadline(programme)
    if as_of < deadline:
        return counts
    shares = DossierDomainShare.objects.select_related("establishment").order_by("pk")
    domains = list(
        DossierDomain.objects.select_related("dossier__establishment")
        .prefetch_related(Prefetch("shares", queryset=shares))
        .filter(dossier__programme=programme)
        .filter(Exists(LedgerEntry.objects.filter(dossier_domain=OuterRef("pk"), kind=EntryKind.SEED_PAYMENT)))
        .annotate(seed_paid_total=Subquery(
            LedgerEntry.objects.filter(dossier_domain=OuterRef("pk"), kind=EntryKind.SEED_PAYMENT)
            .order_by().values("dossier_domain").annotate(total=Sum("amount")).values("total")[:1]
        ))
        .exclude(dossier__status=DossierStatus.CLOSED)
        # an establishment's own dossier is claimed once per domain; a GHT domain once per member share
        .filter(Q(dossier__ght__isnull=False) | ~Exists(DeadlineEvent.objects.filter(
            kind=DeadlineEventKind.PREREQUISITES_REFUND, domain=OuterRef("pk"))))
        .order_by("pk")
    )
    if not domains:
        return counts
    members = defaultdict(set)
    for dossier_id, establishment_id in DossierMember.objects.filter(
        dossier_id__in={d.dossier_id for d in domains}
    ).values_list("dossier_id", "establishment_id"):
        members[dossier_id].add(establishment_id)
    for domain in domains:
        domain.member_ids = members[domain.dossier_id]
    claims = [(domain, *claim) for domain in domains for claim in _claims_of(domain)]
    reached = prerequisites_reached({pk for _, _, ids, _ in claims for pk in ids}, programme=programme)
    recorded = set(DeadlineEvent.objects.filter(
        key__in=[_refund_event_key(domain, share) for domain, share, _, _ in claims]
    ).values_list("key", flat=True))
    due = []
    for domain, share, ids, part in claims:
        behind = tuple(str(pk) for pk in ids if not reached.get(pk))
        key = _refund_event_key(domain, share)
        # the refund gate (annex 2 §2): deadline come, its seed paid, the member without the prerequisites
        if key not in recorded and not refund_claim_gate(
            RefundClaimFacts(as_of=as_of, deadline=deadline, paid=part, behind=behind)
        ):
            due.append((domain, share, len(behind), part, key))
    inserted = record_events(
        [Event(DeadlineEventKind.PREREQUISITES_REFUND, key, dossier_id=d.dossier_id, domain_id=d.pk,
               region_id=d.dossier.region_id,
               detail=(f"{share.establishment.name} : prérequis HOP'EN non atteints au {_day(deadline)}." if share
                       else f"Prérequis HOP'EN non atteints au {_day(deadline)} ({behind} établissement(s) candidat(s)).")
               )
         for d, share, behind, _, key in due],
        as_of,
    )
    fresh = [item for item in due if item[4] in inserted]
    if not fresh:
        return counts
    entries = seed_refund_claims_for_shares(
        claims=[ShareClaim(dossier_domain=d, share=share, amount=part) for d, share, _, part, _ in fresh],
        reason=REFUND_REASON.format(deadline=_day(deadline)), key_prefix=REFUND_KEY_PREFIX, by=None,
    )
    by_key = {entry.idempotency_key: entry for entry in entries}
    claimed = [(d, share, by_key[key]) for d, share, _, _, _ in fresh
               if (key := share_claim_key(REFUND_KEY_PREFIX, d, share)) in by_key]
    counts["letters"] = request_letters([
        LetterRequest(d.dossier, LetterKind.REFUND_CLAIM, f"refund:{entry.pk}", d) for d, _, entry in claimed
    ])
    dossiers = {d.dossier_id: d.dossier for d, _, _ in claimed}
    side, by_region = _dossier_parties(dossiers.values())
    notes = []
    for domain, share, entry in claimed:
        dossier = domain.dossier
        who = f"{share.establishment.name} n'avait pas atteint les prérequis HOP'EN" if share else (
            "les prérequis HOP'EN n'étaient pas atteints"
        )
        part = " de sa part de l'amorçage perçu" if share else " de l'amorçage perçu"
        notes.append(Note(
            [*side[dossier.pk], *by_region[dossier.region_id].values()],
            f"Dossier {dossier.reference}, domaine {domain.domain_code} : {who} au {_day(deadline)} ; le "
            f"remboursement{part} ({french_euros(entry.amount)}) est demandé (annexe 2 §2).",
            _dossier_link(dossier.reference),
        ))
    counts["notifications"] = notify_many(notes, subject="HOP'EN — demande de remboursement de l'amorçage")
    counts["domains"], counts["claims"] = len({d.pk for d, _, _ in claimed}), len(claimed)
    logger.info(
        "Prérequis non atteints à l'échéance du %s (au %s) : %s domaine(s), %s demande(s) de remboursement.",
        deadline, as_of, counts["domains"], counts["claims"],
    )
    return counts
