"""API tokens (issue 15, item 2): hashed at rest, expiring (8 h for people, longer only for declared service
accounts), revoked on password change, password reset and deactivation; the endpoint keeps `{"token": …}` and adds
`expires`."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from knox.models import AuthToken
from rest_framework.test import APIClient

from hopen.accounts.tokens import api_token_issue, token_lifetime
from hopen.models import AuditRecord
from tests.security.accounts_support import (  # noqa: F401  (fixtures)
    PASSWORD, RESET_URL, TOKEN_URL, account, real_limits,
)

pytestmark = pytest.mark.django_db

LIST_URL = "/api/v1/establishments/"
NEW_PASSWORD = "nouveau-secret-tres-long-42"


def obtain(user, password=PASSWORD):
    response = APIClient().post(TOKEN_URL, {"email": user.email, "password": password}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def refused(response) -> bool:
    # 403 rather than 401: session authentication comes first and sends no WWW-Authenticate challenge.
    return response.status_code in (401, 403) and "results" not in response.json()


def bearer(key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_answer_keeps_the_token_and_adds_its_expiry_eight_hours_ahead(real_limits, account):
    before = timezone.now()
    answer = obtain(account)
    assert set(answer) == {"token", "expires"}
    expires = parse_datetime(answer["expires"])
    assert before + timedelta(hours=8) <= expires <= timezone.now() + timedelta(hours=8)
    assert bearer(answer["token"]).get(LIST_URL).status_code == 200


def test_token_is_stored_hashed(real_limits, account):
    key = obtain(account)["token"]
    stored = AuthToken.objects.get(user=account)
    assert stored.digest != key and len(stored.digest) == 128
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM knox_authtoken")
        rows = cursor.fetchall()
    assert rows and not any(key in str(value) for row in rows for value in row)


def test_expired_token_is_refused_and_purged(real_limits, account):
    key = obtain(account)["token"]
    AuthToken.objects.filter(user=account).update(expiry=timezone.now() - timedelta(seconds=1))
    assert refused(bearer(key).get(LIST_URL))
    assert not AuthToken.objects.filter(user=account).exists()
    assert AuditRecord.objects.filter(action="auth.token_expire", object_id=str(account.pk)).exists()


def test_token_lives_eight_hours_at_the_service_clock(account):
    now = timezone.now() - timedelta(hours=9)
    token, key = api_token_issue(user=account, now=now)
    assert token.expiry == now + timedelta(hours=8)
    assert refused(bearer(key).get(LIST_URL))  # issued nine hours ago: expired


def test_only_declared_service_accounts_get_long_lived_tokens(real_limits, account, settings):
    person = obtain(account)
    service = account.__class__.objects.create_user("interconnexion@ars.test.fr", PASSWORD)
    service.groups.add(Group.objects.create(name=settings.API_SERVICE_ACCOUNT_GROUP))
    long_lived = obtain(service)
    assert token_lifetime(service_account=True) == timedelta(days=90)
    assert parse_datetime(long_lived["expires"]) - parse_datetime(person["expires"]) > timedelta(days=89)
    record = AuditRecord.objects.filter(action="auth.token_issue", object_id=str(service.pk)).get()
    assert record.changes["service_account"] == [None, True]


def test_password_change_revokes_every_token(real_limits, account):
    keys = [obtain(account)["token"], obtain(account)["token"]]
    account.set_password(NEW_PASSWORD)
    account.save()
    assert all(refused(bearer(key).get(LIST_URL)) for key in keys)
    record = AuditRecord.objects.get(action="auth.token_revoke", object_id=str(account.pk))
    assert record.changes["tokens"] == [None, 2] and record.changes["reason"] == [None, "password_change"]


def test_password_reset_revokes_the_tokens(real_limits, account, client):
    key = obtain(account)["token"]
    client.post(RESET_URL, {"email": account.email})
    link = re.search(r"(/compte/mot-de-passe/nouveau/\S+/\S+/)", mail.outbox[0].body).group(1)
    form_url = client.get(link)["Location"]
    done = client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302
    assert refused(bearer(key).get(LIST_URL))
    assert not AuthToken.objects.filter(user=account).exists()


def test_deactivation_revokes_the_tokens(real_limits, account):
    key = obtain(account)["token"]
    account.is_active = False
    account.save()
    assert not AuthToken.objects.filter(user=account).exists()
    assert refused(bearer(key).get(LIST_URL))
    record = AuditRecord.objects.get(action="auth.token_revoke", object_id=str(account.pk))
    assert record.changes["reason"] == [None, "deactivation"]


def test_an_ordinary_save_keeps_the_tokens(real_limits, account):
    key = obtain(account)["token"]
    account.first_name = "Dominique"
    account.save()
    assert bearer(key).get(LIST_URL).status_code == 200


def test_schema_declares_the_expiry_and_the_429(real_limits, account):
    client = APIClient()
    client.force_login(account)
    schema = client.get("/api/schema/", {"format": "json"}).json()
    operation = schema["paths"][TOKEN_URL]["post"]
    assert {"200", "400", "429"} <= set(operation["responses"])
    ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert set(schema["components"]["schemas"][ref]["required"]) == {"token", "expires"}
