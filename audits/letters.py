"""The letters of an audit, as PDF (WeasyPrint), like the dossiers' letters (`funding.letters`): the draft findings
sent to the establishment (the contradictory procedure, annex 4) and the final decision, with the amounts to
refund after a non-conform decision.

`request_audit_letter` is called inside the deciding service's transaction (one letter per audit and kind: a
database constraint); the PDF is rendered after the commit by the task `audits.tasks.generate_audit_letter`
(`generate_audit_letter`), stored privately with its size and SHA-256 — a letter already generated is left as it is.
"""

import hashlib
import logging
from decimal import Decimal

from django.core.files.base import ContentFile
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from envelopes.models import Pot
from hopen.audit import audit_record
from hopen.formatting import french_date, french_euros
from hopen.tasking import enqueue_on_commit

from .models import FAILING_FINDINGS, AuditLetter, AuditLetterKind
from .selectors import audit_claims

logger = logging.getLogger(__name__)

GENERATE_TASK = "audits.tasks.generate_audit_letter"
CODES = {AuditLetterKind.DRAFT_FINDINGS: "CTL-PROV", AuditLetterKind.FINAL_DECISION: "CTL-DEC"}
POT_LABELS = {Pot.SEED: "amorçage", Pot.USAGE: "usage"}


def request_audit_letter(*, audit, kind) -> AuditLetter:
    """The audit's letter of `kind` (created once), its PDF generated after the commit."""
    letter, created = AuditLetter.objects.get_or_create(
        audit=audit, kind=kind,
        defaults={"reference": f"{audit.dossier.reference}-{CODES[kind]}-{audit.campaign_id}"},
    )
    if created:
        enqueue_on_commit(GENERATE_TASK, key=f"audit-letter:{letter.pk}", letter_id=letter.pk)
    return letter


def letter_context(letter) -> dict:
    audit = letter.audit
    dossier = audit.dossier
    lines = list(
        audit.lines.select_related("establishment", "indicator", "value").order_by(
            "establishment__name", "indicator__group__position", "indicator__position"
        )
    )
    claims = audit_claims(audit) if letter.kind == AuditLetterKind.FINAL_DECISION else []
    total = sum((claim.amount for claim in claims), Decimal("0.00"))
    return {
        "letter": letter,
        "kind_label": letter.get_kind_display(),
        "audit": audit,
        "dossier": dossier,
        "establishment": dossier.establishment,
        "ght": dossier.ght,
        "letter_date": french_date(timezone.localdate(letter.requested_at)),
        "sent_on": french_date(timezone.localdate(audit.findings_sent_at)) if audit.findings_sent_at else "",
        "due_on": french_date(audit.response_due_on) if audit.response_due_on else "",
        "failing": [line for line in lines if line.finding in FAILING_FINDINGS],
        "lines": lines,
        "claims": [
            {
                "domain": claim.dossier_domain.domain_code, "pot": POT_LABELS.get(claim.pot, claim.pot),
                "amount": french_euros(claim.amount),
            }
            for claim in claims
        ],
        "claim_total": french_euros(total),
    }


def render_audit_letter_pdf(letter) -> bytes:
    from weasyprint import HTML

    html = render_to_string(f"audits/letters/{letter.kind}.html", letter_context(letter))
    return HTML(string=html).write_pdf()


def generate_audit_letter(letter_id: int) -> AuditLetter | None:
    """Render and store the PDF (the task's body); idempotent."""
    with transaction.atomic():
        letter = (
            AuditLetter.objects.select_for_update(of=("self",))
            .select_related("audit__dossier__establishment", "audit__dossier__ght", "audit__dossier__programme")
            .filter(pk=letter_id)
            .first()
        )
        if letter is None:
            logger.warning("Courrier de contrôle %s introuvable : rien à générer.", letter_id)
            return None
        if letter.generated_at is not None:
            return letter
        pdf = render_audit_letter_pdf(letter)
        letter.file.save(f"{letter.reference}.pdf", ContentFile(pdf), save=False)
        try:
            letter.size, letter.sha256, letter.generated_at = len(pdf), hashlib.sha256(pdf).hexdigest(), timezone.now()
            letter.save(update_fields=["file", "size", "sha256", "generated_at"])
            audit_record(
                actor=None, action="audit_letter.generate", target=letter,
                changes={"sha256": [None, letter.sha256], "size": [None, letter.size]},
            )
        except Exception:
            letter.file.storage.delete(letter.file.name)
            raise
    return letter
