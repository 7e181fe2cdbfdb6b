"""Local development: `make run`. Debug on, e-mails printed on the console."""

from .base import *  # noqa: F401,F403
from .base import env, env_bool

DEBUG = env_bool("DEBUG", True)
EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
HOPEN_DEMO_DATA_ALLOWED = True
