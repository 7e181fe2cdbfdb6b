"""Authentication events in the audit trail (issue 15, item 3): login, failure, lockout, logout, password reset
asked and done, API token issued, revoked or expired.

A record names the account (the user row) and the circumstances: the client address, the channel (form, API,
administration), the failure count. Never a password, a token or a reset link: only what helps an auditor.
"""

from django.db import transaction

from hopen.audit import audit_record

# Keys a record may carry: anything else (a password, a token) is refused before it reaches the trail.
ALLOWED_DETAILS = {
    "ip", "channel", "failures", "locked_out", "email", "reason", "tokens", "token_fingerprint", "expiry",
    "service_account",
}


def channel_of(request) -> str:
    path = getattr(request, "path", "") or ""
    if path.startswith("/api/"):
        return "api"
    if path.startswith("/admin/"):
        return "admin"
    return "form"


def auth_event_record(*, action: str, target, actor=None, details: dict | None = None):
    """Append one authentication event, in its own transaction when the caller has none (a login view is not
    atomic). `details` become `{key: [None, value]}`, the shape of a creation in the trail."""
    details = details or {}
    unexpected = set(details) - ALLOWED_DETAILS
    if unexpected:
        raise ValueError(f"Détail non prévu dans une trace d'authentification : {sorted(unexpected)}")
    changes = {key: [None, value] for key, value in details.items() if value is not None}
    with transaction.atomic():
        return audit_record(actor=actor, action=action, target=target, changes=changes)
