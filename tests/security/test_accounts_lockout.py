"""Login lockout and throttling per account and per client address (issue 15, item 1): the login form and the token
endpoint, behind 0 or more trusted proxies, so that a forged `X-Forwarded-For` changes nothing."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import SESSION_KEY
from django.test import Client, RequestFactory
from knox.models import AuthToken
from rest_framework.test import APIClient

from hopen.accounts.client import client_ip
from tests.factories import UserFactory
from tests.security.accounts_support import (  # noqa: F401  (fixtures)
    BAD_LOGIN, LIMIT, LOCKED, LOGIN_URL, PASSWORD, TOKEN_URL, account, real_limits,
)

pytestmark = pytest.mark.django_db


def login(client, email, password, ip="198.51.100.1"):
    return client.post(LOGIN_URL, {"username": email, "password": password}, REMOTE_ADDR=ip)


def test_twenty_wrong_passwords_lock_the_account_and_the_right_one_then_fails(real_limits, account):
    """Issue 15, « Done when »: 20 wrong passwords lock the account; the right password then fails with the message."""
    client = Client()
    responses = [login(client, account.email, f"faux-{n}") for n in range(20)]
    assert [r.status_code for r in responses[: LIMIT - 1]] == [200] * (LIMIT - 1)
    assert all(BAD_LOGIN in r.content.decode() for r in responses[: LIMIT - 1])
    assert {r.status_code for r in responses[LIMIT - 1:]} == {429}
    page = responses[-1].content.decode()
    assert LOCKED in page and "Connexion temporairement bloquée" in page and "30 minutes" in page

    right = login(client, account.email, PASSWORD)
    assert right.status_code == 429 and LOCKED in right.content.decode()
    assert SESSION_KEY not in client.session
    # Per account: the right password from another address fails too, whatever the case of the address.
    elsewhere = login(Client(), account.email.upper(), PASSWORD, ip="203.0.113.9")
    assert elsewhere.status_code == 429


def test_lockout_is_per_address_too_and_spares_the_others(real_limits, account):
    other = UserFactory()
    client = Client()
    for n in range(LIMIT):  # one guess on each of many (unknown) accounts from one address
        login(client, f"cible{n}@test.hopen.fr", PASSWORD)
    assert login(Client(), other.email, PASSWORD).status_code == 429  # the address is locked
    accepted = Client()
    assert login(accepted, other.email, PASSWORD, ip="203.0.113.20").status_code == 302  # another address is not
    assert accepted.session[SESSION_KEY] == str(other.pk)


def test_unknown_and_known_addresses_lock_alike(real_limits, account):
    """No account enumeration: the lockout answer is the same for an address that matches no account."""
    known = [login(Client(), account.email, "faux", ip="198.51.100.7").status_code for _ in range(LIMIT + 1)]
    unknown = [login(Client(), "personne@test.hopen.fr", "faux", ip="198.51.100.8").status_code for _ in range(LIMIT + 1)]
    assert known == unknown


def test_lockout_ends_after_the_cool_off(real_limits, account):
    for n in range(LIMIT):
        login(Client(), account.email, "faux")
    assert login(Client(), account.email, PASSWORD).status_code == 429
    past = real_limits.AXES_COOLOFF_TIME + timedelta(minutes=1)
    for attempt in AccessAttempt.objects.all():
        AccessAttempt.objects.filter(pk=attempt.pk).update(attempt_time=attempt.attempt_time - past)
    assert login(Client(), account.email, PASSWORD).status_code == 302


def token_attempt(email, password, forwarded, remote="198.51.100.1"):
    return APIClient().post(
        TOKEN_URL, {"email": email, "password": password}, format="json",
        HTTP_X_FORWARDED_FOR=forwarded, REMOTE_ADDR=remote,
    )


def test_twenty_token_attempts_with_twenty_forged_addresses_get_429(real_limits, account):
    """Issue 15, « Done when »: 20 token attempts with 20 different `X-Forwarded-For` get 429 after the limit."""
    responses = [token_attempt(account.email, f"faux-{n}", f"10.0.0.{n}") for n in range(20)]
    statuses = [r.status_code for r in responses]
    assert statuses[: LIMIT - 1] == [400] * (LIMIT - 1)
    assert set(statuses[LIMIT:]) == {429}
    # The attempt reaching the limit locks the account (axes); the next ones are also over the throttle (10/minute).
    assert "Connexion temporairement bloquée" in responses[LIMIT - 1].json()["detail"]
    assert "Requête ralentie" in responses[-1].json()["detail"]
    right = token_attempt(account.email, PASSWORD, "10.0.1.1")
    assert right.status_code == 429 and "token" not in right.json()
    assert not AuthToken.objects.exists()


def test_the_throttle_alone_ignores_forged_addresses(real_limits, account):
    """The DRF throttle (10/minute) counts the real client, not the header: each attempt names another account and
    forges another address, and the 11th still gets 429."""
    real_limits.AXES_ENABLED = False
    statuses = [token_attempt(f"cible{n}@test.hopen.fr", "faux", f"10.0.0.{n}").status_code for n in range(20)]
    assert statuses == [400] * 10 + [429] * 10


def test_behind_one_proxy_only_the_proxy_entry_counts(real_limits, account):
    """NUM_PROXIES = 1: the right-most entry is what our proxy saw; whatever the client put on its left is ignored."""
    real_limits.AXES_ENABLED = False
    real_limits.NUM_PROXIES = 1
    statuses = [
        token_attempt(f"cible{n}@test.hopen.fr", "faux", f"10.0.0.{n}, 203.0.113.5", remote="172.18.0.2").status_code
        for n in range(12)
    ]
    assert statuses == [400] * 10 + [429] * 2
    # Another real client behind the same proxy is counted apart.
    assert token_attempt(account.email, PASSWORD, "203.0.113.6", remote="172.18.0.2").status_code == 200


@pytest.mark.parametrize(
    "num_proxies, forwarded, expected",
    [
        (0, "10.0.0.1", "192.0.2.1"),  # no proxy: the header is the client's word, ignored
        (1, "10.0.0.1, 203.0.113.5", "203.0.113.5"),
        (2, "10.0.0.1, 203.0.113.5, 172.18.0.3", "203.0.113.5"),
        (2, "203.0.113.5", "203.0.113.5"),  # shorter chain than declared: its left-most entry
        (1, "pas-une-adresse", "192.0.2.1"),  # never store what is not an address
        (1, None, "192.0.2.1"),
    ],
)
def test_client_address_rule(settings, num_proxies, forwarded, expected):
    settings.NUM_PROXIES = num_proxies
    extra = {"REMOTE_ADDR": "192.0.2.1"}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    assert client_ip(RequestFactory().get("/", **extra)) == expected


def test_compose_declares_its_reverse_proxy():
    from pathlib import Path

    compose = (Path(__file__).resolve().parents[2] / "docker-compose.yml").read_text()
    assert 'NUM_PROXIES: "1"' in compose
