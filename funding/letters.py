"""The letters an ARS sends about a dossier, as PDF (WeasyPrint), generated once per decision and attached to it.

- `request_letter` is called by the decision services, inside their transaction: it records the letter
  (idempotent on (kind, event_key), a database constraint, even under concurrent calls) and enqueues its
  generation after the commit (`funding.tasks.generate_letter`).
- `generate_letter` (the task's body) renders the PDF, stores it under a random key and records its size and
  SHA-256; a letter already generated is left as it is.
- `render_letter_pdf` / `letter_context` build the document from the dossier and its domains:
  selection letter (annex 4 §1: selected domains, refused domains and their reasons), seed funding decision
  (annex 2 §2, §5.1 derogatory seed), usage funding notification (annex 2 §2: total − seed, per domain),
  refund claim (annex 2 §2 prerequisites deadline, annex 4 audits) and the funding agreement skeleton the ARS
  completes (annex 4 §2, reviews annex 4 §3). For a GHT dossier the amounts are listed per candidate member and
  paid to the support establishment (annex 3 §2).

Amounts and dates are written the French way by `hopen.formatting` (« 1 234 567,89 € », « 25 novembre 2026 »).
"""

import hashlib
import logging
import re
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, transaction
from django.db.models import Count
from django.template.loader import render_to_string
from django.utils import timezone

from hopen.audit import audit_record
from hopen.formatting import french_date, french_euros
from indicators.models import GroupKind, IndicatorGroup

from . import rules_dossiers
from .calendar import RECANDIDACY, programme_delays
from .selectors_eligibility import derogatory_deadline
from .models_dossiers import (
    DomainStatus,
    Dossier,
    DossierDomain,
    DossierLetter,
    DossierStatus,
    LetterKind,
    RefusalKind,
)

logger = logging.getLogger(__name__)
# WeasyPrint logs every layout step at INFO: keep the worker's log for what we do.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)

# Reference of a letter: f"{dossier.reference}-{code}-{n:02d}".
LETTER_CODES = {
    LetterKind.SELECTION: "SEL",
    LetterKind.SEED_DECISION: "AMO",
    LetterKind.USAGE_NOTIFICATION: "USA",
    LetterKind.REFUND_CLAIM: "REM",
    LetterKind.FUNDING_AGREEMENT: "CNV",
}
TEMPLATE_DIR = "funding/letters"
SELECTED_STATUSES = (
    DomainStatus.SELECTED, DomainStatus.TARGETS_REACHED, DomainStatus.USAGE_NOTIFIED, DomainStatus.PAID,
)
REFUND_EVENT_PREFIX = "refund:"
_REFERENCE_ATTEMPTS = 5


# --- Request and generation ------------------------------------------------------------------------------------------


def letter_reference(dossier, kind, number: int) -> str:
    return f"{dossier.reference}-{LETTER_CODES[kind]}-{number:02d}"


def request_letter(*, dossier, kind, event_key, domain=None) -> DossierLetter:
    """The letter documenting the decision `event_key` (created once) — its PDF is generated after the commit.

    Call it inside the deciding service's transaction: if that transaction rolls back, neither the letter nor
    its generation remain. Idempotent on (kind, event_key) (unique constraint): a second call, even a concurrent
    one, returns the first letter. The reference numbers a dossier's letters of one kind: REF-SEL-01, REF-AMO-02…
    """
    kind = LetterKind(kind)
    existing = DossierLetter.objects.filter(kind=kind, event_key=event_key).first()
    if existing is not None:
        return existing
    for attempt in range(_REFERENCE_ATTEMPTS):
        number = DossierLetter.objects.filter(dossier=dossier, kind=kind).count() + 1 + attempt
        try:
            with transaction.atomic():  # a savepoint: a clash leaves the caller's transaction usable
                letter = DossierLetter.objects.create(
                    dossier=dossier, domain=domain, kind=kind, event_key=event_key,
                    reference=letter_reference(dossier, kind, number),
                )
        except IntegrityError:
            # Either the same event was recorded meanwhile (return it) or another letter of this dossier took
            # the reference number (try the next one).
            existing = DossierLetter.objects.filter(kind=kind, event_key=event_key).first()
            if existing is not None:
                return existing
            continue
        transaction.on_commit(lambda pk=letter.pk: _enqueue_generation(pk))
        return letter
    raise RuntimeError(f"Impossible d'attribuer une référence au courrier {kind} du dossier {dossier.reference}.")


