#!/usr/bin/env python3
"""Verify fixtures/ght_legal_entities.csv against the SAE 2023 extracts (stdlib only).

Usage:
    python scripts/check_ght_legal_entities.py [SAE_DIR]

SAE_DIR defaults to $HOPEN_SAE_DIR, then to <repo>/../shared/data/sae2023
(the same default as settings.HOPEN_SAE_DIR).

fixtures/ght_legal_entities.csv assigns public legal entities (FINESS EJ,
``fi_ej`` of ID_2023r.csv rows with ``stjr == '1'``) to their GHT, for every
public legal entity located in a department covered by several GHTs according
to fixtures/ght_departments.csv. An empty ``ght_code`` means "member of no
GHT" (AP-HP, military hospitals, national establishments) and needs a note.

Errors (exit status 1):
  * bad header, bad confidence (high/medium/low), duplicated ej_finess;
  * ej_finess that is not the fi_ej of a public row of ID_2023r.csv;
  * ght_code not in GHT_2023r.csv (NOM_COURT_GHT); empty ght_code without note;
  * a public legal entity of a shared department (with at least one site of an
    in-scope category, see SCOPE_CATS) that is not listed.
Warnings (printed, exit status unchanged):
  * the assigned GHT covers none of the departments of the entity's sites;
  * a listed entity that is not required (no site in a shared department, or
    no site of an in-scope category).

Then, for every GHT, prints the members by category group next to the
NB_CHRCHU / NB_CH / NB_CHS / NB_AUT counts of GHT_2023r.csv. Members are the
entities listed in the fixture plus the entities inferred from departments
covered by a single GHT. Two counts are shown:
  * EJ    - legal entities, grouped by their main category
            (CHU = 101, CH = 355/106, CHS = 292, AUT = anything else);
  * sites - establishments (FINESS ET) of the member entities, grouped by the
            site's own category. DREES counts GHT members per establishment,
            not per legal entity, and leaves out sites that report no activity
            (SMUR antennas, annexes), so a site is counted when it appears in
            MCO/SSR/PSY/HAD_2023r.csv or is a long-stay unit (cat 362).
            This rule reproduces NB_* exactly for 20 of the 30 GHTs whose
            departments are covered by that GHT alone; it is an approximation.
"""

from __future__ import annotations

import csv
import os
import sys
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
FIXTURES = REPO / "fixtures"
ENTITIES = FIXTURES / "ght_legal_entities.csv"
DEPARTMENTS = FIXTURES / "ght_departments.csv"
HEADER = ["ej_finess", "ght_code", "ej_name", "city", "confidence", "note"]
CONFIDENCES = {"high", "medium", "low"}
SCOPE_CATS = {"101", "106", "114", "122", "127", "128", "129", "131", "156", "161",
              "292", "355", "365", "425", "430", "444"}
GROUPS = ("CHU", "CH", "CHS", "AUT")
NB_COLS = {"CHU": "NB_CHRCHU", "CH": "NB_CH", "CHS": "NB_CHS", "AUT": "NB_AUT"}
ACTIVITY_FILES = ("MCO_2023r.csv", "SSR_2023r.csv", "PSY_2023r.csv", "HAD_2023r.csv")


def sae_dir() -> Path:
    if len(sys.argv) > 1:
        return Path(sys.argv[1])
    env = os.environ.get("HOPEN_SAE_DIR")
    if env:
        return Path(env)
    return REPO.parent / "shared" / "data" / "sae2023"


def read_sae(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="latin-1", newline="") as f:
        return list(csv.DictReader(f, delimiter=";"))


