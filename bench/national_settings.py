"""Settings of the national bench (bench/national.py): the production settings — DEBUG off, WhiteNoise's manifest,
secure cookies, every middleware — with the bench's URLs (the project's plus a do-nothing authenticated view, the
load baseline). What production reads from the environment (SECRET_KEY, ALLOWED_HOSTS, SECURE_SSL_REDIRECT off
for plain-HTTP localhost, STATIC_ROOT of the collected files) is set by bench/national.py, not here."""

import os

from hopen.settings.production import *  # noqa: F401,F403

ROOT_URLCONF = "bench.national_urls"
# The bench logs in its users with force_login: axes would log each login at INFO among the measures.
LOGGING = {**LOGGING, "loggers": {**LOGGING["loggers"], "axes": {"level": "WARNING"}}}  # noqa: F405
# A run's cached figures (hopen.figure_cache) never outlive it: the data are rebuilt without audit records, so the
# write version of a new build may equal an earlier build's — a key prefix of its own per run (bench/national.py).
CACHES = {"default": {**CACHES["default"], "KEY_PREFIX": f"hopen-bench-{os.environ.get('BENCH_RUN', 'run')}"}}  # noqa: F405
