"""Login lockout (django-axes): which account an attempt names and what a locked-out client is answered.

Axes counts failed logins per account and per client address (`AXES_LOCKOUT_PARAMETERS`) on every path that calls
`django.contrib.auth.authenticate` with the request: the login form, the admin login and the API token endpoint.
Unknown addresses are counted like real ones, so the lockout never tells whether an account exists.
"""

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render


def attempted_username(request, credentials) -> str | None:
    """The e-mail an attempt names, normalised as the login itself does (`User.objects.get_by_natural_key` ignores
    case): `Agent@x.fr` and ` agent@x.fr ` count against the same account."""
    value = None
    if credentials:
        value = credentials.get("username") or credentials.get("email")
    if value is None and request is not None:
        data = getattr(request, "data", None) or getattr(request, "POST", {})
        value = data.get("username") or data.get("email")
    if not isinstance(value, str):
        return None
    return value.strip().lower() or None


def lockout_minutes() -> int:
    cool_off = settings.AXES_COOLOFF_TIME
    return max(1, int(cool_off.total_seconds() // 60)) if cool_off else 0


def lockout_message() -> str:
    minutes = lockout_minutes()
    return (
        "Connexion temporairement bloquée après trop de tentatives infructueuses. "
        f"Réessayez dans {minutes} minutes ou réinitialisez votre mot de passe."
    )


def lockout_response(request, original_response=None, credentials=None):
    """`AXES_LOCKOUT_CALLABLE`: JSON for the API, the French lockout page elsewhere; 429 in both cases."""
    status = settings.AXES_HTTP_RESPONSE_CODE
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": lockout_message()}, status=status)
    context = {"message": lockout_message(), "minutes": lockout_minutes()}
    return render(request, "registration/lockout.html", context, status=status)
