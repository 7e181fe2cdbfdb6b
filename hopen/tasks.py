"""Celery tasks of the tenancy core: thin wrappers around services."""

import logging

from celery import shared_task
from django.core.mail import send_mail

from .audit import verify_chain
from .tasking import run_once
from .audit_anchors import audit_anchor_pending_days

logger = logging.getLogger(__name__)


@shared_task(bind=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_email(self, *, subject: str, body: str, recipients: list[str], message_key: str | None = None) -> int | None:
    """E-mails leave through the worker, after the transaction that decided them has committed (outbox message
    ``message_key``): a redelivered message sends nothing (None) — each e-mail once (issue 15 §7)."""
    return run_once(message_key, lambda: send_mail(subject, body, None, recipients))


@shared_task
def verify_audit_chain() -> dict:
    """Nightly: re-compute the audit chain and log any break."""
    checked, breaks = verify_chain()
    for chain_break in breaks:
        logger.error("Piste d'audit altérée : trace %s, %s", chain_break.record_id, chain_break.reason)
    return {"checked": checked, "breaks": [b.record_id for b in breaks]}


@shared_task
def anchor_audit_chain() -> list[str]:
    """Just after midnight: anchor the audit trail of every ended day (its last hash and count, in the anchor
    table and the log), so that truncating the trail's tail is detected."""
    return [anchor.day.isoformat() for anchor in audit_anchor_pending_days()]
