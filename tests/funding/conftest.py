import pytest

from funding.loading import load_amount_grid
from funding.selectors import amount_grid
from indicators.models import Programme


@pytest.fixture
def grid(catalogue):
    """The annex-3 amount grid loaded from fixtures/hopen_amount_grid.json, as plain values."""
    load_amount_grid()
    return amount_grid(Programme.objects.get(code="HOPEN"))


@pytest.fixture
def hopen_envelope_table(catalogue):
    """HOP'EN with its annex-2 envelope table kept on the programme (`load_programme` does it): the regional shares
    page reads the table of the programme in force."""
    from indicators.loading import FIXTURES, load_envelope_table, read_fixture

    load_envelope_table(data=read_fixture(FIXTURES / "hopen_regional_envelopes.json"))
    return Programme.objects.get(code="HOPEN")