def read_utf8(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        return header, [dict(zip(header, r)) for r in reader]


def site_group(cat: str) -> str:
    if cat == "101":
        return "CHU"
    if cat in ("355", "106"):
        return "CH"
    if cat == "292":
        return "CHS"
    return "AUT"


def entity_group(sites: list[dict[str, str]]) -> str:
    """Main category group of a legal entity, from its in-scope sites."""
    cats = [s["cat"] for s in sites if s["cat"] in SCOPE_CATS]
    if not cats:
        return "AUT"
    if "101" in cats:
        return "CHU"
    counts = Counter(site_group(c) for c in cats)
    order = {"CH": 0, "CHS": 1, "AUT": 2}
    return sorted(counts, key=lambda g: (-counts[g], order.get(g, 3)))[0]


def fmt(c: Counter) -> str:
    return " ".join(f"{c.get(g, 0):>3}" for g in GROUPS)


def main() -> int:
    base = sae_dir()
    errors: list[str] = []
    warnings: list[str] = []

    # --- reference data -------------------------------------------------------
    ght_rows = read_sae(base / "GHT_2023r.csv")
    ghts = {r["NOM_COURT_GHT"]: r for r in ght_rows}
    id_rows = read_sae(base / "ID_2023r.csv")
    sites_by_ej: dict[str, list[dict[str, str]]] = defaultdict(list)
    for r in id_rows:
        if r["stjr"] == "1":
            sites_by_ej[r["fi_ej"]].append(r)
    active: set[str] = set()
    missing_activity = []
    for name in ACTIVITY_FILES:
        p = base / name
        if p.exists():
            active.update(r["FI"] for r in read_sae(p))
        else:
            missing_activity.append(name)

    def counted(site: dict[str, str]) -> bool:
        if missing_activity:
            return True
        return site["fi"] in active or site["cat"] == "362"

    _, dep_rows = read_utf8(DEPARTMENTS)
    deps_of_ght = {r["ght_code"]: set(r["departments"].split("|")) for r in dep_rows}
    ghts_of_dep: dict[str, list[str]] = defaultdict(list)
    for g, deps in deps_of_ght.items():
        for d in deps:
            ghts_of_dep[d].append(g)
    shared = {d for d, g in ghts_of_dep.items() if len(g) > 1}

    def in_scope(ej: str) -> bool:
        return any(s["cat"] in SCOPE_CATS for s in sites_by_ej[ej])

    def deps_of(ej: str) -> set[str]:
        scoped = [s for s in sites_by_ej[ej] if s["cat"] in SCOPE_CATS] or sites_by_ej[ej]
        return {s["dep"] for s in scoped}

    required = {ej for ej in sites_by_ej
                if in_scope(ej) and {s["dep"] for s in sites_by_ej[ej]} & shared}

    # --- fixture ---------------------------------------------------------------
    header, rows = read_utf8(ENTITIES)
    if header != HEADER:
        errors.append(f"unexpected header {header!r}, expected {HEADER!r}")
    seen = Counter(r["ej_finess"] for r in rows)
    for ej, n in sorted(seen.items()):
        if n > 1:
            errors.append(f"{ej}: listed {n} times")
    assigned: dict[str, str] = {}
    for r in rows:
        ej, g = r["ej_finess"], r["ght_code"]
        if r["confidence"] not in CONFIDENCES:
            errors.append(f"{ej}: bad confidence {r['confidence']!r}")
        if ej not in sites_by_ej:
            errors.append(f"{ej}: not the fi_ej of a public (stjr=1) row of ID_2023r.csv")
            continue
        if not g:
            if not r["note"].strip():
                errors.append(f"{ej}: empty ght_code needs a note")
        elif g not in ghts:
            errors.append(f"{ej}: ght_code {g!r} not in GHT_2023r.csv")
        else:
            assigned[ej] = g
            if g not in deps_of_ght:
                warnings.append(f"{ej}: {g} missing from ght_departments.csv")
            elif not deps_of(ej) & deps_of_ght[g]:
                warnings.append(f"{ej} ({r['ej_name']}, dep {'/'.join(sorted(deps_of(ej)))}): "
                                f"{g} covers {'/'.join(sorted(deps_of_ght[g]))} only")
        if ej in sites_by_ej and ej not in required:
            warnings.append(f"{ej} ({r['ej_name']}): listed but not required "
                            "(no site in a shared department or no in-scope site)")
    missing = sorted(required - set(seen))
    for ej in missing:
        s = sites_by_ej[ej][0]
        errors.append(f"{ej} ({s['rs']}, dep {s['dep']}): public legal entity of a shared "
                      "department not listed")
    listed = set(seen)

    # --- members per GHT: listed + inferred from single-GHT departments -------
    members: dict[str, dict[str, str]] = defaultdict(dict)   # ght -> ej -> how
    ambiguous = []
    for ej, g in assigned.items():
        members[g][ej] = "listed"
    for ej in sites_by_ej:
        if ej in listed:
            continue
        deps = {s["dep"] for s in sites_by_ej[ej]}
        cands = {g for d in deps for g in ghts_of_dep.get(d, [])}
        if deps & shared or not cands:
            continue        # unlisted out-of-scope entity of a shared dep, or no GHT
        if len(cands) > 1:
            ambiguous.append(ej)
            by_dep = Counter(s["dep"] for s in sites_by_ej[ej])
            cands = set(ghts_of_dep[by_dep.most_common(1)[0][0]])
        members[next(iter(cands))][ej] = "inferred"

    # --- report ----------------------------------------------------------------
    conf = Counter(r["confidence"] for r in rows)
    none = [r for r in rows if not r["ght_code"]]
    print(f"Rows: {len(rows)} (assigned to a GHT: {len(assigned)}, no GHT: {len(none)}); "
          f"confidence " + ", ".join(f"{k}={conf.get(k, 0)}" for k in ("high", "medium", "low")))
    print(f"Public legal entities required (shared departments, in-scope site): "
          f"{len(required)}; missing: {len(missing)}")
    if missing_activity:
        print(f"NOTE: {', '.join(missing_activity)} not found: every site is counted")
    print()
    print("Per GHT: members (listed + inferred from single-GHT departments), "
          "columns CHU CH CHS AUT")
    print(f"{'GHT':<8} {'list':>4} {'inf':>4} | {'EJ':^15} | {'sites':^15} | "
          f"{'SAE NB_*':^15} | sites  EJ")
    match_sites = match_sites_aut = match_ej = 0
    touched = touched_ok = 0
    for g in sorted(ghts, key=lambda c: c.upper()):
        mem = members.get(g, {})
        ejc, sitec = Counter(), Counter()
        for ej in mem:
            ejc[entity_group(sites_by_ej[ej])] += 1
            for s in sites_by_ej[ej]:
                if counted(s):
                    sitec[site_group(s["cat"])] += 1
        nb = Counter({k: int(ghts[g][NB_COLS[k]] or 0) for k in GROUPS})
        core = ("CHU", "CH", "CHS")
        ok_sites = all(sitec[k] == nb[k] for k in core)
        ok_aut = ok_sites and sitec["AUT"] == nb["AUT"]
        ok_ej = all(ejc[k] == nb[k] for k in core)
        match_sites += ok_sites
        match_sites_aut += ok_aut
        match_ej += ok_ej
        n_list = sum(1 for v in mem.values() if v == "listed")
        flag_s = "ok+" if ok_aut else ("ok" if ok_sites else "DIFF")
        if n_list:
            touched += 1
            touched_ok += ok_sites
        print(f"{g:<8} {n_list:>4} {len(mem) - n_list:>4} | {fmt(ejc)} | {fmt(sitec)} | "
              f"{fmt(nb)} | {flag_s:<5} {'ok' if ok_ej else '-'}")
    print()
    print(f"GHTs whose counted sites match NB_CHRCHU/NB_CH/NB_CHS exactly: "
          f"{match_sites}/{len(ghts)} (also NB_AUT: {match_sites_aut})")
    print(f"  of which GHTs with at least one listed entity: {touched_ok}/{touched}")
    print(f"GHTs whose legal-entity counts match NB_CHRCHU/NB_CH/NB_CHS exactly: "
          f"{match_ej}/{len(ghts)}")
    if ambiguous:
        print(f"Inferred entities spanning several single-GHT departments "
              f"(assigned by their main department): {', '.join(sorted(ambiguous))}")

    if warnings:
        print()
        print(f"{len(warnings)} warning(s)")
        for w in warnings:
            print(f"  - {w}")
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
