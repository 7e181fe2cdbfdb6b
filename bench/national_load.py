"""Load run of the national bench: gunicorn (2 sync workers, the bench's production settings) on the bench
database, authenticated sessions, and a bounded load generator — `clients` threads, each with one HTTP connection
(reopened when the server closes it: gunicorn's sync workers close after every response), sending GETs one after
the other for `seconds` — against each URL in turn after one request per client (the workers' warm-up), the
do-nothing authenticated view (`/banc/vide/`) first, as the baseline of the same run.

    LOAD <url> rps=<r> p50_ms=<m> p95_ms=<m> baseline_rps=<r>

The generator runs on the same 2 cores as the server: its own cost (about 0.1 ms of Python per request) caps the
baseline, which is therefore a lower bound of what the view could serve.
"""

import http.client
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE_URL = "/banc/vide/"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(port: int, env: dict, workers: int = 2) -> subprocess.Popen:
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("gunicorn")), "hopen.wsgi:application", "--workers", str(workers),
         "--worker-class", "sync", "--bind", f"127.0.0.1:{port}", "--timeout", "120", "--log-level", "warning"],
        cwd=ROOT, env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"ÉCHEC : gunicorn s'est arrêté (code {process.returncode})")
        try:
            status, _ = request_once(port, "/compte/connexion/", {})
            if status == 200:
                return process
        except OSError:
            pass
        time.sleep(0.3)
    process.terminate()
    raise SystemExit("ÉCHEC : gunicorn ne répond pas après 60 s")


def stop(process: subprocess.Popen):
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def request_once(port, url, headers):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        connection.request("GET", url, headers={"Host": "localhost", **headers})
        response = connection.getresponse()
        response.read()
        return response.status, response
    finally:
        connection.close()


def session_cookie(user) -> str:
    """A logged-in session of `user`, as the login form would leave it (Client.force_login writes it in the
    database the server reads)."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def hammer(port: int, url: str, cookie: str, clients: int, seconds: float, once: bool = False) -> dict:
    """`clients` connections sending GET `url` for `seconds` (`once`: one request each, the warm-up of every
    worker): requests per second and latencies."""
    latencies, errors = [], []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client_loop():
        mine, failures = [], []
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            try:
                connection.request("GET", url, headers={"Host": "localhost", "Cookie": cookie})
                response = connection.getresponse()
                response.read()
                if response.status != 200:
                    failures.append(response.status)
                    if len(failures) > 20:
                        break
                    continue
                if response.getheader("connection", "").lower() == "close":
                    connection.close()
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            except (OSError, http.client.HTTPException) as exc:
                failures.append(type(exc).__name__)
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                continue
            mine.append(time.perf_counter() - started)
            if once:
                break
        connection.close()
        with lock:
            latencies.extend(mine)
            errors.extend(failures)

    started = time.monotonic()
    threads = [threading.Thread(target=client_loop) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    latencies.sort()

    def percentile(p):
        return latencies[min(len(latencies) - 1, int(len(latencies) * p))] * 1000 if latencies else float("nan")

    return {"url": url, "requests": len(latencies), "rps": len(latencies) / elapsed, "p50_ms": percentile(0.50),
            "p95_ms": percentile(0.95), "errors": errors,
            "median_ms": statistics.median(latencies) * 1000 if latencies else float("nan")}


def run_load(targets, *, clients: int, seconds: float, env: dict, out=print) -> list[dict]:
    """`targets`: [(url, user)]. The baseline (do-nothing view, as the first target's user) runs first."""
    port = free_port()
    server = start_gunicorn(port, env)
    try:
        results = []
        first_user = targets[0][1]
        cookie = session_cookie(first_user)
        hammer(port, BASELINE_URL, cookie, clients, min(3, seconds))  # warm-up: connections, imports
        baseline = hammer(port, BASELINE_URL, cookie, clients, seconds)
        for url, user in [(BASELINE_URL, first_user), *targets]:
            if url != BASELINE_URL:
                cookie = session_cookie(user)
                hammer(port, url, cookie, clients, 600, once=True)  # each worker renders the page once (templates)
            figures = baseline if url == BASELINE_URL else hammer(port, url, cookie, clients, seconds)
            figures["baseline_rps"] = baseline["rps"]
            results.append(figures)
            out(f"LOAD {url} rps={figures['rps']:.1f} p50_ms={figures['p50_ms']:.0f} p95_ms={figures['p95_ms']:.0f} "
                f"baseline_rps={baseline['rps']:.1f}")
            if figures["errors"]:
                kinds = sorted(set(map(str, figures["errors"])))
                out(f"# {url} : {len(figures['errors'])} réponse(s) en erreur ({kinds})")
        return results
    finally:
        stop(server)


def server_env(database_url: str) -> dict:
    return {**os.environ, "DATABASE_URL": database_url}
