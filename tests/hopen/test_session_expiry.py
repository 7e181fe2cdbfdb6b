"""The idle expiry of sessions (hopen/session_expiry.py): pushed back at most once every REFRESH_INTERVAL, never a
session write on every GET, and still one idle hour at most before the login page."""

import time
from contextlib import contextmanager
from datetime import timedelta
from unittest import mock

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from hopen import session_expiry
from hopen.models import Role
from tests.factories import EstablishmentFactory, RegionFactory, user_with_role

pytestmark = pytest.mark.django_db

LOGIN_URL = "/compte/connexion/"


@pytest.fixture
def user(db):
    region = RegionFactory(code="32", name="Hauts-de-France")
    EstablishmentFactory(region=region)
    return user_with_role(Role.ARS_OFFICER, region=region)


@contextmanager
def clock(offset: timedelta):
    """Every clock the sessions read (Django's timezone.now, the middleware's time.time) moved by `offset`."""
    real_now, real_time = timezone.now, time.time
    with mock.patch("django.utils.timezone.now", lambda: real_now() + offset), \
            mock.patch.object(session_expiry.time, "time", lambda: real_time() + offset.total_seconds()):
        yield


def session_updates(queries) -> int:
    return sum(1 for q in queries.captured_queries if q["sql"].startswith("UPDATE") and "django_session" in q["sql"])


def session_writes(queries) -> int:
    return sum(
        1 for q in queries.captured_queries
        if q["sql"].startswith(("UPDATE", "INSERT")) and '"django_session"' in q["sql"]
    )


def expiry(client):
    return Session.objects.get(session_key=client.session.session_key).expire_date


def test_settings_keep_one_idle_hour_without_saving_every_request():
    assert settings.SESSION_COOKIE_AGE == 3600
    assert settings.SESSION_SAVE_EVERY_REQUEST is False  # Django's default: no write on every answer
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE is True
    middleware = settings.MIDDLEWARE
    assert middleware.index("hopen.session_expiry.SessionExpiryMiddleware") == (
        middleware.index("django.contrib.sessions.middleware.SessionMiddleware") + 1
    )


def test_needs_refresh_only_past_the_interval():
    now = 1_000_000.0
    assert session_expiry.needs_refresh(None, now)
    assert session_expiry.needs_refresh("1000", now)  # not a moment we wrote
    assert not session_expiry.needs_refresh(int(now) - 60, now)
    assert not session_expiry.needs_refresh(int(now) - session_expiry.REFRESH_INTERVAL, now)
    assert session_expiry.needs_refresh(int(now) - session_expiry.REFRESH_INTERVAL - 1, now)
    assert session_expiry.needs_refresh(int(now) + 3600, now)  # a moment in the future: the clock went back


def test_two_gets_within_minutes_write_the_session_at_most_once(client, user):
    client.force_login(user)
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/").status_code == 200  # first request of the session: the expiry is pushed once
        with clock(timedelta(minutes=2)):
            assert client.get("/").status_code == 200
        with clock(timedelta(minutes=4)):
            assert client.get("/").status_code == 200
    assert session_writes(queries) <= 1


def test_gets_within_the_interval_after_a_refresh_write_nothing(client, user):
    client.force_login(user)
    client.get("/")  # refreshed now
    with CaptureQueriesContext(connection) as queries:
        for minutes in (1, 3):
            with clock(timedelta(minutes=minutes)):
                assert client.get("/").status_code == 200
    assert session_writes(queries) == 0
    assert session_updates(queries) == 0


def test_after_the_refresh_interval_the_expiry_moves(client, user):
    client.force_login(user)
    client.get("/")
    first = expiry(client)
    with clock(timedelta(minutes=6)):
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/").status_code == 200
        assert session_updates(queries) == 1
    second = expiry(client)
    assert second - first >= timedelta(minutes=6)
    assert second - first < timedelta(minutes=7)


def test_activity_every_few_minutes_keeps_the_session_past_an_hour(client, user):
    client.force_login(user)
    for minutes in range(0, 121, 4):  # two hours of clicks, one every 4 minutes
        with clock(timedelta(minutes=minutes)):
            response = client.get("/")
            assert response.status_code == 200, minutes
    with clock(timedelta(minutes=121)):
        assert client.session.get(SESSION_KEY) == str(user.pk)


def test_idle_more_than_an_hour_logs_out(client, user):
    client.force_login(user)
    assert client.get("/").status_code == 200
    with clock(timedelta(minutes=61)):
        response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN_URL)


def test_idle_less_than_the_hour_minus_the_interval_stays_logged_in(client, user):
    client.force_login(user)
    assert client.get("/").status_code == 200
    with clock(timedelta(minutes=54)):
        assert client.get("/").status_code == 200


def test_anonymous_visitors_get_no_session_row(client, db):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(LOGIN_URL).status_code == 200
    assert session_writes(queries) == 0
    assert not Session.objects.exists()


def test_login_through_the_form_stamps_the_refresh(client, user):
    user.set_password("mot-de-passe-solide-2019")
    user.save()
    response = client.post(LOGIN_URL, {"username": user.email, "password": "mot-de-passe-solide-2019"})
    assert response.status_code == 302
    assert isinstance(client.session.get(session_expiry.REFRESHED_AT), int)
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/").status_code == 200
    assert session_writes(queries) == 0
