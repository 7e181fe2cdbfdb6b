"""Celery tasks of the GHT governance: the virus scan of its documents (thin wrappers; the services enqueue them by
name after commit, `hopen.tasking.enqueue_on_commit("funding.ght.tasks.scan_master_plan", document_id=…)`)."""

import logging

from celery import shared_task

from indicators.models import ScanStatus
from indicators.scanning import ScanError, scan_file, scanner_configured

from .models import GhtMasterPlan, GhtValueDocument
from .services import record_scan

logger = logging.getLogger(__name__)

SCAN_MAX_RETRIES = 12
SCAN_RETRY_MAX_DELAY = 3600  # seconds


def _scan(task, kind, model, document_id) -> str:
    document = model.objects.filter(pk=document_id).first()
    if document is None:
        return "missing"
    if document.scan_status != ScanStatus.PENDING:
        return document.scan_status
    if not scanner_configured():
        status, detail = ScanStatus.NOT_SCANNED, "Aucun antivirus configuré au moment de l'analyse"
    else:
        try:
            with document.file.open("rb") as stored:
                result = scan_file(stored)
        except (ScanError, OSError) as exc:
            delay = min(SCAN_RETRY_MAX_DELAY, 30 * 2**task.request.retries)
            logger.warning("Analyse antivirus du document GHT %s impossible (%s) : nouvel essai dans %s s", document_id, exc, delay)
            raise task.retry(exc=exc, countdown=delay)
        status = ScanStatus.INFECTED if result.infected else ScanStatus.CLEAN
        detail = result.detail
    record_scan(kind=kind, document_id=document.pk, status=status, detail=detail)
    return status


@shared_task(bind=True, max_retries=SCAN_MAX_RETRIES, acks_late=True)
def scan_master_plan(self, document_id: int) -> str:
    """Scan a pending SDSI with clamd; a scan error leaves it pending and retries later."""
    return _scan(self, "master_plan", GhtMasterPlan, document_id)


@shared_task(bind=True, max_retries=SCAN_MAX_RETRIES, acks_late=True)
def scan_value_document(self, document_id: int) -> str:
    """Scan a pending document of a GHT-level value."""
    return _scan(self, "value_document", GhtValueDocument, document_id)
