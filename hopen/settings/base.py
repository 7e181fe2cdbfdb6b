"""Settings shared by every mode. Everything that differs between machines comes from the environment."""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONCE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env(name, default=None):
    return os.environ.get(name, default)


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


SECRET_KEY = env("SECRET_KEY", "dev-only-insecure-key-change-me")
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.forms",
    "widget_tweaks",
    "dsfr",
    "rest_framework",
    "knox",  # API tokens: hashed at rest, expiring (hopen/accounts/tokens.py)
    "axes",  # login lockout; before `hopen`, whose receivers read what axes recorded (hopen/accounts/signals.py)
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "django_celery_beat",
    "csp",
    "hopen",
    "indicators",
    "funding",
    "funding.ght",
    "ami",
    "envelopes",
    "audits",
]

MIDDLEWARE = [
    "django_permissions_policy.PermissionsPolicyMiddleware",  # first: every answer carries it
    "django.middleware.security.SecurityMiddleware",
    "hopen.response_headers.NoStoreMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "hopen.session_expiry.SessionExpiryMiddleware",  # after SessionMiddleware: pushes the idle expiry back
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "hopen.input_guard.InputGuardMiddleware",  # control characters, JSON depth and size: before any view
    "indicators.programmes.ProgrammeMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",  # turns a locked-out login into the lockout page (hopen/accounts/lockout.py)
]

ROOT_URLCONF = "hopen.urls"
WSGI_APPLICATION = "hopen.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "hopen.site_config.site_config",  # django-dsfr's, read once per process and minute
                "hopen.context_processors.navigation",
                "indicators.programmes.programme_switcher",
            ],
            # `unlocalize` everywhere: an identifier posted back or used in an id must never carry the thousands
            # separator that USE_THOUSAND_SEPARATOR puts in numbers (pk 1234 rendered « 1 234 » broke the forms).
            "builtins": ["django.templatetags.l10n"],
        },
    },
]
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/hopen"),
        conn_max_age=int(env("DATABASE_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
# No JIT compilation for the application's queries (issue 17, measured at national scale): the dashboards' aggregates
# cost more than PostgreSQL's threshold and compiled on every request (the national dashboard's: 0.12 s of 1.1 s; its
# one-statement SQL limit 0.77 s of 1.9 s), for no faster execution.
_DATABASE_OPTIONS = DATABASES["default"].setdefault("OPTIONS", {})
_DATABASE_OPTIONS["options"] = f'{_DATABASE_OPTIONS.get("options", "")} -c jit=off'.strip()
# Two roles (hopen/db_roles.py): the application connects with DATABASE_URL as a role that may not change the
# schema, the audit trail or the ledger; `manage.py migrate` and `create_app_role` switch to the owner of
# MIGRATION_DATABASE_URL when it is set (otherwise everything runs as DATABASE_URL's role, as in development).
MIGRATION_DATABASE = dj_database_url.parse(env("MIGRATION_DATABASE_URL")) if env("MIGRATION_DATABASE_URL") else None
APP_DATABASE_USER = DATABASES["default"]["USER"]
APP_DATABASE_PASSWORD = DATABASES["default"]["PASSWORD"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "hopen.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out account or client before any password check
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
ANONYMOUS_USER_NAME = None  # guardian: no anonymous user row; anonymous users see nothing.
GUARDIAN_RAISE_403 = False

# One hour of inactivity ends the session: the expiry is pushed back by hopen.session_expiry at most once every
# five minutes (not SESSION_SAVE_EVERY_REQUEST, which rewrote the session row on every GET).
SESSION_COOKIE_AGE = int(env("SESSION_COOKIE_AGE", str(60 * 60)))
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

LANGUAGE_CODE = "fr-fr"
LANGUAGES = [("fr", "Français")]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True
USE_THOUSAND_SEPARATOR = True
LOCALE_PATHS = [BASE_DIR / "locale"]

STATIC_URL = "/static/"
STATIC_ROOT = Path(env("STATIC_ROOT", str(BASE_DIR / ".local" / "static")))
# Uploaded files are private: they live outside any served folder and are only streamed by views
# that ask the permission policy first.
PRIVATE_MEDIA_ROOT = Path(env("PRIVATE_MEDIA_ROOT", str(BASE_DIR / ".local" / "private-media")))
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(PRIVATE_MEDIA_ROOT), "base_url": None},
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = int(env("EMAIL_PORT", "25"))
EMAIL_HOST_USER = env("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "HOP'EN <ne-pas-repondre@hopen.sante.gouv.fr>")

REDIS_URL = env("REDIS_URL", "redis://127.0.0.1:6379/0")
# Shared by every process (throttling counters, for instance): Redis, not per-process memory.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL, "KEY_PREFIX": "hopen"}}
# Dashboard figures cached per scope and write version (hopen.figure_cache): exact, real time; the timeout only bounds
# how long a write that bypassed the services (no audit record) can go unseen.
FIGURE_CACHE_ENABLED = env("FIGURE_CACHE_ENABLED", "1") == "1"
FIGURE_CACHE_TIMEOUT = int(env("FIGURE_CACHE_TIMEOUT", str(15 * 60)))
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_RESULT_EXPIRES = timedelta(days=1)

# --- Login, API tokens, password reset (issue 15; hopen/accounts/) -------------------------------------------------
# Reverse proxies in front of the application: the client address is the one the outermost of them saw, taken from
# X-Forwarded-For (hopen/accounts/client.py, the same rule for axes, the API throttle and the reset limit).
# 0 (development): the header is ignored. docker-compose.yml sets 1 for its reverse proxy.
NUM_PROXIES = int(env("NUM_PROXIES", "0"))
AXES_CLIENT_IP_CALLABLE = "hopen.accounts.client.client_ip"
AXES_USERNAME_CALLABLE = "hopen.accounts.lockout.attempted_username"
AXES_LOCKOUT_CALLABLE = "hopen.accounts.lockout.lockout_response"
# Failed logins counted per account and, separately, per client address, within the cool-off window.
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_FAILURE_LIMIT = int(env("LOGIN_FAILURE_LIMIT", "10"))
AXES_COOLOFF_TIME = timedelta(minutes=int(env("LOGIN_LOCKOUT_MINUTES", "30")))
AXES_COOLOFF_MESSAGE = "Connexion temporairement bloquée après trop de tentatives infructueuses. Réessayez plus tard."
AXES_HTTP_RESPONSE_CODE = 429
AXES_RESET_ON_SUCCESS = False  # a login on one's own account must not clear the guesses made from the same address
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_SENSITIVE_PARAMETERS = ["username", "email", "ip_address", "password", "token"]
AXES_VERBOSE = False
REST_KNOX = {
    "TOKEN_TTL": timedelta(hours=int(env("API_TOKEN_TTL_HOURS", "8"))),
    "AUTH_HEADER_PREFIX": "Token",
    "AUTO_REFRESH": False,
}
# Long-lived tokens only for declared service accounts: members of this group (Django administration).
API_SERVICE_ACCOUNT_GROUP = env("API_SERVICE_ACCOUNT_GROUP", "Comptes de service API")
API_SERVICE_TOKEN_TTL = timedelta(days=int(env("API_SERVICE_TOKEN_TTL_DAYS", "90")))
# Password reset e-mails: per address and per client, within an hour from the first request (hopen/accounts/reset.py).
PASSWORD_RESET_LIMIT_PER_EMAIL = int(env("PASSWORD_RESET_LIMIT_PER_EMAIL", "3"))
PASSWORD_RESET_LIMIT_PER_CLIENT = int(env("PASSWORD_RESET_LIMIT_PER_CLIENT", "10"))
PASSWORD_RESET_WINDOW = 60 * 60

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "knox.auth.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # Guarded parsers: the same control-character refusal as hopen/input_guard.py for bodies DRF parses itself.
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "hopen.input_guard.GuardedFormParser",
        "hopen.input_guard.GuardedMultiPartParser",
    ],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "hopen.api.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["hopen.accounts.throttling.ClientScopedRateThrottle"],
    # Password guessing on the token endpoint: a few attempts a minute per client address.
    "DEFAULT_THROTTLE_RATES": {"token": env("API_TOKEN_THROTTLE", "10/minute")},
    "NUM_PROXIES": NUM_PROXIES,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "API HOP'EN",
    "DESCRIPTION": "API de l'observatoire du programme HOP'EN (établissements, indicateurs, candidatures, financements).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI served from our own static files (no CDN: CSP and closed networks).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "EstablishmentStatusEnum": "hopen.models.EstablishmentStatus",
        "IndicatorValueStatusEnum": "indicators.models.ValueStatus",
    },
}

