"""Authentication events in the audit trail (issue 15, item 3): login, failure, lockout, logout, password reset
asked and done, token issued and revoked — with the client address and channel, never a password or a token."""

import json
import re

import pytest
from django.core import mail
from django.test import Client
from rest_framework.test import APIClient

from hopen.accounts.events import auth_event_record
from hopen.models import AuditRecord
from tests.security.accounts_support import (  # noqa: F401  (fixtures)
    LIMIT, LOGIN_URL, PASSWORD, RESET_URL, TOKEN_URL, account, real_limits,
)

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "nouveau-secret-tres-long-42"
IP = "198.51.100.1"


def records(action):
    return list(AuditRecord.objects.filter(action=action).order_by("id"))


def test_login_and_logout_are_recorded(real_limits, account):
    client = Client()
    client.post(LOGIN_URL, {"username": account.email, "password": PASSWORD}, REMOTE_ADDR=IP)
    client.post("/compte/deconnexion/", REMOTE_ADDR=IP)
    (login,), (logout,) = records("auth.login"), records("auth.logout")
    for record in (login, logout):
        assert record.actor_id == account.pk and record.object_type == "hopen.user"
        assert record.object_id == str(account.pk)
        assert record.changes["ip"] == [None, IP] and record.changes["channel"] == [None, "form"]


def test_failures_then_one_lockout_are_recorded(real_limits, account):
    for n in range(LIMIT + 2):
        Client().post(LOGIN_URL, {"username": account.email, "password": f"faux-{n}"}, REMOTE_ADDR=IP)
    failures, (lockout,) = records("auth.login_failed"), records("auth.lockout")
    assert len(failures) == LIMIT + 1  # every attempt but the one that reached the limit
    assert lockout.object_id == str(account.pk) and lockout.actor_id is None
    assert lockout.changes["failures"] == [None, LIMIT] and lockout.changes["locked_out"] == [None, True]
    assert failures[0].changes["failures"] == [None, 1] and failures[-1].changes["locked_out"] == [None, True]


def test_failure_on_an_unknown_address_is_recorded_on_the_attempt(real_limits, db):
    Client().post(LOGIN_URL, {"username": "Personne@Test.hopen.fr", "password": "faux"}, REMOTE_ADDR=IP)
    (failure,) = records("auth.login_failed")
    assert failure.object_type == "axes.accessattempt"
    assert failure.changes["email"] == [None, "personne@test.hopen.fr"]


def test_token_failure_and_issue_are_recorded_with_the_api_channel(real_limits, account):
    api = APIClient()
    api.post(TOKEN_URL, {"email": account.email, "password": "faux"}, format="json", REMOTE_ADDR=IP)
    api.post(TOKEN_URL, {"email": account.email, "password": PASSWORD}, format="json", REMOTE_ADDR=IP)
    (failure,), (issued,) = records("auth.login_failed"), records("auth.token_issue")
    assert failure.changes["channel"] == [None, "api"]
    assert issued.actor_id == account.pk and issued.changes["ip"] == [None, IP]
    assert issued.changes["service_account"] == [None, False] and len(issued.changes["token_fingerprint"][1]) == 12


def test_password_reset_asked_and_done_are_recorded_and_no_secret_leaks(real_limits, account):
    key = APIClient().post(TOKEN_URL, {"email": account.email, "password": PASSWORD}, format="json").json()["token"]
    client = Client()
    client.post(RESET_URL, {"email": account.email}, REMOTE_ADDR=IP)
    client.post(RESET_URL, {"email": "personne@test.hopen.fr"}, REMOTE_ADDR=IP)  # no account: nothing to record
    link = re.search(r"(/compte/mot-de-passe/nouveau/\S+/\S+/)", mail.outbox[0].body).group(1)
    form_url = client.get(link)["Location"]
    client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}, REMOTE_ADDR=IP)

    (asked,), (done,), (revoked,) = (
        records("auth.password_reset_request"), records("auth.password_reset_done"), records("auth.token_revoke")
    )
    assert asked.object_id == done.object_id == revoked.object_id == str(account.pk)
    assert done.actor_id == account.pk and revoked.changes["reason"] == [None, "password_change"]

    trail = json.dumps([[r.actor_email, r.action, r.object_repr, r.changes] for r in AuditRecord.objects.all()])
    uid, reset_token = link.strip("/").split("/")[-2:]
    for secret in (PASSWORD, NEW_PASSWORD, key, key[:15], reset_token):
        assert secret not in trail


def test_an_event_refuses_an_unexpected_detail(account):
    with pytest.raises(ValueError):
        auth_event_record(action="auth.login", target=account, details={"password": PASSWORD})
    assert not AuditRecord.objects.filter(action="auth.login").exists()
