"""The dashboard's printed rows (funding/dashboard/lists.py): the address of a dossier's project reviews is written
once per list, the way `reverse` writes it."""

import pytest
from django.urls import reverse

from funding.dashboard.lists import _reviews_urls


@pytest.mark.parametrize("reference", ["HOPEN-84-2024-0001", "dossier 12 é", "a&b=c?d#e%f", "x:y@z~"])
def test_the_reviews_address_is_the_one_reverse_writes(reference):
    assert _reviews_urls()(reference) == reverse("funding:dossier_reviews", args=[reference])
