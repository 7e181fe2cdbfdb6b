"""Celery tasks of the AMI app: thin wrappers around services."""

import logging

from celery import shared_task

from indicators.models import ScanStatus
from indicators.scanning import ScanError, scan_file, scanner_configured

from .attachments import attachment_record_scan
from .models import PreCandidatureAttachment

logger = logging.getLogger(__name__)

SCAN_MAX_RETRIES = 12
SCAN_RETRY_MAX_DELAY = 3600  # seconds


# Registered under the name it had when it was defined in `ami.attachments` (messages already queued keep working).
@shared_task(name="ami.attachments.scan_attachment", bind=True, max_retries=SCAN_MAX_RETRIES, acks_late=True)
def scan_attachment(self, attachment_id: int) -> str:
    """Scan a pending complementary document with clamd; a scan error leaves it pending and retries later."""
    attachment = PreCandidatureAttachment.objects.filter(pk=attachment_id).first()
    if attachment is None:
        return "missing"
    if attachment.scan_status != ScanStatus.PENDING:
        return attachment.scan_status
    if not scanner_configured():
        status, detail = ScanStatus.NOT_SCANNED, "Aucun antivirus configuré au moment de l'analyse"
    else:
        try:
            with attachment.file.open("rb") as stored:
                result = scan_file(stored)
        except (ScanError, OSError) as exc:
            delay = min(SCAN_RETRY_MAX_DELAY, 30 * 2**self.request.retries)
            logger.warning("Analyse antivirus de la pièce AMI %s impossible (%s) : nouvel essai dans %s s", attachment_id, exc, delay)
            raise self.retry(exc=exc, countdown=delay)
        status = ScanStatus.INFECTED if result.infected else ScanStatus.CLEAN
        detail = result.detail
    attachment_record_scan(attachment=attachment, status=status, detail=detail)
    return status
