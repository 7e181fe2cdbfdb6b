"""Annex 2 §1 of the instruction: each region's share of national combined activity and its envelope.

The table is programme data: transcribed in fixtures/hopen_regional_envelopes.json for HOP'EN (18 regions), a
programme file's ``regional_envelopes`` section for another, and kept as printed on the programme
(`Programme.regional_envelopes`, loaded by `load_programme`). `programme_envelope_table(programme)` reads it there;
`load_regional_envelopes(path)` reads a file as is. No model, nothing written. HOP'EN's printed figures are
rounded, so the shares add up to 99.96 % and the envelopes to 419 999 k€ against the printed totals of 100,00 % and
420 000 k€; La Réunion is printed 1,07 % while its 4 539 k€ are 1,08 % of 420 000 k€ (kept as printed).
"""

import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.conf import settings

FIXTURE = Path(settings.BASE_DIR) / "fixtures" / "hopen_regional_envelopes.json"


@dataclass(frozen=True)
class RegionalEnvelope:
    region_code: str
    region_name: str
    share_percent: Decimal  # « % activité combinée par rapport au total »
    envelope_keur: Decimal  # « Enveloppe régionale (k€) »
    source: str


@dataclass(frozen=True)
class RegionalEnvelopeTable:
    source: str
    total_share_percent: Decimal
    total_envelope_keur: Decimal
    regions: list  # [RegionalEnvelope], in the order of the annex


def load_regional_envelopes(path: Path = FIXTURE) -> RegionalEnvelopeTable:
    """The annex-2 table as plain values (the file is small: read on each call, no cache)."""
    return envelope_table(json.loads(Path(path).read_text(encoding="utf-8")))


def programme_envelope_table(programme) -> RegionalEnvelopeTable | None:
    """The programme's envelope table (`Programme.regional_envelopes`, loaded from its file: the annex-2 format),
    as the same plain values; None when the programme has none. No query: the table is a field of the programme."""
    data = programme.regional_envelopes
    return envelope_table(data) if data and data.get("regions") else None


def envelope_table(data: dict) -> RegionalEnvelopeTable:
    """The annex-2 table of a programme, from its JSON form (the file, or `Programme.regional_envelopes`)."""
    regions = [
        RegionalEnvelope(
            region_code=row["region_code"],
            region_name=row["region_name"],
            share_percent=Decimal(row["share_percent"]),
            envelope_keur=Decimal(row["envelope_keur"]),
            source=row["source"],
        )
        for row in data["regions"]
    ]
    return RegionalEnvelopeTable(
        source=data["source"],
        total_share_percent=Decimal(data["total_share_percent"]),
        total_envelope_keur=Decimal(data["total_envelope_keur"]),
        regions=regions,
    )
