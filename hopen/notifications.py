"""Messages to users: in-app notifications in the caller's transaction, e-mails through the outbox after commit.

An e-mail is an outbox message (`hopen.tasking`): recorded with the write, sent by the worker once the broker has
it — even if Redis was down at the commit. Its outbox key travels with it (`message_key`), so that a redelivered
message sends no second e-mail (`hopen.tasks.send_email`, `hopen.tasking.run_once`).
"""

import uuid

from .tasking import Task, enqueue_many_on_commit

SEND_EMAIL_TASK = "hopen.tasks.send_email"


def absolute_link(link: str) -> str:
    """An e-mail is read outside the site: a site path becomes an address under `SITE_URL`."""
    from django.conf import settings

    if not link or not link.startswith("/"):
        return link
    return f"{settings.SITE_URL}{link}"


def email_after_commit(*, subject: str, body: str, recipients) -> None:
    emails_after_commit([(subject, body, recipients)])


def emails_after_commit(emails) -> None:
    """Many e-mails, each ``(subject, body, recipients)``, recorded in one insert (the deadline sweep)."""
    tasks = []
    for subject, body, recipients in emails:
        recipients = sorted({r for r in recipients if r})
        if recipients:
            key = f"email:{uuid.uuid4().hex}"
            kwargs = {"subject": subject, "body": body, "recipients": recipients, "message_key": key}
            tasks.append(Task(SEND_EMAIL_TASK, kwargs, key))
    enqueue_many_on_commit(tasks)


def notify(*, recipients, message: str, link: str = "", subject: str = "HOP'EN — notification") -> None:
    """In-app notification for each recipient (in the caller's transaction) and an e-mail after commit."""
    from .models import Notification

    recipients = [user for user in recipients if user is not None and user.is_active]
    Notification.objects.bulk_create(Notification(recipient=user, message=message, link=link) for user in recipients)
    email_after_commit(subject=subject, body=f"{message}\n\n{absolute_link(link)}".strip(), recipients=[u.email for u in recipients])


# --- The user's inbox: unread count, list, read marks ----------------------------------------------------------------


class UnreadCount:
    """The user's unread notifications for the header, an int-like value counted on first use (one query, once per
    request; none on a page that does not show it): `{% if %}`, `{{ }}` and `|pluralize` all read the same count."""

    def __init__(self, user):
        self._user = user
        self._value = None

    @property
    def value(self) -> int:
        if self._value is None:
            from .models import Notification

            self._value = Notification.objects.filter(recipient=self._user, read_at__isnull=True).count()
        return self._value

    def __int__(self):
        return self.value

    def __float__(self):
        return float(self.value)

    def __bool__(self):
        return self.value > 0

    def __eq__(self, other):
        return self.value == other

    def __hash__(self):
        return hash(self.value)

    def __str__(self):
        return str(self.value)


def notifications_of(user, *, unread_only: bool = False):
    """The user's own notifications, newest first (never another user's)."""
    from .models import Notification

    notifications = Notification.objects.filter(recipient=user)
    if unread_only:
        notifications = notifications.filter(read_at__isnull=True)
    return notifications.order_by("-created_at", "-id")


def safe_link(link: str) -> str:
    """A notification's link only when it is a path of the site (no scheme, no other host)."""
    return link if link.startswith("/") and not link.startswith("//") else ""


def notification_mark_read(*, notification_id: int, by, now=None):
    """Mark one of the user's notifications read; another user's (or none) is reported missing (404 upstream).
    Audited; marking a read notification again changes nothing and writes nothing."""
    from django.db import transaction
    from django.http import Http404
    from django.utils import timezone

    from .audit import audit_record

    with transaction.atomic():
        notification = notifications_of(by).select_for_update().filter(pk=notification_id).first()
        if notification is None:
            raise Http404("Notification introuvable.")
        if notification.read_at is None:
            notification.read_at = now or timezone.now()
            notification.save(update_fields=["read_at"])
            audit_record(actor=by, action="notification.read", target=notification,
                         changes={"read_at": [None, notification.read_at.isoformat()]})
    return notification


def notifications_mark_all_read(*, by, now=None) -> int:
    """Mark every unread notification of the user read (one UPDATE, one audit record on the user); returns how many."""
    from django.db import transaction
    from django.utils import timezone

    from .audit import audit_record

    with transaction.atomic():
        count = notifications_of(by, unread_only=True).update(read_at=now or timezone.now())
        if count:
            audit_record(actor=by, action="notification.read_all", target=by, changes={"unread": [count, 0]})
    return count
