"""Celery tasks of the AMI app: thin wrappers around services."""


from celery import shared_task

from indicators.scanning import SCAN_MAX_RETRIES, scan_pending_document

from .attachments import attachment_record_scan
from .models import PreCandidatureAttachment


# Registered under the name it had when it was defined in `ami.attachments` (messages already queued keep working).
@shared_task(name="ami.attachments.scan_attachment", bind=True, max_retries=SCAN_MAX_RETRIES, acks_late=True)
def scan_attachment(self, attachment_id: int) -> str:
    """Scan a pending complementary document with clamd; a scan error leaves it pending and retries later."""
    return scan_pending_document(
        self, PreCandidatureAttachment.objects.filter(pk=attachment_id).first(),
        lambda attachment, status, detail: attachment_record_scan(attachment=attachment, status=status, detail=detail),
        label=f"la pièce AMI {attachment_id}",
    )
