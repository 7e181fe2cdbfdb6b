"""One file, one programme: a successor or a campaign is configured by a fixture, not coded.

A programme file (``fixtures/programmes/*.json``) holds every rule of the programme as data:

- ``programme``: code, name, source, flags (``is_fictitious``, ``is_default``, ``is_selectable``) and its
  calendar: ``deadlines`` (the windows: ``opens``, ``date``, ``closing`` "on" | "before", ``source``),
  ``delays``, ``semester_ranges``;
- ``catalogue``: ``catalogue_version``, ``groups``, ``indicators`` (the annex-1 format);
- ``amount_grid``: categories and bands (the annex-3 format);
- ``regional_envelopes``: the envelope table (the annex-2 format).

HOP'EN's rules came first as four files (calendar, catalogue, grid, envelopes): `load_hopen_files` reads those.
Each section goes through the same loader as HOP'EN's, so no code path knows which programme it loads.
This module sits above the apps it feeds (indicators, funding): only the loading command imports it.
"""

from pathlib import Path

from django.db import transaction

from funding.loading import load_amount_grid

from .loading import FIXTURES, load_calendar, load_catalogue, load_envelope_table, read_fixture

PROGRAMME_FILES = FIXTURES / "programmes"


def _add(total: dict, counts: dict) -> None:
    for key in ("created", "updated", "unchanged"):
        total[key] += counts[key]


@transaction.atomic
def load_programme_file(path: Path) -> dict:
    """Load every section of a programme file; returns {section: counts}. Idempotent, audited."""
    data = read_fixture(path)
    spec = data["programme"]
    code = spec["code"]
    result = {"calendrier": load_calendar(data={"programmes": [spec]})}
    if "catalogue" in data:
        result["catalogue"] = load_catalogue(
            data={"programme": {"code": code, "name": spec["name"], "source": spec.get("source", "")}, **data["catalogue"]}
        )
    if "amount_grid" in data:
        result["grille des montants"] = load_amount_grid(data={"programme": code, **data["amount_grid"]})
    if "regional_envelopes" in data:
        result["enveloppes régionales"] = load_envelope_table(data={"programme": code, **data["regional_envelopes"]})
    return result


@transaction.atomic
def load_hopen_files() -> dict:
    """HOP'EN's four files (and the earlier programmes of its calendar file)."""
    return {
        "calendrier": load_calendar(),
        "catalogue": load_catalogue(),
        "grille des montants": load_amount_grid(),
        "enveloppes régionales": load_envelope_table(data=read_fixture(FIXTURES / "hopen_regional_envelopes.json")),
    }


def programme_files() -> list[Path]:
    return sorted(PROGRAMME_FILES.glob("*.json"))
