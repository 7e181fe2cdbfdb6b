"""Password reset: at most a few e-mails per address and per client an hour, audited, and a completed reset lifts
the account's login lockout (the mailbox owner proved who they are).

The limit counts every request, for known and unknown addresses alike, and answers the same message in both
cases: it tells nothing about which accounts exist.
"""

import hashlib

from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.core.cache import cache
from django.db import transaction

from .client import client_ip
from .events import auth_event_record

RESET_THROTTLED_MESSAGE = (
    "Trop de demandes de réinitialisation du mot de passe pour cette adresse ou depuis ce poste. "
    "Si un compte correspond à cette adresse, un courriel lui a déjà été envoyé : consultez votre messagerie "
    "ou réessayez dans une heure."
)


def _counter(kind: str, value: str) -> str:
    # Hashed: no e-mail address in the cache keys.
    return f"password-reset:{kind}:{hashlib.sha256(value.encode('utf-8')).hexdigest()}"


def _hit(key: str, window: int) -> int:
    cache.add(key, 0, timeout=window)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window)
        return 1


def password_reset_allowed(*, email: str, ip: str | None) -> bool:
    """Count this request against the address and the client; True while both stay within their hourly limit."""
    window = settings.PASSWORD_RESET_WINDOW
    by_email = _hit(_counter("email", email.strip().lower()), window)
    by_client = _hit(_counter("client", ip or "inconnu"), window)
    return by_email <= settings.PASSWORD_RESET_LIMIT_PER_EMAIL and by_client <= settings.PASSWORD_RESET_LIMIT_PER_CLIENT


class PasswordResetView(auth_views.PasswordResetView):
    def form_valid(self, form):
        email = form.cleaned_data["email"]
        ip = client_ip(self.request)
        if not password_reset_allowed(email=email, ip=ip):
            form.add_error(None, RESET_THROTTLED_MESSAGE)
            response = self.form_invalid(form)
            response.status_code = 429
            return response
        for user in form.get_users(email):
            auth_event_record(action="auth.password_reset_request", target=user, details={"ip": ip})
        return super().form_valid(form)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    def form_valid(self, form):
        with transaction.atomic():
            # The password change itself revokes the API tokens (signals.py).
            response = super().form_valid(form)
            user = form.user
            auth_event_record(
                action="auth.password_reset_done", actor=user, target=user, details={"ip": client_ip(self.request)}
            )
        axes_reset(username=user.email.lower())
        return response
