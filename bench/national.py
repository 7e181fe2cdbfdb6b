"""National-scale bench (issue 17): builds the national data — the real DREES SAE establishments, 1.2 M indicator
values, 359 k documents, 10,000 dossiers, the ledger, the AMI — then times every page against its one-statement SQL
limit (bench/limits.py, bench/sql/), the exports against COPY (bench/exports.py), and a load run under gunicorn.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hopen_bench_national \
    .venv/bin/python bench/national.py [--scale 1] [--quick] [--runs 5] [--load-seconds 30] [--no-load] [--no-flat]
                                       [--small-dossiers 0.1] [--small-values 0.1] [--reuse]

The database of DATABASE_URL (its name must start with `hopen_bench`) is DROPPED and rebuilt, with two others:
`<name>_base` (migrated, SAE imported: the template of the next ones) and `<name>_petit` (1/10 of the dossiers and
1/10 of the history by default — `--small-dossiers`, `--small-values` — for the flatness figures). Everything runs
under the production settings (bench/national_settings.py: DEBUG off, WhiteNoise manifest, the project's
middleware) with SECRET_KEY, ALLOWED_HOSTS and SECURE_SSL_REDIRECT=0 (plain HTTP on localhost) given by the
environment. Output, one line per measure:

    SIZE <label> establishments=<n> dossiers=<n> semesters=<n>        (before the pages of each database)
    BUILD <label> seconds=<s> establishments=<n> values=<n> documents=<n> dossiers=<n> entries=<n> ami_lines=<n>
    PAGE <name> project_ms=<median> sql_ms=<median> ratio=<r> queries=<n> rss_mib=<m>
    EXPORT <name> project_s=<s> copy_s=<s> ratio=<r> rss_mib=<m>
    LOAD <url> rps=<r> p50_ms=<m> p95_ms=<m> baseline_rps=<r>
    FLAT <name> small_ms=<ms> national_ms=<ms> growth=<r>

A page whose figures differ from its SQL statement's prints `MISMATCH <name> …` and the run exits 1.
"""

import argparse
import os
import re
import secrets
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/hopen_bench_national"


def bench_env(database_url: str) -> dict:
    """The environment of every child process and of gunicorn: the production settings, made to run on localhost."""
    env = dict(os.environ)
    env.update({
        "DJANGO_SETTINGS_MODULE": "bench.national_settings",
        "DATABASE_URL": database_url,
        "SECRET_KEY": os.environ.get("BENCH_SECRET_KEY") or _secret(),
        "ALLOWED_HOSTS": "localhost,127.0.0.1,testserver",
        "SECURE_SSL_REDIRECT": "0",
        "STATIC_ROOT": str(ROOT / ".local" / "bench-static"),
        "PYTHONPATH": str(ROOT),
        "BENCH_RUN": os.environ.get("BENCH_RUN") or _secret()[:12],
    })
    return env


_SECRET = None


def _secret() -> str:
    global _SECRET  # one key for every child of a run: the load run's sessions are made by a child
    if _SECRET is None:
        _SECRET = secrets.token_urlsafe(48)
    return _SECRET


def with_name(url: str, name: str) -> str:
    return urlparse(url)._replace(path=f"/{name}").geturl()


def admin(url: str, *statements):
    import psycopg

    with psycopg.connect(with_name(url, "postgres"), autocommit=True) as connection:
        for statement in statements:
            connection.execute(statement)


def child(args: list[str], env: dict, lines: list[str]) -> int:
    """Run `national.py --child …`, echoing and keeping its output lines."""
    process = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), *args], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, text=True, bufsize=1)
    for line in process.stdout:
        print(line, end="", flush=True)
        lines.append(line.rstrip("\n"))
    return process.wait()


