"""Loading a programme's rules from fixtures: calendar, catalogue. Idempotent; every change is audited."""

import datetime
import json
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.db import transaction

from hopen.audit import audit_record

from .models import (
    CatalogueVersion,
    Indicator,
    IndicatorGroup,
    Programme,
    ProgrammeDeadline,
    ProgrammeDelay,
    SemesterRange,
)
from .state.writer import refresh_attainment

FIXTURES = Path(settings.BASE_DIR) / "fixtures"


def _upsert(model, lookup: dict, values: dict, counts: dict, actor=None):
    instance = model.objects.filter(**lookup).first()
    if instance is None:
        instance = model.objects.create(**lookup, **values)
        audit_record(actor=actor, action="programme.load", target=instance, changes={k: [None, v] for k, v in values.items()})
        counts["created"] += 1
        return instance
    changes = {k: [getattr(instance, k), v] for k, v in values.items() if getattr(instance, k) != v}
    if changes:
        for key, value in values.items():
            setattr(instance, key, value)
        instance.save()
        audit_record(actor=actor, action="programme.load", target=instance, changes=changes)
        counts["updated"] += 1
    else:
        counts["unchanged"] += 1
    return instance


def read_fixture(path: Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _optional_date(text):
    return datetime.date.fromisoformat(text) if text else None


PROGRAMME_FLAGS = ("is_fictitious", "is_default", "is_selectable", "refunds_return_to_envelope")


@transaction.atomic
def load_calendar(path: Path = FIXTURES / "programme_calendar.json", *, data: dict | None = None) -> dict:
    """Programmes and their calendars: windows (`deadlines`: opens, closing date, included or not), delays and
    semester ranges. `data` is the file's content already read (a programme file's `programme` section)."""
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    data = data if data is not None else read_fixture(path)
    for spec in data["programmes"]:
        values = {"name": spec["name"]} | {flag: spec[flag] for flag in PROGRAMME_FLAGS if flag in spec}
        if "source" in spec:
            values["source"] = spec["source"]
        if values.get("is_default"):
            # One default programme (constraint): the file that declares a new default takes it over.
            for previous in Programme.objects.filter(is_default=True).exclude(code=spec["code"]):
                _upsert(Programme, {"code": previous.code}, {"is_default": False}, counts)
        prior = spec.get("prior_programme")
        if prior:
            # A code names a programme loaded before; an object {code, name} declares it (a file loads alone).
            if isinstance(prior, dict):
                values["prior_programme"] = _upsert(
                    Programme, {"code": prior["code"]}, {"name": prior["name"], "is_selectable": False}, counts
                )
            else:
                values["prior_programme"] = Programme.objects.get(code=prior)
        programme = _upsert(Programme, {"code": spec["code"]}, values, counts)
        for deadline in spec["deadlines"]:
            _upsert(
                ProgrammeDeadline,
                {"programme": programme, "code": deadline["code"]},
                {
                    "label": deadline["label"],
                    "opens": _optional_date(deadline.get("opens")),
                    "date": datetime.date.fromisoformat(deadline["date"]),
                    "closing": deadline.get("closing", "on"),
                    "source": deadline["source"],
                },
                counts,
            )
        for delay in spec.get("delays", []):
            _upsert(
                ProgrammeDelay,
                {"programme": programme, "code": delay["code"]},
                {k: delay[k] for k in ("label", "months", "days", "source")},
                counts,
            )
        for semester_range in spec["semester_ranges"]:
            _upsert(
                SemesterRange,
                {"programme": programme, "code": semester_range["code"]},
                {k: semester_range[k] for k in ("label", "first", "last", "source")},
                counts,
            )
    return counts


@transaction.atomic
def load_catalogue(path: Path = FIXTURES / "hopen_catalogue.json", *, data: dict | None = None) -> dict:
    """Annex 1 catalogue. A new `catalogue_version.code` creates a new version and makes it current;
    the previous version and the values entered against it are kept."""
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    data = data if data is not None else read_fixture(path)
    programme = _upsert(
        Programme, {"code": data["programme"]["code"]},
        {"name": data["programme"]["name"], "source": data["programme"]["source"]}, counts,
    )
    version = data["catalogue_version"]
    CatalogueVersion.objects.filter(programme=programme, is_current=True).exclude(code=version["code"]).update(is_current=False)
    catalogue = _upsert(
        CatalogueVersion, {"programme": programme, "code": version["code"]},
        {"label": version["label"], "is_current": True}, counts,
    )
    groups = {}
    for group in data["groups"]:
        groups[group["code"]] = _upsert(
            IndicatorGroup, {"catalogue": catalogue, "code": group["code"]},
            {"kind": group["kind"], "label": group["label"], "position": group["position"]}, counts,
        )
    for item in data["indicators"]:
        threshold = item["target_threshold_percent"]
        _upsert(
            Indicator, {"catalogue": catalogue, "code": item["code"]},
            {
                "group": groups[item["group"]],
                "position": item["position"],
                "label": item["label"],
                "ght_declination": item["ght_declination"],
                "hn_attainment_rate": item["hn_attainment_rate"],
                "target_text": item["target_text"],
                "target_kind": item["target_kind"],
                "target_threshold": Decimal(threshold).quantize(Decimal("0.01")) if threshold is not None else None,
                "evolution": item["evolution"],
                "not_applicable_allowed": item["not_applicable_allowed"],
                "not_applicable_note": item["not_applicable_note"],
            },
            counts,
        )
    if counts["created"] or counts["updated"]:
        # A new version, an indicator or a threshold changed: the programme's attainment state is recomputed in
        # this transaction (a reload that changes nothing leaves it as it is).
        refresh_attainment(establishment_ids=None, programme_ids=[programme.pk])
    return counts


@transaction.atomic
def load_envelope_table(*, data: dict) -> dict:
    """The regional envelope table as the programme's text prints it (annex 2 §1 for HOP'EN), kept on the
    programme: `open_envelopes` opens the ledger from it, the pages that quote the text read it."""
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    table = {key: value for key, value in data.items() if key != "programme"}
    _upsert(Programme, {"code": data["programme"]}, {"regional_envelopes": table}, counts)
    return counts
