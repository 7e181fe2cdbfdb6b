"""Template context of every page: the user's unread notifications, counted by one query, and only when a page
shows it (`{% if unread_notifications %}`, `{{ unread_notifications }}`, `|pluralize` all read the same count)."""


class UnreadCount:
    """An int-like value computed on first use, once per request."""

    def __init__(self, user):
        self._user = user
        self._value = None

    @property
    def value(self) -> int:
        if self._value is None:
            from hopen.models import Notification

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


def notifications(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"unread_notifications": UnreadCount(user)}
