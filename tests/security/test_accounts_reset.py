"""Password reset (issue 15, item 1): at most 3 e-mails an hour per address and 10 per client, the same French
answer whether the address has an account or not, and a completed reset lifts the account's login lockout."""

import re

import pytest
from django.core import mail
from django.test import Client

from hopen.accounts.reset import RESET_THROTTLED_MESSAGE
from tests.security.accounts_support import (  # noqa: F401  (fixtures)
    LIMIT, LOGIN_URL, PASSWORD, RESET_URL, account, real_limits,
)

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "nouveau-secret-tres-long-42"


def ask(email, ip="198.51.100.1"):
    return Client().post(RESET_URL, {"email": email}, REMOTE_ADDR=ip)


def test_three_emails_an_hour_per_address(real_limits, account):
    statuses = [ask(account.email.upper() if n % 2 else account.email, ip=f"198.51.100.{n}").status_code for n in range(5)]
    assert statuses == [302, 302, 302, 429, 429]
    assert len(mail.outbox) == 3
    page = ask(account.email, ip="198.51.100.50").content.decode()
    assert "Trop de demandes de réinitialisation du mot de passe" in page


def test_the_limit_tells_nothing_about_which_accounts_exist(real_limits, account):
    known = [ask(account.email, ip="198.51.100.1") for _ in range(4)]
    unknown = [ask("personne@test.hopen.fr", ip="198.51.100.2") for _ in range(4)]
    assert [r.status_code for r in known] == [r.status_code for r in unknown] == [302, 302, 302, 429]
    assert RESET_THROTTLED_MESSAGE.split(":")[0] in known[-1].content.decode()
    def alert(response):
        return re.search(r'role="alert">(.*?)</div>', response.content.decode(), re.S).group(1)

    assert alert(known[-1]) == alert(unknown[-1])


def test_ten_requests_an_hour_per_client(real_limits, account):
    statuses = [ask(f"personne{n}@test.hopen.fr").status_code for n in range(10)]
    assert statuses == [302] * 10
    assert ask(account.email).status_code == 429  # the 11th from this client, even for a real account
    assert mail.outbox == []
    assert ask(account.email, ip="203.0.113.4").status_code == 302  # another client
    assert len(mail.outbox) == 1


def test_a_forged_forwarded_header_does_not_reset_the_count(real_limits, account):
    client = Client()
    statuses = [
        client.post(RESET_URL, {"email": account.email}, HTTP_X_FORWARDED_FOR=f"10.0.0.{n}").status_code
        for n in range(4)
    ]
    assert statuses == [302, 302, 302, 429]


def test_a_completed_reset_lifts_the_account_lockout(real_limits, account):
    for n in range(LIMIT):
        Client().post(LOGIN_URL, {"username": account.email, "password": "faux"}, REMOTE_ADDR="198.51.100.1")
    assert Client().post(LOGIN_URL, {"username": account.email, "password": PASSWORD}, REMOTE_ADDR="203.0.113.1").status_code == 429

    client = Client()
    client.post(RESET_URL, {"email": account.email}, REMOTE_ADDR="203.0.113.1")
    link = re.search(r"(/compte/mot-de-passe/nouveau/\S+/\S+/)", mail.outbox[0].body).group(1)
    form_url = client.get(link)["Location"]
    assert client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}).status_code == 302

    elsewhere = Client().post(LOGIN_URL, {"username": account.email, "password": NEW_PASSWORD}, REMOTE_ADDR="203.0.113.1")
    assert elsewhere.status_code == 302
