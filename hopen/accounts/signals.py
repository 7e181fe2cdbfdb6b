"""Receivers: authentication events to the audit trail, token revocation on password change and deactivation.

Connected by `hopen.apps.HopenConfig.ready`. `axes` is listed before `hopen` in `INSTALLED_APPS`, so its receivers
run first and a failed login already carries its failure count and lockout flag when it is recorded here.
"""

from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_save
from django.dispatch import receiver
from knox.signals import token_expired

from hopen.models import User

from .client import client_ip
from .events import auth_event_record, channel_of
from .lockout import attempted_username
from .tokens import api_tokens_revoke


def _where(request) -> dict:
    if request is None:
        return {}
    return {"ip": client_ip(request), "channel": channel_of(request)}


@receiver(user_logged_in, dispatch_uid="hopen_audit_login")
def record_login(sender, request, user, **kwargs):
    auth_event_record(action="auth.login", actor=user, target=user, details=_where(request))


@receiver(user_logged_out, dispatch_uid="hopen_audit_logout")
def record_logout(sender, request, user, **kwargs):
    if user is not None and user.pk:
        auth_event_record(action="auth.logout", actor=user, target=user, details=_where(request))


@receiver(user_login_failed, dispatch_uid="hopen_audit_login_failed")
def record_login_failure(sender, credentials, request=None, **kwargs):
    """One record per failed attempt; the attempt that reaches the limit is recorded as the lockout itself.

    The target is the account named, or — for an address that matches no account — axes's attempt row, so that
    guesses on unknown addresses leave a trace too (the attempted address is then kept in the record)."""
    email = attempted_username(request, credentials)
    user = User.objects.filter(email__iexact=email).first() if email else None
    failures = getattr(request, "axes_failures_since_start", None)
    locked_out = bool(getattr(request, "axes_locked_out", False))
    action = "auth.lockout" if locked_out and failures == settings.AXES_FAILURE_LIMIT else "auth.login_failed"
    details = {**_where(request), "failures": failures, "locked_out": locked_out}
    target = user
    if target is None:
        target = (
            AccessAttempt.objects.filter(username=email, ip_address=getattr(request, "axes_ip_address", None))
            .order_by("-attempt_time")
            .first()
        )
        details["email"] = email
    if target is not None:
        auth_event_record(action=action, target=target, details=details)


@receiver(post_save, sender=User, dispatch_uid="hopen_revoke_tokens")
def revoke_tokens(sender, instance, created, raw=False, **kwargs):
    """A new password (set_password: change, reset, administration) or a deactivation ends every API token."""
    if created or raw:
        return
    if getattr(instance, "_password", None) is not None:
        api_tokens_revoke(user=instance, reason="password_change")
    elif not instance.is_active:
        api_tokens_revoke(user=instance, reason="deactivation")


@receiver(token_expired, dispatch_uid="hopen_audit_token_expired")
def record_token_expiry(sender, username, source, **kwargs):
    user = User.objects.filter(email__iexact=username).first()
    if user is not None:
        auth_event_record(action="auth.token_expire", target=user, details={"reason": "expiry"})