@dataclass(frozen=True)
class LetterRequest:
    dossier: Dossier
    kind: str
    event_key: str
    domain: DossierDomain | None = None


def decision_letter_requests(dossier, domains) -> list[LetterRequest]:
    """The letters of an ARS decision on a dossier (annex 4 §1–§2), whoever takes it — the ARS, or the silence of
    four months: the selection letter (selected and refused domains, reasons); when the dossier goes « en cours »,
    the funding agreement and a seed decision per selected domain with seed funding (annex 2 §2)."""
    requests = [LetterRequest(dossier, LetterKind.SELECTION, f"selection:{dossier.pk}")]
    if dossier.status == DossierStatus.IN_PROGRESS:
        requests.append(LetterRequest(dossier, LetterKind.FUNDING_AGREEMENT, f"agreement:{dossier.pk}"))
        requests += [
            LetterRequest(dossier, LetterKind.SEED_DECISION, f"seed:{domain.pk}", domain)
            for domain in domains
            if domain.status == DomainStatus.SELECTED and domain.seed_amount > 0
        ]
    return requests


def request_letters(requests: list[LetterRequest]) -> int:
    """`request_letter` for many letters at once (the deadline sweep) (a constant number of queries): one count of
    the dossiers' letters for the reference numbers, one ``INSERT … ON CONFLICT DO NOTHING RETURNING``, the
    generation of each new letter enqueued after the commit. A letter whose (kind, event_key) is already
    recorded is left as it is; one whose reference number was taken meanwhile by a concurrent letter of the same
    dossier goes through `request_letter`, which retries. Returns the number of letters created."""
    if not requests:
        return 0
    requests = list({(r.kind, r.event_key): r for r in requests}.values())
    counts = defaultdict(int)
    rows = (
        DossierLetter.objects.filter(
            dossier_id__in={r.dossier.pk for r in requests}, kind__in={r.kind for r in requests}
        )
        .values_list("dossier_id", "kind")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for dossier_id, kind, n in rows:
        counts[(dossier_id, kind)] = n
    references = []
    for request in requests:
        counts[(request.dossier.pk, request.kind)] += 1
        number = counts[(request.dossier.pk, request.kind)]
        references.append(letter_reference(request.dossier, LetterKind(request.kind), number))
    now = timezone.now()
    table = DossierLetter._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table} (dossier_id, domain_id, kind, event_key, reference, file, size, sha256, requested_at)
            SELECT t.dossier_id, t.domain_id, t.kind, t.event_key, t.reference, '', 0, '', %s
            FROM unnest(%s::bigint[], %s::bigint[], %s::varchar[], %s::varchar[], %s::varchar[])
                AS t(dossier_id, domain_id, kind, event_key, reference)
            ORDER BY t.kind, t.event_key
            ON CONFLICT DO NOTHING
            RETURNING id, kind, event_key
            """,
            [
                now, [r.dossier.pk for r in requests], [r.domain.pk if r.domain else None for r in requests],
                [r.kind for r in requests], [r.event_key for r in requests], references,
            ],
        )
        inserted = {(kind, key): pk for pk, kind, key in cursor.fetchall()}
    for pk in inserted.values():
        transaction.on_commit(lambda pk=pk: _enqueue_generation(pk))
    left = [r for r in requests if (r.kind, r.event_key) not in inserted]
    if left:
        recorded = set(
            DossierLetter.objects.filter(event_key__in={r.event_key for r in left}).values_list("kind", "event_key")
        )
        for request in left:
            if (request.kind, request.event_key) not in recorded:  # a reference number clash: rare
                request_letter(dossier=request.dossier, kind=request.kind, event_key=request.event_key,
                               domain=request.domain)
    return len(inserted)


def _enqueue_generation(letter_id: int) -> None:
    from .tasks import generate_letter as generate_letter_task

    generate_letter_task.delay(letter_id)


def generate_letter(letter_id: int) -> DossierLetter | None:
    """Render and store the PDF of a letter (the Celery task's body). A letter already generated is returned
    unchanged; an unknown id (rolled back meanwhile) answers None."""
    with transaction.atomic():
        letter = (
            DossierLetter.objects.select_for_update(of=("self",))
            .select_related("dossier", "domain")
            .filter(pk=letter_id)
            .first()
        )
        if letter is None:
            logger.warning("Courrier %s introuvable : rien à générer.", letter_id)
            return None
        if letter.generated_at is not None:
            return letter
        pdf = render_letter_pdf(letter)
        letter.file.save(f"{letter.reference}.pdf", ContentFile(pdf), save=False)
        try:
            letter.size = len(pdf)
            letter.sha256 = hashlib.sha256(pdf).hexdigest()
            letter.generated_at = timezone.now()
            letter.save(update_fields=["file", "size", "sha256", "generated_at"])
            audit_record(
                actor=None, action="dossier_letter.generate", target=letter,
                changes={"sha256": [None, letter.sha256], "size": [None, letter.size]},
            )
        except Exception:
            letter.file.storage.delete(letter.file.name)
            raise
    logger.info("Courrier %s généré (%s octets).", letter.reference, letter.size)
    return letter


def render_letter_pdf(letter) -> bytes:
    """The letter as a PDF document (A4, WeasyPrint)."""
    from weasyprint import HTML

    return HTML(string=render_letter_html(letter)).write_pdf()


def render_letter_html(letter) -> str:
    return render_to_string(f"{TEMPLATE_DIR}/{letter.kind}.html", letter_context(letter))


# --- Content ---------------------------------------------------------------------------------------------------------


@dataclass
class ShareRow:
    """Annex 3 §2: one candidate establishment's flat amount in a GHT dossier's domain."""

    name: str
    finess: str
    amount: str


@dataclass
class DomainRow:
    code: str
    label: str
    status: str
    total: str
    seed: str
    usage: str
    target_deadline: str
    has_seed: bool = False
    is_derogatory: bool = False
    decided_on: str = ""
    reason: str = ""
    refusal_kind: str = ""
    refused_for_silence: bool = False
    financial_refusal: bool = False
    recandidacy_from: str = ""
    shares: list[ShareRow] = field(default_factory=list)


def usage_amount_of(domain) -> Decimal:
    """Annex 2 §2: the usage funding of a domain is its total minus the seed already granted."""
    if domain.usage_amount is not None:
        return domain.usage_amount
    return rules_dossiers.usage_amount(domain.total_amount, domain.seed_amount)


def domain_labels(programme_code: str = "HOPEN") -> dict[str, str]:
    """D1–D7 labels from the catalogue in force (annex 1); empty when no catalogue is loaded."""
    return dict(
        IndicatorGroup.objects.filter(
            catalogue__programme__code=programme_code, catalogue__is_current=True, kind=GroupKind.DOMAIN
        ).values_list("code", "label")
    )


def ars_place(address: str) -> str:
    """The town of the ARS's address (« 59000 Lille » → « Lille »), printed before the date; "" if unknown."""
    for line in reversed([line.strip() for line in (address or "").splitlines() if line.strip()]):
        match = re.match(r"^(?:CS\s*\d+\s+)?\d{5}\s+(.+?)(?:\s+cedex(?:\s*\d+)?)?$", line, flags=re.IGNORECASE)
        if match:
            return match.group(1).strip()
    return ""


def _domain_row(domain, labels, recandidacy_delay=None) -> DomainRow:
    is_refused = domain.status == DomainStatus.REFUSED
    recandidacy_from = ""
    if is_refused and domain.decided_at and domain.refusal_kind and recandidacy_delay is not None:
        refused_on = timezone.localtime(domain.decided_at).date()
        recandidacy_from = french_date(
            rules_dossiers.recandidacy_allowed_from(refused_on, domain.refusal_kind, recandidacy_delay)
        )
    return DomainRow(
        code=domain.domain_code,
        label=labels.get(domain.domain_code, ""),
        status=domain.get_status_display(),
        total=french_euros(domain.total_amount),
        seed=french_euros(domain.seed_amount),
        usage=french_euros(usage_amount_of(domain)),
        target_deadline=french_date(domain.target_deadline),
        has_seed=domain.seed_amount > 0,
        is_derogatory=domain.seed_is_derogatory,
        decided_on=french_date(domain.decided_at) if domain.decided_at else "",
        reason=domain.decision_reason if is_refused else "",
        refusal_kind=domain.get_refusal_kind_display() if is_refused and domain.refusal_kind else "",
        refused_for_silence=domain.refused_for_silence,
        financial_refusal=is_refused and domain.refusal_kind == RefusalKind.FINANCIAL,
        recandidacy_from=recandidacy_from,
        shares=[
            ShareRow(name=share.establishment.name, finess=share.establishment.finess, amount=french_euros(share.amount))
            for share in sorted(domain.shares.all(), key=lambda s: (s.establishment.name, s.establishment.finess))
        ],
    )


def _sum(values) -> str:
    return french_euros(sum(values, Decimal("0")))


def letter_context(letter) -> dict:
    """Everything the templates print, already formatted (the templates hold no arithmetic)."""
    dossier = (
        Dossier.objects.select_related(
            "programme", "region", "establishment", "establishment__legal_entity", "ght", "ght__support",
        )
        .prefetch_related("members__establishment")
        .get(pk=letter.dossier_id)
    )
    domains = list(
        DossierDomain.objects.filter(dossier=dossier)
        .prefetch_related("shares__establishment")
        .order_by("domain_code")
    )
    labels = domain_labels(dossier.programme.code)
    recandidacy_delay = programme_delays(dossier.programme.code).get(RECANDIDACY)  # annex 4 §1: six months
    rows = {domain.pk: _domain_row(domain, labels, recandidacy_delay) for domain in domains}
    region = dossier.region
    members = sorted(
        (member.establishment for member in dossier.members.all()), key=lambda e: (e.name, e.finess)
    )
    context = {
        "letter": letter,
        "kind_label": letter.get_kind_display(),
        "dossier": dossier,
        "establishment": dossier.establishment,
        "is_ght": dossier.is_ght_dossier,
        "ght": dossier.ght,
        "members": members,
        "ars": {
            "name": region.ars_name,
            "address_lines": [line.strip() for line in region.ars_address.splitlines() if line.strip()],
            "place": ars_place(region.ars_address),
            "region": region.name,
        },
        "letter_date": french_date(letter.requested_at),
        "transmitted_on": french_date(dossier.transmitted_at) if dossier.transmitted_at else "",
        "derogatory_deadline": french_date(derogatory_deadline()),
        "selected": [rows[d.pk] for d in domains if d.status in SELECTED_STATUSES],
        "refused": [rows[d.pk] for d in domains if d.status == DomainStatus.REFUSED],
        "pending": [rows[d.pk] for d in domains if d.status == DomainStatus.PENDING],
        "domain_count": len(domains),
    }
    selected = [d for d in domains if d.status in SELECTED_STATUSES]
    context["selected_totals"] = {
        "total": _sum(d.total_amount for d in selected),
        "seed": _sum(d.seed_amount for d in selected),
        "usage": _sum(usage_amount_of(d) for d in selected),
    }
    context["any_derogatory"] = any(d.seed_is_derogatory and d.seed_amount > 0 for d in selected)
    context["any_seed"] = any(d.seed_amount > 0 for d in selected)
    domain = next((d for d in domains if d.pk == letter.domain_id), None)
    if domain is not None:
        context["domain"] = rows[domain.pk]
        context["targets_reached_on"] = french_date(domain.targets_reached_at) if domain.targets_reached_at else ""
        context["usage_notified_on"] = french_date(domain.usage_notified_at) if domain.usage_notified_at else ""
    if letter.kind == LetterKind.REFUND_CLAIM:
        context.update(_refund_context(letter, dossier, domains, labels))
    return context


def _refund_context(letter, dossier, domains, labels) -> dict:
    """Annex 2 §2 (prerequisites not reached at the deadline: seed) and annex 4 (audit failure: seed and usage):
    the claimed ledger entry, what to refund and to whom."""
    from envelopes.models import LedgerEntry, Pot

    from .models_dossiers import ClosureKind

    entry_id = letter.event_key.removeprefix(REFUND_EVENT_PREFIX)
    entries = list(
        LedgerEntry.objects.select_related("establishment", "dossier_domain").filter(pk=int(entry_id))
    )
    if not entries:
        raise ValueError(f"Le courrier {letter.reference} documente une écriture absente ({letter.event_key}).")
    debtor = entries[0].establishment or dossier.establishment
    audit_failure = dossier.closure_kind == ClosureKind.AUDIT_FAILURE
    return {
        "claims": [
            {
                "domain": entry.dossier_domain.domain_code if entry.dossier_domain_id else "",
                "domain_label": labels.get(entry.dossier_domain.domain_code, "") if entry.dossier_domain_id else "",
                "pot": "Amorçage (FMESPP)" if entry.pot == Pot.SEED else "Financement à l'usage",
                "amount": french_euros(entry.amount),
                "on": french_date(entry.effective_on),
                "reason": entry.label,
            }
            for entry in entries
        ],
        "claim_total": _sum(entry.amount for entry in entries),
        "claim_reason": entries[0].label,
        "claim_date": french_date(entries[0].effective_on),
        "debtor": debtor,
        "audit_failure": audit_failure,
        "closure_reason": dossier.closure_reason,
    }
