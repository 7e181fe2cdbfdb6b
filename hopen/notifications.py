"""Messages to users go out after the transaction commits, through Celery."""

from .tasking import enqueue_on_commit


def email_after_commit(*, subject: str, body: str, recipients) -> None:
    recipients = sorted({r for r in recipients if r})
    if not recipients:
        return
    enqueue_on_commit("hopen.tasks.send_email", subject=subject, body=body, recipients=recipients)


def notify(*, recipients, message: str, link: str = "", subject: str = "HOP'EN — notification") -> None:
    """In-app notification for each recipient (in the caller's transaction) and an e-mail after commit."""
    from .models import Notification

    recipients = [user for user in recipients if user is not None and user.is_active]
    Notification.objects.bulk_create(Notification(recipient=user, message=message, link=link) for user in recipients)
    email_after_commit(subject=subject, body=f"{message}\n\n{link}".strip(), recipients=[u.email for u in recipients])
