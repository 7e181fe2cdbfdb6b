"""Figures computed once per version of the data: `cached_figures(name, key_parts, compute, version=...)`.

An entry is the figures of one name and scope — the parts the caller passes: the region code or "nation", the
programme, a page number; never anything about the user beyond the scope the permission policy gave (the caller
checks the permission and resolves the scope *before* asking the cache, so an entry of one scope is only ever
served to someone allowed to read that scope) — stored with the platform's write version they were computed at
(`hopen.write_version`: it moves on every committed write). An entry is served only when its version is the current
one, so it is never stale: a declaration or a ledger movement shows at the next request. The version is in the value
rather than in the key so that a new version overwrites the scope's entry instead of adding one: the cache holds one
entry per scope whatever the rate of writes (a page of 270 kB written every second would otherwise pile up hundreds
of megabytes in Redis before the old entries expire). Two workers computing two versions at once may leave the older
one stored: it is then not served, only recomputed.

Django's default cache (Redis in production, local memory in tests). The cache is an accelerator, not a dependency:
if the backend fails (Redis down), the figures are computed as if nothing were cached and a warning is logged (fail
open). Entries live `FIGURE_CACHE_TIMEOUT` seconds at most, so that a write that bypassed the services (no audit
record, see `hopen.write_version`) is seen after that delay at worst. `FIGURE_CACHE_ENABLED = False` computes every
time (the national bench measures pages that way against their SQL limit, then cached). Values are pickled: plain data, dataclasses
and model instances — no querysets, no paginators over querysets.
"""

import hashlib
import logging
import pickle

from django.conf import settings
from django.core.cache import cache
from django.db import connection

from .write_version import write_version

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 15 * 60
_MISSING = (None, None)  # no entry: matches no version
# A value that cannot be pickled is a programming error, not an outage: it is raised, never hidden by the fail-open.
_PROGRAMMING_ERRORS = (pickle.PicklingError, TypeError, AttributeError)


def figure_key(name: str, key_parts) -> str:
    """The cache key: the readable name, then a digest of the database and the scope parts (two databases sharing
    one Redis — development, bench — never share entries)."""
    parts = [connection.settings_dict["NAME"], *(str(part) for part in key_parts)]
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:40]
    return f"figures:{name}:{digest}"


def cached_figures(name: str, key_parts, compute, *, version: int | None = None):
    """compute() once per (name, write version, key_parts); `version` from `request_write_version(request)` when the
    caller has it (one query per request), else read here — before compute, so the figures are never older than it."""
    if not getattr(settings, "FIGURE_CACHE_ENABLED", True):
        return compute()  # the bench times the computation itself (its « cold » pages) with the cache off
    if version is None:
        version = write_version()
    key = figure_key(name, key_parts)
    try:
        stored = cache.get(key, _MISSING)
    except _PROGRAMMING_ERRORS:
        raise
    except Exception as error:  # noqa: BLE001 — any backend failure: compute without the cache
        logger.warning("Cache des chiffres indisponible (lecture de %s) : %s", name, error.__class__.__name__)
        return compute()
    if stored[0] == version:
        return stored[1]
    value = compute()
    try:
        cache.set(key, (version, value), getattr(settings, "FIGURE_CACHE_TIMEOUT", DEFAULT_TIMEOUT))
    except _PROGRAMMING_ERRORS:
        raise
    except Exception as error:  # noqa: BLE001
        logger.warning("Cache des chiffres indisponible (écriture de %s) : %s", name, error.__class__.__name__)
    return value
