"""Opening the regional envelopes of a programme (annex 2) from fixtures/hopen_regional_envelopes.json.

Each region gets its `Envelope` row and two allocation entries — seed (20 %, delegated from 2019) and usage
(80 %, from 2020) — recorded once (idempotency keys), so loading twice changes nothing.
"""

import datetime
import json
from decimal import Decimal
from pathlib import Path

from django.db import transaction

from funding.loading_envelopes import FIXTURE
from hopen.audit import audit_record
from hopen.formatting import french_keur
from hopen.models import Region
from indicators.models import Programme

from .ledger import Movement, append_many, lock_envelopes
from .models import EntryKind, Envelope, Pot
from .rules import split_envelope


@transaction.atomic
def load_envelopes(path: Path = FIXTURE, *, regions=None, data: dict | None = None) -> dict:
    """Create the envelopes and their allocations; `regions` restricts to some region codes (tests). `data`: a
    programme's envelope table already read (`Programme.regional_envelopes` with its programme's code)."""
    data = data if data is not None else json.loads(Path(path).read_text(encoding="utf-8"))
    programme = Programme.objects.get(code=data["programme"])
    delegation = data["delegation"]
    regions_by_code = {r.code: r for r in Region.objects.all()}
    counts = {"envelopes": 0, "allocations": 0, "missing_regions": []}
    movements = []
    for row in data["regions"]:
        if regions is not None and row["region_code"] not in regions:
            continue
        region = regions_by_code.get(row["region_code"])
        if region is None:
            counts["missing_regions"].append(row["region_code"])
            continue
        envelope, created = Envelope.objects.get_or_create(programme=programme, region=region)
        if created:
            counts["envelopes"] += 1
            audit_record(actor=None, action="envelope.open", target=envelope, changes={"region": [None, region.code]})
        seed, usage = split_envelope(Decimal(row["envelope_keur"]) * 1000)
        for pot, amount, year in ((Pot.SEED, seed, delegation["seed_first_year"]), (Pot.USAGE, usage, delegation["usage_first_year"])):
            movements.append(
                Movement(
                    envelope_id=envelope.pk, kind=EntryKind.ALLOCATION, pot=pot, amount=amount,
                    effective_on=datetime.date(year, 1, 1),
                    label=f"Dotation {Pot(pot).label.lower()} — annexe 2 ({french_keur(Decimal(row['envelope_keur']))})",
                    idempotency_key=f"allocation:{programme.code}:{region.code}:{pot}",
                )
            )
    lock_envelopes(m.envelope_id for m in movements)
    created_entries = append_many(movements, locked=True)
    counts["allocations"] = len(created_entries)
    return counts


def load_all_programme_envelopes() -> dict:
    """Open the envelopes of every programme whose envelope table is loaded (`load_programme`)."""
    total = {"envelopes": 0, "allocations": 0, "missing_regions": []}
    for programme in Programme.objects.exclude(regional_envelopes={}).order_by("code"):
        counts = load_envelopes(data={**programme.regional_envelopes, "programme": programme.code})
        total["envelopes"] += counts["envelopes"]
        total["allocations"] += counts["allocations"]
        total["missing_regions"] += [c for c in counts["missing_regions"] if c not in total["missing_regions"]]
    return total
