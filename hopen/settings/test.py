"""Test runs: same PostgreSQL engine as production, fast hashing, in-memory mail."""

import os

from .base import *  # noqa: F401,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Tests run as the superuser of DATABASE_URL, migrations included (tests/hopen/test_db_roles.py creates the
# application's role inside a test to prove what it may not do).
MIGRATION_DATABASE = None
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
HOPEN_DEMO_DATA_ALLOWED = True
CELERY_TASK_ALWAYS_EAGER = False
# A queue of their own, so that a `make run` worker on the same Redis never takes the tests' tasks.
# …and one per test process, so that two concurrent test runs on one Redis never take each other's tasks.
CELERY_TASK_DEFAULT_QUEUE = f"hopen-tests-{os.getpid()}"
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"token": "10000/minute"}}  # noqa: F405
