"""Celery tasks of the GHT governance: the virus scan of its documents (thin wrappers; the services enqueue them by
name after commit, `hopen.tasking.enqueue_on_commit("funding.ght.tasks.scan_master_plan", document_id=…)`)."""


from celery import shared_task

from indicators.scanning import SCAN_MAX_RETRIES, scan_pending_document

from .models import GhtMasterPlan, GhtValueDocument
from .services import record_scan


def _scan(task, kind, model, document_id) -> str:
    return scan_pending_document(
        task, model.objects.filter(pk=document_id).first(),
        lambda document, status, detail: record_scan(kind=kind, document_id=document.pk, status=status, detail=detail),
        label=f"le document GHT {document_id}",
    )


@shared_task(bind=True, max_retries=SCAN_MAX_RETRIES, acks_late=True)
def scan_master_plan(self, document_id: int) -> str:
    """Scan a pending SDSI with clamd; a scan error leaves it pending and retries later."""
    return _scan(self, "master_plan", GhtMasterPlan, document_id)


@shared_task(bind=True, max_retries=SCAN_MAX_RETRIES, acks_late=True)
def scan_value_document(self, document_id: int) -> str:
    """Scan a pending document of a GHT-level value."""
    return _scan(self, "value_document", GhtValueDocument, document_id)
