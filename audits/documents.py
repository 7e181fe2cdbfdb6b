"""The documents an establishment joins to its answer: the antivirus verdict (a system write)."""

import logging

from django.db import transaction
from django.utils import timezone

from hopen.audit import audit_record
from indicators.evidence import SCAN_RESULT_STATUSES
from indicators.models import ScanStatus

from .models import AuditResponseDocument

logger = logging.getLogger(__name__)


@transaction.atomic
def response_document_record_scan(*, document, status, detail="") -> AuditResponseDocument:
    """Record the antivirus verdict; an infected file is never served."""
    if status not in SCAN_RESULT_STATUSES:
        raise ValueError(f"Statut d'analyse inattendu : {status!r}")
    document = AuditResponseDocument.objects.select_for_update().get(pk=document.pk)
    before = [document.scan_status, document.scan_detail]
    document.scan_status, document.scan_detail, document.scanned_at = status, (detail or "")[:255], timezone.now()
    document.save(update_fields=["scan_status", "scan_detail", "scanned_at"])
    audit_record(
        actor=None, action="audit.response_document_scan", target=document,
        changes={"scan_status": [before[0], status], "scan_detail": [before[1], document.scan_detail]},
    )
    if status == ScanStatus.INFECTED:
        logger.warning("Pièce de réponse à un contrôle %s infectée : %s", document.pk, detail)
    return document
