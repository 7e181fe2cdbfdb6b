"""The national bench's data builder (bench/national_data.py) at a tiny scale: it creates what it is asked for."""

import datetime

import pytest

from bench.national_data import DOCUMENTED_SEMESTERS, Size, build, semester_ends
from tests.indicators.conftest import catalogue  # noqa: F401


def test_size_of_scales_establishments_dossiers_and_history():
    assert Size.of(1) == Size(establishments=2950, dossiers=10_000, semesters=10)
    assert Size.of(1, dossiers=0.1, values=0.1) == Size(establishments=2950, dossiers=1000, semesters=1)
    assert Size.of(0.002) == Size(establishments=6, dossiers=20, semesters=10)


def test_semester_ends_are_the_last_semesters_up_to_2023():
    assert semester_ends(3) == [datetime.date(2022, 12, 31), datetime.date(2023, 6, 30), datetime.date(2023, 12, 31)]
    assert len(set(semester_ends(10))) == 10


@pytest.mark.django_db
def test_build_creates_the_counts_asked():
    from ami.models import PreCandidature, PreCandidatureDomain
    from envelopes.models import LedgerEntry
    from funding.models import Dossier, DossierDomain
    from hopen.models import Establishment
    from indicators.models import Evidence, IndicatorValue

    size = Size.of(0.002)
    counts = build(size, out=lambda line: None)

    with_values = Establishment.objects.filter(indicator_values__isnull=False).distinct()
    assert counts["establishments"] == 6 == with_values.count()
    assert counts["indicators"] == 41
    cells = 6 * 41 * 10
    assert IndicatorValue.objects.filter(status="declared").count() == cells
    assert IndicatorValue.objects.filter(status="superseded").count() == counts["superseded"]
    assert IndicatorValue.objects.filter(status="draft").count() == counts["drafts"]
    assert IndicatorValue.objects.count() == counts["values"] == cells + counts["superseded"] + counts["drafts"]
    assert IndicatorValue.objects.filter(previous__isnull=False).count() == counts["superseded"]
    assert Evidence.objects.count() == counts["documents"] > 0
    documented_since = semester_ends(10)[-DOCUMENTED_SEMESTERS]
    assert not Evidence.objects.filter(value__measured_on__lt=documented_since).exists()
    assert not Evidence.objects.exclude(value__status="declared").exists()
    assert Dossier.objects.count() == counts["dossiers"] == 20
    assert DossierDomain.objects.count() == counts["domains"]
    assert LedgerEntry.objects.filter(dossier_domain__isnull=False).count() == counts["entries"] > 0
    assert PreCandidature.objects.count() == counts["pre_candidatures"] == 6
    assert PreCandidatureDomain.objects.count() == counts["ami_lines"]
    assert 2 * 6 <= counts["ami_lines"] <= 4 * 6
    # Spread over the regions, not the first six FINESS of one.
    assert with_values.values("region").distinct().count() > 1


def test_a_tenth_of_the_history_declares_one_semester(catalogue):
    import random

    from bench.national_data import indicator_history
    from indicators.models import IndicatorValue
    from tests.factories import EstablishmentFactory, UserFactory

    establishments = [EstablishmentFactory(), EstablishmentFactory()]
    semesters = Size.of(0.002, dossiers=0.1, values=0.1).semesters

    counts = indicator_history(establishments, semesters, UserFactory(), random.Random(1))

    declared = IndicatorValue.objects.filter(status="declared")
    assert list(declared.values_list("measured_on", flat=True).distinct()) == [datetime.date(2023, 12, 31)]
    assert declared.count() == 2 * catalogue.count()
    assert IndicatorValue.objects.count() == counts["values"]