# Content Security Policy: no inline script or style anywhere; the DSFR scripts carry the nonce.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "frame-ancestors": ["'none'"],
        "form-action": [SELF],
        "base-uri": [SELF],
        "object-src": ["'none'"],
    }
}

# Browser features the platform never uses, refused to every page and to anything it could embed.
PERMISSIONS_POLICY = {
    feature: []
    for feature in (
        "accelerometer", "autoplay", "camera", "display-capture", "encrypted-media", "geolocation", "gyroscope",
        "hid", "idle-detection", "magnetometer", "microphone", "midi", "payment", "publickey-credentials-get",
        "screen-wake-lock", "serial", "usb", "xr-spatial-tracking",
    )
}
# Request bodies (hopen/input_guard.py): a JSON document's nesting and size.
API_JSON_MAX_DEPTH = int(env("API_JSON_MAX_DEPTH", "64"))
API_JSON_MAX_BYTES = int(env("API_JSON_MAX_BYTES", str(1024 * 1024)))
# Absolute links in e-mails (hopen/notifications.py): the address users reach the platform at.
SITE_URL = env("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Justificatory documents (pièces justificatives).
EVIDENCE_MAX_UPLOAD_SIZE = int(env("EVIDENCE_MAX_UPLOAD_SIZE", str(20 * 1024 * 1024)))
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024  # larger uploads spool to a temporary file
# ClamAV daemon: a Unix socket path, or host:port. Unset: files are marked "not scanned".
CLAMD_SOCKET = env("CLAMD_SOCKET", "")
CLAMD_HOST = env("CLAMD_HOST", "")
CLAMD_PORT = int(env("CLAMD_PORT", "3310"))
CLAMD_TIMEOUT = float(env("CLAMD_TIMEOUT", "60"))
# Scan each upload while the user waits (an infected file is refused at once); a daemon that does not answer within
# CLAMD_UPLOAD_TIMEOUT leaves a document pending for the background scan. Imports are always scanned at once.
CLAMD_SCAN_ON_UPLOAD = env_bool("CLAMD_SCAN_ON_UPLOAD", True)
CLAMD_UPLOAD_TIMEOUT = float(env("CLAMD_UPLOAD_TIMEOUT", "20"))
# Scanning required (on in production): a missing scanner is a `check --deploy` error, an unscanned file is never
# served and an import is refused while no scanner answers.
FILE_SCAN_REQUIRED = env_bool("FILE_SCAN_REQUIRED", False)

HOPEN_SAE_DIR = Path(env("HOPEN_SAE_DIR", str(BASE_DIR.parent / "shared" / "data" / "sae2023")))

# DGOS audits (§5.2.1): a campaign asked to may leave out the dossiers audited within this many months.
AUDITS_RECENT_MONTHS = int(env("AUDITS_RECENT_MONTHS", "24"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
