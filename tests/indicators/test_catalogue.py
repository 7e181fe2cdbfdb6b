"""The HOP'EN catalogue of annex 1, loaded from fixtures/hopen_catalogue.json, and the programme calendar."""

import datetime
from decimal import Decimal

import pytest

from hopen.models import AuditRecord
from indicators.loading import load_calendar, load_catalogue
from indicators.models import CatalogueVersion, Indicator, IndicatorGroup, ProgrammeDeadline, SemesterRange
from indicators.periods import semesters_between

pytestmark = pytest.mark.django_db

PREREQUISITES = {
    "P1": ["P1.1", "P1.2", "P1.3", "P1.4"],
    "P2": ["P2.1", "P2.2", "P2.4", "P2.5"],
    "P3": ["P3.2", "P3.3", "P3.4", "P3.6"],
    "P4": ["P4.1", "P4.2", "P4.3"],
}
DOMAINS = {
    "D1": ["D1.1", "D1.2", "D1.3", "D1.5"],
    "D2": ["D2.2", "D2.3", "D2.4", "D2.5"],
    "D3": ["D3.1", "D3.2", "D3.3", "D3.4", "D3.5"],
    "D4": ["D4.1", "D4.2", "D4.3", "D4.4"],
    "D5": ["D5.1", "D5.2", "D5.3"],
    "D6": ["D6.1", "D6.2", "D6.3"],
    "D7": ["D7.1", "D7.2", "D7.3"],
}


def test_annex_1_counts_15_prerequisite_and_26_domain_indicators(catalogue):
    assert catalogue.filter(group__kind="prerequisite").count() == 15
    assert catalogue.filter(group__kind="domain").count() == 26
    for group, codes in {**PREREQUISITES, **DOMAINS}.items():
        assert list(catalogue.filter(group__code=group).values_list("code", flat=True)) == codes


@pytest.mark.parametrize(
    "code, kind, threshold, text",
    [
        # Annex 1, "Seuil d'éligibilité / Cible HOP'EN" column.
        ("P1.1", "rate", "90", "90% des applications"),
        ("P3.4", "rate", "100", None),
        ("D1.1", "rate", "90", "90% des comptes-rendus"),
        ("D1.5", "rate", "80", None),
        ("D2.2", "rate", "98", None),
        ("D2.3", "rate", "70", None),
        ("D6.3", "rate", "60", None),
        ("D7.1", "rate", "60", "60% des services de consultations"),
        ("P1.2", "existence", None, None),
        ("D7.3", "existence", None, None),
    ],
)
def test_sample_of_targets_matches_annex_1(catalogue, code, kind, threshold, text):
    indicator = catalogue.get(code=code)
    assert indicator.target_kind == kind
    assert indicator.target_threshold == (Decimal(threshold) if threshold else None)
    if text:
        assert indicator.target_text.startswith(text)


def test_domain_indicators_may_be_not_applicable_prerequisites_may_not(catalogue):
    """§5.3.1: « Si plus d'un indicateur par domaine est non applicable/non concerné … le projet est inéligible »."""
    assert not catalogue.filter(group__kind="domain", not_applicable_allowed=False).exists()
    assert not catalogue.filter(group__kind="prerequisite", not_applicable_allowed=True).exists()


def test_labels_are_transcribed(catalogue):
    assert "paiement en ligne" in catalogue.get(code="D7.3").label
    assert "INS" in catalogue.get(code="P1.1").label
    assert IndicatorGroup.objects.get(code="D6", catalogue__is_current=True).label.startswith("Communiquer")


def test_loading_twice_changes_nothing(catalogue):
    records = AuditRecord.objects.count()
    assert load_catalogue() == {"created": 0, "updated": 0, "unchanged": 1 + 1 + 11 + 41}
    assert load_calendar()["created"] == 0
    assert AuditRecord.objects.count() == records


def test_a_new_catalogue_version_becomes_current_and_keeps_the_old_one(catalogue, tmp_path):
    import json
    from django.conf import settings

    data = json.loads((settings.BASE_DIR / "fixtures" / "hopen_catalogue.json").read_text(encoding="utf-8"))
    data["catalogue_version"] = {"code": "2019", "label": "Guides après concertation"}
    data["indicators"][0]["target_threshold_percent"] = "95"
    path = tmp_path / "catalogue.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    load_catalogue(path)
    versions = CatalogueVersion.objects.filter(programme__code="HOPEN")
    assert [(v.code, v.is_current) for v in versions.order_by("code")] == [("2018", False), ("2019", True)]
    assert Indicator.objects.get(code="P1.1", catalogue__code="2018").target_threshold == Decimal("90.00")
    assert Indicator.objects.get(code="P1.1", catalogue__code="2019").target_threshold == Decimal("95.00")


def test_calendar_deadlines_from_the_instruction(catalogue):
    deadlines = dict(ProgrammeDeadline.objects.filter(programme__code="HOPEN").values_list("code", "date"))
    assert deadlines["ami-deadline"] == datetime.date(2019, 6, 30)  # §5.3.2
    assert deadlines["late-candidature-deadline"] == datetime.date(2021, 12, 31)  # §5.3.2
    assert deadlines["prerequisites-derogatory-deadline"] == datetime.date(2021, 1, 1)  # §5.3.1, annex 2
    forecast = SemesterRange.objects.get(programme__code="HOPEN", code="domain-forecast")
    assert semesters_between(forecast.first, forecast.last)[0] == "2019 S1"
    assert semesters_between(forecast.first, forecast.last)[-1] == "2022 S2"
    assert len(semesters_between(forecast.first, forecast.last)) == 8
