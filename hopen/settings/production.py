"""Production: every security switch on. `python manage.py check --deploy` must print no warning."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F401,F403
from .base import SECRET_KEY, env, env_bool

DEBUG = False
if SECRET_KEY.startswith("dev-only") or len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("SECRET_KEY doit être fourni par l'environnement (au moins 50 caractères).")

SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = int(env("SECURE_HSTS_SECONDS", str(60 * 60 * 24 * 365)))
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Static files served by the application itself (WhiteNoise), right after the security middleware.
_AFTER_SECURITY = MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1  # noqa: F405
MIDDLEWARE = [*MIDDLEWARE[:_AFTER_SECURITY], "whitenoise.middleware.WhiteNoiseMiddleware", *MIDDLEWARE[_AFTER_SECURITY:]]  # noqa: F405
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# The manifest storage rewrites the url() of the DSFR stylesheets to their hashed names, so the SHA-384 that
# django-dsfr puts in their `integrity` attribute (computed on the original files) no longer matches and browsers
# refuse the stylesheets: every page without its design. Subresource integrity guards files fetched from another
# origin; these are served by the application itself, under the same-origin CSP.
DSFR_USE_INTEGRITY_CHECKSUMS = False
HOPEN_DEMO_DATA_ALLOWED = False
# Every file scanned by ClamAV (CLAMD_SOCKET or CLAMD_HOST): a missing scanner is a `check --deploy` error.
FILE_SCAN_REQUIRED = True
