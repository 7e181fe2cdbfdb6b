"""Pages of the national bench: each `Limit` of `bench/limits.py` — its page timed through Django's test client as
its role (production settings), interleaved with its one-statement SQL limit (`bench/sql/`), medians; the page's
query count; the process's RSS; and the limit's check of the page's figures against the statement's (a mismatch
fails the run).

    PAGE <name> project_ms=<median> sql_ms=<median> ratio=<r> queries=<n> rss_mib=<m>
"""

import resource
import statistics
import time


def rss_mib() -> float:
    """Resident-set high-water mark of the process (ru_maxrss, kilobytes on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def user_for(role: str):
    from bench.national_data import DGOS_EMAIL, ars_email
    from hopen.models import User

    email = DGOS_EMAIL if role == "dgos" else ars_email(role.removeprefix("ars-"))
    return User.objects.get(email=email)


def context_for(user, role: str) -> dict:
    from hopen.models import Region
    from indicators.programmes import default_programme

    programme = default_programme()
    ctx = {"programme_id": programme.pk, "user": user, "region_code": None, "region_id": None}
    if role.startswith("ars-"):
        region = Region.objects.get(code=role.removeprefix("ars-"))
        ctx.update(region_code=region.code, region_id=region.pk)
    return ctx


def _client(user):
    from django.test import Client

    client = Client(headers={"host": "localhost"})
    client.force_login(user)
    return client


def _get(client, url):
    response = client.get(url)
    if response.status_code != 200:
        raise AssertionError(f"{url} a répondu {response.status_code}")
    if getattr(response, "streaming", False):
        b"".join(response.streaming_content)
    return response


def _run_sql(sql, params):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def _count_queries(client, url) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        _get(client, url)
    return len(captured)


def measure_limit(limit, runs: int, out=print, *, cached: bool = False) -> dict:
    """One PAGE line; returns the figures and the check's mismatches. The figure cache (`hopen.figure_cache`) is off
    unless `cached`: a PAGE line times the page computing its figures, which is what its SQL statement is compared
    to; `cached` adds a `PAGE <name>_cached` line, the page as served between two writes."""
    from django.test import override_settings

    with override_settings(FIGURE_CACHE_ENABLED=cached):
        return _measure_limit(limit, runs, out, suffix="_cached" if cached else "")


def _measure_limit(limit, runs: int, out, *, suffix: str) -> dict:
    user = user_for(limit.role)
    client = _client(user)
    sql, params = limit.sql(), limit.params(context_for(user, limit.role))
    response = _get(client, limit.url)  # warm-up of both (templates, caches, plans)
    rows = _run_sql(sql, params)
    # The figures are checked on the computed page; the cached one is the same HTML (tests/funding/dashboard).
    mismatches = [] if suffix else list(limit.check(response, rows) or [])
    page_times, sql_times = [], []
    for _ in range(runs):
        started = time.perf_counter()
        _get(client, limit.url)
        page_times.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        _run_sql(sql, params)
        sql_times.append((time.perf_counter() - started) * 1000)
    queries = _count_queries(client, limit.url)
    project, limit_ms = statistics.median(page_times), statistics.median(sql_times)
    figures = {"name": limit.name + suffix, "project_ms": project, "sql_ms": limit_ms, "ratio": project / limit_ms,
               "queries": queries, "rss_mib": rss_mib(), "mismatches": mismatches}
    out(f"PAGE {figures['name']} project_ms={project:.0f} sql_ms={limit_ms:.0f} ratio={figures['ratio']:.2f} "
        f"queries={queries} rss_mib={figures['rss_mib']:.0f}")
    for mismatch in mismatches:
        out(f"MISMATCH {figures['name']} {mismatch}")
    return figures


def measure_pages(runs: int, out=print) -> list[dict]:
    """Every page; one that fails (error, not 200) prints `PAGE <name> ERROR …`, counts as a mismatch, and the others
    are still measured."""
    from bench.limits import LIMITS

    figures = []
    for limit in LIMITS:
        try:
            figures.append(measure_limit(limit, runs, out))
            if limit.cached:
                figures.append(measure_limit(limit, runs, out, cached=True))
        except Exception as exc:  # noqa: BLE001 — reported, the run fails at the end
            out(f"PAGE {limit.name} ERROR {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
            figures.append({"name": limit.name, "mismatches": [f"erreur {type(exc).__name__}"]})
    return figures
