"""API tokens (django-rest-knox): stored as a SHA-512 digest, expiring, revoked when the password changes or the
account is deactivated.

People get tokens for `REST_KNOX["TOKEN_TTL"]` (8 h by default); only declared service accounts — members of the
group `API_SERVICE_ACCOUNT_GROUP` — get `API_SERVICE_TOKEN_TTL` (90 days by default). A platform administrator
declares one by adding the account to that group in the administration.
"""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from knox.models import AuthToken
from knox.settings import knox_settings

from .events import auth_event_record


def token_lifetime(*, service_account: bool) -> timedelta:
    """How long a new token lives: the people's lifetime, or the service accounts' one."""
    return settings.API_SERVICE_TOKEN_TTL if service_account else knox_settings.TOKEN_TTL


def is_service_account(user) -> bool:
    return user.groups.filter(name=settings.API_SERVICE_ACCOUNT_GROUP).exists()


def fingerprint(token: AuthToken) -> str:
    """A short, non-secret name for a token in the audit trail: the start of its digest (never of the key)."""
    return token.digest[:12]


@transaction.atomic
def api_token_issue(*, user, client_ip: str | None = None, now=None) -> tuple[AuthToken, str]:
    """Create a token for `user` and return it with its clear key, shown once to the caller and never stored.

    The user's expired tokens are purged on the way (knox only purges them when one is presented).
    """
    AuthToken.objects.filter(user=user, expiry__lt=now or timezone.now()).delete()
    service_account = is_service_account(user)
    lifetime = token_lifetime(service_account=service_account)
    token, key = AuthToken.objects.create(user, expiry=lifetime)
    if now is not None:  # a caller's clock (tests, replays) rules the expiry, not the wall clock
        token.expiry = now + lifetime
        token.save(update_fields=["expiry"])
    auth_event_record(
        action="auth.token_issue", actor=user, target=user,
        details={
            "token_fingerprint": fingerprint(token), "expiry": token.expiry.isoformat(),
            "service_account": service_account, "ip": client_ip,
        },
    )
    return token, key


@transaction.atomic
def api_tokens_revoke(*, user, reason: str, by=None) -> int:
    """Delete every token of `user` (password changed or reset, account deactivated); return how many."""
    tokens = list(AuthToken.objects.filter(user=user).values_list("digest", flat=True))
    if not tokens:
        return 0
    AuthToken.objects.filter(user=user).delete()
    auth_event_record(
        action="auth.token_revoke", actor=by, target=user,
        details={"tokens": len(tokens), "reason": reason, "token_fingerprint": ", ".join(d[:12] for d in tokens[:20])},
    )
    return len(tokens)
