"""Messages to users go out after the transaction commits, through Celery."""

from django.db import transaction

from .tasks import send_email


def email_after_commit(*, subject: str, body: str, recipients) -> None:
    recipients = sorted({r for r in recipients if r})
    if not recipients:
        return
    transaction.on_commit(lambda: send_email.delay(subject=subject, body=body, recipients=recipients))
