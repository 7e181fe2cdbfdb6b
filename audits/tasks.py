"""Celery tasks of the audits: thin wrappers around the services, which enqueue them by name (`hopen.tasking`)."""

from celery import shared_task

from indicators.scanning import SCAN_MAX_RETRIES, scan_pending_document

from . import documents, letters
from .models import AuditResponseDocument


@shared_task(bind=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def generate_audit_letter(self, letter_id: int) -> str | None:
    """Render and store an audit letter's PDF (audits.letters.generate_audit_letter); idempotent."""
    letter = letters.generate_audit_letter(letter_id)
    return letter.reference if letter is not None else None


@shared_task(bind=True, max_retries=SCAN_MAX_RETRIES, acks_late=True)
def scan_response_document(self, document_id: int) -> str:
    """Scan a pending document of an establishment's answer; a scan error leaves it pending and retries later."""
    return scan_pending_document(
        self, AuditResponseDocument.objects.filter(pk=document_id).first(),
        lambda document, status, detail: documents.response_document_record_scan(
            document=document, status=status, detail=detail
        ),
        label=f"la pièce de réponse {document_id}",
    )
