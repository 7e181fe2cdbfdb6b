#!/usr/bin/env python3
"""Check fixtures/hopen_catalogue.json (HOP'EN indicator catalogue, annex 1 of the DGOS instruction).

Stdlib only. Usage: python scripts/check_catalogue.py [path/to/hopen_catalogue.json]
Exits non-zero (AssertionError) on the first inconsistency, prints a summary otherwise.
"""
import json
import sys
from pathlib import Path

DEFAULT = Path(__file__).resolve().parent.parent / "fixtures" / "hopen_catalogue.json"

EXPECTED_PREREQUISITES = [
    "P1.1", "P1.2", "P1.3", "P1.4",
    "P2.1", "P2.2", "P2.4", "P2.5",
    "P3.2", "P3.3", "P3.4", "P3.6",
    "P4.1", "P4.2", "P4.3",
]
EXPECTED_DOMAINS = [
    "D1.1", "D1.2", "D1.3", "D1.5",
    "D2.2", "D2.3", "D2.4", "D2.5",
    "D3.1", "D3.2", "D3.3", "D3.4", "D3.5",
    "D4.1", "D4.2", "D4.3", "D4.4",
    "D5.1", "D5.2", "D5.3",
    "D6.1", "D6.2", "D6.3",
    "D7.1", "D7.2", "D7.3",
]
EXPECTED_GROUPS = ["P1", "P2", "P3", "P4", "D1", "D2", "D3", "D4", "D5", "D6", "D7"]
INDICATOR_KEYS = {
    "code", "group", "position", "label", "ght_declination", "hn_attainment_rate",
    "target_text", "target_kind", "target_threshold_percent", "evolution",
    "not_applicable_allowed", "not_applicable_note",
}


def check(path):
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)

    assert doc["programme"]["code"] == "HOPEN", doc["programme"]
    for key in ("name", "source"):
        assert doc["programme"].get(key), f"programme.{key} is empty"
    assert doc["catalogue_version"].get("code") and doc["catalogue_version"].get("label")

    groups = doc["groups"]
    group_codes = [g["code"] for g in groups]
    assert group_codes == EXPECTED_GROUPS, group_codes
    assert len(set(group_codes)) == len(group_codes), "duplicate group codes"
    group_kind = {}
    for g in groups:
        expected_kind = "prerequisite" if g["code"].startswith("P") else "domain"
        assert g["kind"] == expected_kind, g
        assert isinstance(g["label"], str) and g["label"].strip(), g
        group_kind[g["code"]] = g["kind"]
    assert [g["position"] for g in groups] == list(range(1, len(groups) + 1)), "group positions"

    indicators = doc["indicators"]
    codes = [i["code"] for i in indicators]
    assert len(set(codes)) == len(codes), f"duplicate indicator codes: {sorted(c for c in codes if codes.count(c) > 1)}"

    for i in indicators:
        code = i["code"]
        assert set(i) == INDICATOR_KEYS, f"{code}: keys {sorted(set(i) ^ INDICATOR_KEYS)}"
        assert i["group"] in group_kind, f"{code}: unknown group {i['group']!r}"
        assert code.split(".")[0] == i["group"], f"{code}: code does not belong to group {i['group']}"
        assert isinstance(i["position"], int) and i["position"] >= 1, code
        assert isinstance(i["label"], str) and i["label"].strip(), f"{code}: empty label"
        assert isinstance(i["target_text"], str) and i["target_text"].strip(), f"{code}: empty target"
        for key in ("ght_declination", "hn_attainment_rate", "evolution", "not_applicable_note"):
            assert isinstance(i[key], str), f"{code}: {key} must be a string"
        assert isinstance(i["not_applicable_allowed"], bool), code
        if i["not_applicable_allowed"]:
            assert i["not_applicable_note"].strip(), f"{code}: N/A allowed without a note"
        kind, threshold = i["target_kind"], i["target_threshold_percent"]
        if kind == "rate":
            assert isinstance(threshold, str), f"{code}: rate threshold must be a string, got {threshold!r}"
            value = float(threshold)  # raises ValueError if not numeric
            assert 0 < value <= 100, f"{code}: threshold {value} outside ]0, 100]"
            assert f"{threshold}%" in i["target_text"].replace(" %", "%"), (
                f"{code}: threshold {threshold} not found in target text {i['target_text']!r}")
        elif kind == "existence":
            assert threshold is None, f"{code}: existence target with threshold {threshold!r}"
        else:
            raise AssertionError(f"{code}: unknown target_kind {kind!r}")

    prerequisites = [i["code"] for i in indicators if group_kind[i["group"]] == "prerequisite"]
    domains = [i["code"] for i in indicators if group_kind[i["group"]] == "domain"]
    assert len(prerequisites) == 15, len(prerequisites)
    assert len(domains) == 26, len(domains)
    assert prerequisites == EXPECTED_PREREQUISITES, prerequisites
    assert domains == EXPECTED_DOMAINS, domains

    for g in group_codes:
        positions = [i["position"] for i in indicators if i["group"] == g]
        assert positions == list(range(1, len(positions) + 1)), f"{g}: positions {positions}"

    rates = sum(1 for i in indicators if i["target_kind"] == "rate")
    na = [i["code"] for i in indicators if i["not_applicable_allowed"]]
    print(f"OK {path}: {len(groups)} groups, {len(prerequisites)} prerequisite and {len(domains)} "
          f"domain indicators; {rates} rate targets, {len(indicators) - rates} existence targets; "
          f"N/A allowed for {len(na)}")


if __name__ == "__main__":
    check(sys.argv[1] if len(sys.argv) > 1 else DEFAULT)
