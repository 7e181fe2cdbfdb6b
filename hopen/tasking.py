"""Services hand work to Celery by the task's name, after their transaction commits.

Why by name: a Celery task module is a thin wrapper that imports services; if a service imported a task
module back (even inside a function) every service ⇄ task pair would be an import circle. Through Celery's
``send_task`` the dependency goes one way only: tasks → services.

Why after commit: the worker must find the rows the task reads, and a rolled-back write must send nothing.

Why robust: a broker outage must not turn a committed write into an error page. The failure is logged; the
work it carried is found again by the periodic safety nets (pending scans, letters without a file).
"""

import logging

from celery import current_app
from django.db import transaction

logger = logging.getLogger(__name__)


def enqueue(task_name: str, /, **kwargs) -> None:
    """Send the task now (outside any transaction, e.g. from a periodic safety net)."""
    current_app.send_task(task_name, kwargs=kwargs)


def enqueue_on_commit(task_name: str, /, *, using: str | None = None, **kwargs) -> None:
    """Send the task ``task_name`` with ``kwargs`` once the current transaction has committed.

    ``task_name`` is the task's registered name (``"funding.tasks.generate_letter"``); outside a transaction
    the task leaves at once.
    """

    def send() -> None:
        enqueue(task_name, **kwargs)

    # Django logs a failing robust callback by its __qualname__ (a functools.partial has none: the logging itself
    # would raise and turn the outage into an error page); the name says which task was lost.
    send.__qualname__ = f"enqueue({task_name!r})"
    transaction.on_commit(send, using=using, robust=True)