def prepare_base(url: str, env: dict):
    """`<name>_base`: migrated, programmes, SAE, combined activity, envelopes; the template of the bench DBs."""
    name = urlparse(url).path.lstrip("/")
    admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
    subprocess.run([sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=ROOT, env=env, check=True)
    # WhiteNoise's manifest of the current static files (a file missing from it would make the pages answer 500),
    # collected again when a file of the project's static folders is newer (compressing 100 MB takes minutes).
    manifest = Path(env["STATIC_ROOT"]) / "staticfiles.json"
    sources = [f for folder in ROOT.glob("*/static") for f in folder.rglob("*") if f.is_file()]
    if not manifest.exists() or max((f.stat().st_mtime for f in sources), default=0) > manifest.stat().st_mtime:
        subprocess.run([sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"], cwd=ROOT, env=env,
                       check=True)
    subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", "base"], cwd=ROOT, env=env, check=True)


def parent(args):
    url = os.environ.get("DATABASE_URL", DEFAULT_URL)
    name = urlparse(url).path.lstrip("/")
    if not name.startswith("hopen_bench"):
        raise SystemExit(f"La base « {name} » serait effacée : son nom doit commencer par hopen_bench.")
    started = time.perf_counter()
    if not args.reuse:
        base_url = with_name(url, f"{name}_base")
        prepare_base(base_url, bench_env(base_url))
        print(f"# base (migrations, SAE, enveloppes) : {time.perf_counter() - started:.0f} s", flush=True)
    from bench.national_data import Size

    variants = [("national", url, Size.of(args.scale))]
    if not args.no_flat:
        variants.append(("petit", with_name(url, f"{name}_petit"),
                         Size.of(args.scale, dossiers=args.small_dossiers, values=args.small_values)))
    lines, failed = [], False
    pages = {}
    for label, variant_url, size in variants:
        variant = urlparse(variant_url).path.lstrip("/")
        if not args.reuse:
            admin(url, f'DROP DATABASE IF EXISTS "{variant}" WITH (FORCE)',
                  f'CREATE DATABASE "{variant}" TEMPLATE "{name}_base"')
        out = []
        code = 0
        if not args.reuse:  # the build in a process of its own: the pages' RSS is not the build's
            code = child(["--child", "build", "--label", label, "--establishments", str(size.establishments),
                          "--dossiers", str(size.dossiers), "--semesters", str(size.semesters),
                          "--seed", str(args.seed)], bench_env(variant_url), out)
        if code == 0:
            print(f"SIZE {label} establishments={size.establishments} dossiers={size.dossiers} "
                  f"semesters={size.semesters}", flush=True)
            code = child(["--child", "measure", "--runs", str(args.runs)], bench_env(variant_url), out)
        failed |= code != 0
        lines += out
        found = (re.match(r"PAGE (\S+) project_ms=([\d.]+)", line) for line in out)
        pages[label] = {m[1]: float(m[2]) for m in found if m}
    env = bench_env(url)
    if not args.no_exports:
        failed |= child(["--child", "exports"], env, lines) != 0
    if not args.no_load:
        failed |= child(["--child", "load", "--clients", str(args.clients), "--load-seconds", str(args.load_seconds)],
                        env, lines) != 0
    for page, small in pages.get("petit", {}).items():
        big = pages["national"].get(page)
        if big:
            print(f"FLAT {page} small_ms={small:.0f} national_ms={big:.0f} growth={big / small:.2f}")
    print(f"# durée totale : {time.perf_counter() - started:.0f} s")
    if failed or any(line.startswith("MISMATCH") for line in lines):
        raise SystemExit(1)


def setup():
    import django

    django.setup()


def child_base():
    setup()
    from bench.national_data import load_base

    load_base()


def child_build(args):
    setup()
    from bench.national_data import Size, build
    from bench.national_pages import measure_pages

    if args.child == "build":
        size = Size(establishments=args.establishments, dossiers=args.dossiers, semesters=args.semesters)
        counts = build(size, seed=args.seed, base=False, out=lambda line: print(line, flush=True))
        print(f"BUILD {args.label} seconds={counts['seconds']:.0f} establishments={counts['establishments']} "
              f"values={counts['values']} documents={counts['documents']} dossiers={counts['dossiers']} "
              f"entries={counts['entries']} ami_lines={counts['ami_lines']} state={counts['attainment_state']}",
              flush=True)
        return
    figures = measure_pages(args.runs, out=lambda line: print(line, flush=True))
    if any(f["mismatches"] for f in figures):
        raise SystemExit(1)


def child_exports():
    """The AMI export against COPY (bench/ami_export.py), then the national exports of bench/exports.py."""
    setup()
    from django.core.signals import request_finished
    from django.db import close_old_connections

    from bench.national_pages import user_for

    # A FileResponse closed by the measure ends a "request", which would close the connection between two runs.
    request_finished.disconnect(close_old_connections)
    dgos = user_for("dgos")
    printed = set()
    try:
        from bench.ami_export import ami_export_lines
    except ImportError:
        print("# bench/ami_export.py sans ami_export_lines : export AMI non mesuré", flush=True)
    else:
        for line in ami_export_lines(dgos):
            printed.add(line.split()[1])
            print(line, flush=True)
    try:
        from bench.exports import run_exports
    except ModuleNotFoundError as exc:
        if exc.name != "bench.exports":
            raise
        print("# bench/exports.py absent : exports nationaux non mesurés", flush=True)
        return
    for line in run_exports(dgos):
        if line.split()[1] not in printed:
            print(line, flush=True)


def child_load(args):
    setup()
    from bench.national_load import run_load
    from bench.national_pages import user_for

    dgos, ars = user_for("dgos"), user_for("ars-84")
    # /accessibilite/ is a logged-in page that reads no data: the page layout alone (header, menu, footer), the floor
    # under every page's throughput, next to the do-nothing view's.
    targets = [("/accessibilite/", ars), ("/pilotage/", dgos), ("/ami/region/", ars),
               ("/indicateurs/etablissements/", ars), ("/pilotage/84/", ars)]
    run_load(targets, clients=args.clients, seconds=args.load_seconds, env=dict(os.environ),
             out=lambda line: print(line, flush=True))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1 = national (2,950 establishments, 10,000 dossiers)")
    parser.add_argument("--quick", action="store_true", help="scale 0.1, 3 runs, 5 s of load per URL")
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each page (medians)")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--load-seconds", type=float, default=30)
    parser.add_argument("--small-dossiers", type=float, default=0.1, help="dossiers of the small database (factor)")
    parser.add_argument("--small-values", type=float, default=0.1, help="history of the small database (factor)")
    parser.add_argument("--no-flat", action="store_true", help="national size only")
    parser.add_argument("--no-load", action="store_true")
    parser.add_argument("--no-exports", action="store_true")
    parser.add_argument("--reuse", action="store_true", help="measure the databases of the last build, build nothing")
    parser.add_argument("--seed", type=int, default=2019)
    parser.add_argument("--child", choices=["base", "build", "measure", "exports", "load"], help=argparse.SUPPRESS)
    parser.add_argument("--label", help=argparse.SUPPRESS)
    parser.add_argument("--establishments", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--dossiers", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--semesters", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick:
        args.scale = min(args.scale, 0.1)
        args.runs = min(args.runs, 3)
        args.load_seconds = min(args.load_seconds, 5)
    if args.child == "base":
        child_base()
    elif args.child in ("build", "measure"):
        child_build(args)
    elif args.child == "exports":
        child_exports()
    elif args.child == "load":
        child_load(args)
    else:
        parent(args)


if __name__ == "__main__":
    main()
