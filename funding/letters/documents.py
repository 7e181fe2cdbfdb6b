"""The content of a dossier's letters, rendered as PDF (WeasyPrint) by `render_letter_pdf`.

`letter_context` builds the document from the dossier and its domains: selection letter (annex 4 §1: selected
domains, refused domains and their reasons), seed funding decision (annex 2 §2, §5.1 derogatory seed), usage
funding notification (annex 2 §2: total − seed, per domain), refund claim (annex 2 §2 prerequisites deadline,
annex 4 audits) and the funding agreement skeleton the ARS completes (annex 4 §2, reviews annex 4 §3). For a GHT
dossier the amounts are listed per candidate member and paid to the support establishment (annex 3 §2).

Amounts and dates are written the French way by `hopen.formatting` (« 1 234 567,89 € », « 25 novembre 2026 »).
"""

import datetime
import logging
import re
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Max
from django.template.loader import render_to_string
from django.utils import timezone

from funding.calendar import RECANDIDACY, programme_delays
from funding.dossiers import rules as dossier_rules
from funding.dossiers.models import (
    SELECTED_DOMAIN_STATUSES, ClosureKind, DomainStatus, Dossier, DossierDomain, DossierDomainShare, RefusalKind,
)
from funding.eligibility.selectors import derogatory_deadline
from hopen.formatting import french_date, french_euros
from indicators.models import GroupKind, IndicatorGroup

from .models import LetterKind

# WeasyPrint logs every layout step at INFO: keep the worker's log for what we do.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)

TEMPLATE_DIR = "funding/letters"
REFUND_EVENT_PREFIX = "refund:"


def render_letter_pdf(letter) -> bytes:
    """The letter as a PDF document (A4, WeasyPrint)."""
    from weasyprint import HTML

    return HTML(string=render_letter_html(letter)).write_pdf()


def render_letter_html(letter) -> str:
    return render_to_string(f"{TEMPLATE_DIR}/{letter.kind}.html", letter_context(letter))


def decision_date(letter) -> datetime.date:
    """The day of the decision the letter carries — its date, whenever it is generated or reissued: the ARS's
    decision on the dossier for the selection letter and the funding agreement (annex 4 §1–§2), the domain's
    decision for a seed decision (annex 2 §2), the notification of the usage funding (of the domain, or of the GHT
    member's share: annex 2 §2), the claimed ledger entry's date for a refund claim; the day the letter was
    requested when the decision left no date."""
    from envelopes.models import LedgerEntry

    day = None
    if letter.kind in (LetterKind.SELECTION, LetterKind.FUNDING_AGREEMENT):
        dossier = Dossier.objects.only("decided_at").get(pk=letter.dossier_id)
        day = dossier.decided_at or DossierDomain.objects.filter(
            dossier_id=letter.dossier_id, decided_at__isnull=False
        ).aggregate(last=Max("decided_at"))["last"]
    elif letter.kind == LetterKind.SEED_DECISION and letter.domain_id:
        day = DossierDomain.objects.only("decided_at").get(pk=letter.domain_id).decided_at
    elif letter.kind == LetterKind.USAGE_NOTIFICATION and letter.domain_id:
        _, sep, share_id = letter.event_key.partition(":share:")
        if sep:
            day = DossierDomainShare.objects.filter(pk=share_id, domain_id=letter.domain_id).values_list(
                "usage_notified_at", flat=True
            ).first()
        else:
            day = DossierDomain.objects.only("usage_notified_at").get(pk=letter.domain_id).usage_notified_at
    elif letter.kind == LetterKind.REFUND_CLAIM:
        entry_id = letter.event_key.removeprefix(REFUND_EVENT_PREFIX)
        day = LedgerEntry.objects.filter(pk=int(entry_id)).values_list("effective_on", flat=True).first()
    day = day or letter.requested_at
    if isinstance(day, datetime.datetime):
        day = timezone.localtime(day).date() if timezone.is_aware(day) else day.date()
    return day


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
    return dossier_rules.usage_amount(domain.total_amount, domain.seed_amount)


def domain_labels(programme) -> dict[str, str]:
    """D1–D7 labels from the programme's catalogue in force (annex 1 for HOP'EN); empty when no catalogue is
    loaded."""
    return dict(
        IndicatorGroup.objects.filter(
            catalogue__programme=programme, catalogue__is_current=True, kind=GroupKind.DOMAIN
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
            dossier_rules.recandidacy_allowed_from(refused_on, domain.refusal_kind, recandidacy_delay)
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
    labels = domain_labels(dossier.programme)
    recandidacy_delay = programme_delays(dossier.programme).get(RECANDIDACY)  # annex 4 §1: six months
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
        # Dated by the decision (annex 4 §1–§2), not by the day of generation; a reissue says when it was made.
        "letter_date": french_date(letter.dated_on or decision_date(letter)),
        "reissued_on": french_date(letter.reissued_at) if letter.reissued_at else "",
        "transmitted_on": french_date(dossier.transmitted_at) if dossier.transmitted_at else "",
        "derogatory_deadline": french_date(derogatory_deadline(dossier.programme)),
        "selected": [rows[d.pk] for d in domains if d.status in SELECTED_DOMAIN_STATUSES],
        "refused": [rows[d.pk] for d in domains if d.status == DomainStatus.REFUSED],
        "pending": [rows[d.pk] for d in domains if d.status == DomainStatus.PENDING],
        "domain_count": len(domains),
    }
    selected = [d for d in domains if d.status in SELECTED_DOMAIN_STATUSES]
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
        context["share"] = _share_context(letter, domain)
    if letter.kind == LetterKind.REFUND_CLAIM:
        context.update(_refund_context(letter, dossier, domains, labels))
    return context


def _share_context(letter, domain) -> dict | None:
    """Annex 2 §2 « à chaque atteinte des cibles d'usage par un établissement partie »: the GHT member whose share a
    usage notification concerns (event key `usage:<domain>:share:<share>`), with its amounts."""
    head, sep, share_id = letter.event_key.partition(":share:")
    if not sep or not head.startswith("usage:"):
        return None
    share = next((s for s in domain.shares.all() if str(s.pk) == share_id), None)
    if share is None:
        return None
    usage = share.usage_amount if share.usage_amount is not None else share.amount - share.seed_part
    return {
        "name": share.establishment.name, "finess": share.establishment.finess, "amount": french_euros(share.amount),
        "seed": french_euros(share.seed_part), "usage": french_euros(usage),
        "targets_reached_on": french_date(share.targets_reached_at) if share.targets_reached_at else "",
    }


def _refund_context(letter, dossier, domains, labels) -> dict:
    """Annex 2 §2 (prerequisites not reached at the deadline: seed) and annex 4 (audit failure: seed and usage):
    the claimed ledger entry, what to refund and to whom."""
    from envelopes.models import LedgerEntry, Pot

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
