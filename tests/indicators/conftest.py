import datetime

import pytest

from indicators.loading import load_calendar, load_catalogue
from indicators.models import Indicator, Programme
from indicators.services import ValueInput, value_declare, value_save_draft


@pytest.fixture
def catalogue(db):
    """The real HOP'EN catalogue of annex 1 (fixtures/hopen_catalogue.json) and the programme calendar."""
    load_calendar()
    load_catalogue()
    return Indicator.objects.filter(catalogue__is_current=True, catalogue__programme__code="HOPEN")


def hopen_programme():
    """HOP'EN, loaded by the `catalogue` fixture (tests may name programmes; application code may not)."""
    return Programme.objects.get(code="HOPEN")


def indicator(code, programme_code="HOPEN"):
    """The indicator of a programme's catalogue in force (HOP'EN's unless told: the demo campaign has the same
    codes in its own catalogue)."""
    return Indicator.objects.get(code=code, catalogue__is_current=True, catalogue__programme__code=programme_code)


def rate(numerator, denominator, day=datetime.date(2020, 3, 15), **extra):
    return ValueInput(measured_on=day, kind="rate", numerator=numerator, denominator=denominator, **extra)


def existence(exists, day=datetime.date(2020, 3, 15), **extra):
    return ValueInput(measured_on=day, kind="existence", exists=exists, **extra)


def not_applicable(reason="Activité non réalisée dans l'établissement", day=datetime.date(2020, 3, 15)):
    return ValueInput(measured_on=day, kind="not_applicable", not_applicable_reason=reason)


def declared(establishment, code, data, *, editor, director):
    """Enter a draft as `editor` and declare it as `director` through the services."""
    value = value_save_draft(establishment=establishment, indicator=indicator(code), data=data, by=editor)
    return value_declare(value=value, by=director)
