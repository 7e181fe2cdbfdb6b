import pytest

from funding.loading import load_amount_grid
from funding.selectors import amount_grid


@pytest.fixture
def grid(catalogue):
    """The annex-3 amount grid loaded from fixtures/hopen_amount_grid.json, as plain values."""
    load_amount_grid()
    return amount_grid()
