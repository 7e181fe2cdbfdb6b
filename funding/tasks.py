"""Celery tasks of the funding app: letters (WeasyPrint) and the daily deadline sweep.

Thin wrappers around the services, which never import this module: they enqueue these tasks by their name
(`hopen.tasking.enqueue_on_commit("funding.tasks.generate_letter", letter_id=…)`).
"""

import datetime
import logging

from celery import shared_task

from .deadlines.sweep import run_deadlines
from .letters import services as letters

logger = logging.getLogger(__name__)


@shared_task(bind=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def generate_letter(self, letter_id: int) -> str | None:
    """Render and store a dossier letter's PDF (funding.letters.services.generate_letter); idempotent."""
    letter = letters.generate_letter(letter_id)
    return letter.reference if letter is not None else None


@shared_task
def run_deadlines_task(as_of: str | None = None) -> dict:
    """The daily deadline sweep (funding.deadlines.sweep.run_deadlines); `as_of` "YYYY-MM-DD", today by default."""
    return run_deadlines(datetime.date.fromisoformat(as_of) if as_of else None)
