#!/usr/bin/env python3
"""Verify fixtures/ght_departments.csv against the SAE 2023 extracts (stdlib only).

Usage:
    python fixtures/check_ght_departments.py [SAE_DIR]

SAE_DIR defaults to $HOPEN_SAE_DIR, then to <repo>/../shared/data/sae2023
(the same default as settings.HOPEN_SAE_DIR).

Checks:
  * every GHT of GHT_2023r.csv (NOM_COURT_GHT) appears exactly once, and no
    unknown ght_code is present (135 GHTs expected);
  * every department code used exists in the `dep` column of ID_2023r.csv
    (overseas departments are coded 9A/9B/9C/9D/9F there, Corsica 2A/2B);
  * confidence is one of high/medium/low, departments are not duplicated.

Then prints, for each department, the GHTs mapped to it and the number of
public establishments (stjr == '1') located in it, plus a summary.
Exits with status 1 if any check fails.
"""

from __future__ import annotations

import csv
import os
import sys
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
MAPPING = HERE.parent / "fixtures" / "ght_departments.csv"
EXPECTED_GHTS = 135
HEADER = ["ght_code", "departments", "main_city_hint", "confidence", "note"]
CONFIDENCES = {"high", "medium", "low"}


def sae_dir() -> Path:
    if len(sys.argv) > 1:
        return Path(sys.argv[1])
    env = os.environ.get("HOPEN_SAE_DIR")
    if env:
        return Path(env)
    return HERE.parent.parent / "shared" / "data" / "sae2023"


def read_sae(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="latin-1", newline="") as f:
        return list(csv.DictReader(f, delimiter=";"))


def main() -> int:
    base = sae_dir()
    errors: list[str] = []

    ght_rows = read_sae(base / "GHT_2023r.csv")
    ght_codes = [r["NOM_COURT_GHT"] for r in ght_rows]
    ght_names = {r["NOM_COURT_GHT"]: r["NOM_COMPLET_GHT"] for r in ght_rows}

    id_rows = read_sae(base / "ID_2023r.csv")
    id_deps = {r["dep"] for r in id_rows}
    public_by_dep = Counter(r["dep"] for r in id_rows if r["stjr"] == "1")

    with MAPPING.open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = [dict(zip(header, r)) for r in reader]
    if header != HEADER:
        errors.append(f"unexpected header {header!r}, expected {HEADER!r}")

    # --- GHT coverage -------------------------------------------------------
    mapped = Counter(r["ght_code"] for r in rows)
    dupes = sorted(c for c, n in mapped.items() if n > 1)
    missing = sorted(set(ght_codes) - set(mapped))
    unknown = sorted(set(mapped) - set(ght_codes))
    if dupes:
        errors.append(f"ght_code present more than once: {dupes}")
    if missing:
        errors.append(f"GHT missing from mapping: {missing}")
    if unknown:
        errors.append(f"ght_code not in GHT_2023r.csv: {unknown}")
    if len(ght_codes) != EXPECTED_GHTS:
        errors.append(f"GHT_2023r.csv has {len(ght_codes)} GHTs, expected {EXPECTED_GHTS}")
    print(f"GHTs in GHT_2023r.csv: {len(ght_codes)}")
    print(f"GHTs mapped: {len(mapped)} (rows: {len(rows)}, duplicates: {len(dupes)}, "
          f"missing: {len(missing)}, unknown: {len(unknown)})")

    # --- department codes ---------------------------------------------------
    ghts_by_dep: dict[str, list[str]] = defaultdict(list)
    bad_deps: set[str] = set()
    for r in rows:
        deps = r["departments"].split("|") if r["departments"] else []
        if not deps:
            errors.append(f"{r['ght_code']}: no department")
        if len(deps) != len(set(deps)):
            errors.append(f"{r['ght_code']}: duplicated department in {r['departments']!r}")
        if r["confidence"] not in CONFIDENCES:
            errors.append(f"{r['ght_code']}: bad confidence {r['confidence']!r}")
        for d in deps:
            if d not in id_deps:
                bad_deps.add(d)
                errors.append(f"{r['ght_code']}: department {d!r} not found in ID_2023r.csv dep")
            ghts_by_dep[d].append(r["ght_code"])
    used = set(ghts_by_dep)
    print(f"Department codes used: {len(used)}; all present in ID_2023r.csv dep: "
          f"{'yes' if not bad_deps else 'NO ' + str(sorted(bad_deps))}")

    # --- per department -----------------------------------------------------
    print()
    print(f"{'dep':<4} {'public':>6}  GHTs")
    for d in sorted(id_deps | used):
        ghts = ghts_by_dep.get(d, [])
        label = ", ".join(f"{g} ({ght_names.get(g, '?')})" for g in ghts) or "-- none --"
        print(f"{d:<4} {public_by_dep.get(d, 0):>6}  {label}")

    # --- summary ------------------------------------------------------------
    single = sorted(d for d, g in ghts_by_dep.items() if len(g) == 1)
    several = sorted(d for d, g in ghts_by_dep.items() if len(g) > 1)
    uncovered = sorted(id_deps - used)
    conf = Counter(r["confidence"] for r in rows)
    print()
    print(f"Departments covered by exactly one GHT: {len(single)}")
    print(f"Departments covered by several GHTs: {len(several)} ({', '.join(several)})")
    print(f"Departments of ID_2023r.csv with no GHT: {len(uncovered)} ({', '.join(uncovered) or '-'})")
    print("Confidence: " + ", ".join(f"{k}={conf.get(k, 0)}" for k in ("high", "medium", "low")))

    if errors:
        print()
        print(f"FAILED: {len(errors)} error(s)")
        for e in errors:
            print(f"  - {e}")
        return 1
    print()
    print("OK: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
