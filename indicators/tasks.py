"""Celery tasks of the indicators app: thin wrappers around services."""

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from .evidence import evidence_record_scan
from .models import Evidence, ScanStatus
from .scanning import SCAN_MAX_RETRIES, scan_pending_document



@shared_task(bind=True, max_retries=SCAN_MAX_RETRIES, acks_late=True)
def scan_evidence(self, evidence_id: int) -> str:
    """Scan a pending document with clamd and record the verdict.

    A scan error (daemon down, timeout, protocol error) leaves the file pending — hence not downloadable —
    and retries with an exponential delay. Copies of the same stored file (a correction takes over the
    documents of the value it corrects) get the same verdict.
    """
    def record(evidence, status, detail):
        same_file = Evidence.objects.filter(file=evidence.file.name, scan_status=ScanStatus.PENDING).order_by("pk")
        for document in same_file:
            evidence_record_scan(evidence=document, status=status, detail=detail)

    evidence = Evidence.objects.filter(pk=evidence_id).first()
    return scan_pending_document(self, evidence, record, label=f"la pièce {evidence_id}")


@shared_task
def requeue_pending_evidence(older_than_minutes: int = 30) -> int:
    """Periodic safety net: send again the scans of documents still pending (lost message, broker outage)."""
    limit = timezone.now() - timedelta(minutes=older_than_minutes)
    pending = Evidence.objects.filter(scan_status=ScanStatus.PENDING, uploaded_at__lt=limit).values_list("pk", flat=True)
    count = 0
    for evidence_id in pending:
        scan_evidence.delay(evidence_id)
        count += 1
    return count
