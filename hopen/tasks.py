"""Celery tasks of the tenancy core: thin wrappers around services."""

import logging

from celery import shared_task
from django.core.mail import send_mail

from .audit import verify_chain

logger = logging.getLogger(__name__)


@shared_task(bind=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_email(self, *, subject: str, body: str, recipients: list[str]) -> int:
    """E-mails leave through the worker, after the transaction that decided them has committed."""
    return send_mail(subject, body, None, recipients)


@shared_task
def verify_audit_chain() -> dict:
    """Nightly: re-compute the audit chain and log any break."""
    checked, breaks = verify_chain()
    for chain_break in breaks:
        logger.error("Piste d'audit altérée : trace %s, %s", chain_break.record_id, chain_break.reason)
    return {"checked": checked, "breaks": [b.record_id for b in breaks]}
