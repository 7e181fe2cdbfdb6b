"""Accounts: e-mail login, logout, password reset by e-mail, session expiry, password hashing."""

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.core import mail
from django.utils import timezone

from hopen.models import Role
from tests.factories import EstablishmentFactory, RegionFactory, UserFactory, user_with_role

pytestmark = pytest.mark.django_db

PASSWORD = "mot-de-passe-solide-2019"
NEW_PASSWORD = "nouveau-secret-tres-long-42"
LOGIN_URL = "/compte/connexion/"
LOGOUT_URL = "/compte/deconnexion/"
RESET_URL = "/compte/mot-de-passe/oubli/"
BAD_LOGIN = "Adresse électronique ou mot de passe incorrect."


@pytest.fixture
def user(db):
    region = RegionFactory(code="32", name="Hauts-de-France")
    EstablishmentFactory(region=region)
    return user_with_role(Role.ARS_OFFICER, region=region)


def logged_in_user_id(client):
    return client.session.get(SESSION_KEY)


# --- Login --------------------------------------------------------------------------------------------------------


def test_login_page_renders_the_email_form(client, db):
    response = client.get(LOGIN_URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'type="email"' in html
    assert 'name="username"' in html
    assert 'autocomplete="current-password"' in html
    assert "Mot de passe oublié ?" in html


@pytest.mark.parametrize("transform", [str, str.upper, str.title, lambda e: f"  {e}  "])
def test_login_with_email_any_case(client, user, transform):
    response = client.post(LOGIN_URL, {"username": transform(user.email), "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert logged_in_user_id(client) == str(user.pk)
    home = client.get("/")
    assert home.status_code == 200
    assert "Hauts-de-France — établissements de la région" in home.content.decode()


def test_login_follows_next_inside_the_site(client, user):
    response = client.post(
        f"{LOGIN_URL}?next=/etablissements/",
        {"username": user.email, "password": PASSWORD, "next": "/etablissements/"},
    )
    assert response["Location"] == "/etablissements/"


def test_login_ignores_next_to_another_site(client, user):
    response = client.post(LOGIN_URL, {"username": user.email, "password": PASSWORD, "next": "https://pirate.example/"})
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_login_redirect_from_protected_page_round_trip(client, user):
    response = client.get("/etablissements/")
    assert response["Location"] == "/compte/connexion/?next=/etablissements/"
    login_page = client.get(response["Location"])
    assert 'name="next" value="/etablissements/"' in login_page.content.decode()


@pytest.mark.parametrize(
    "username, password",
    [("right", "mauvais-mot-de-passe"), ("inconnu@test.hopen.fr", PASSWORD)],
)
def test_login_refused_with_the_same_message(client, user, username, password):
    username = user.email if username == "right" else username
    response = client.post(LOGIN_URL, {"username": username, "password": password})
    assert response.status_code == 200
    html = response.content.decode()
    assert BAD_LOGIN in html
    assert 'class="fr-alert fr-alert--error' in html
    assert logged_in_user_id(client) is None
    assert client.get("/").status_code == 302


def test_login_refused_for_an_inactive_account(client, db):
    inactive = UserFactory(is_active=False)
    response = client.post(LOGIN_URL, {"username": inactive.email, "password": PASSWORD})
    assert response.status_code == 200
    assert logged_in_user_id(client) is None


def test_login_with_malformed_email_is_refused(client, user):
    response = client.post(LOGIN_URL, {"username": "pas-une-adresse", "password": PASSWORD})
    assert response.status_code == 200
    assert logged_in_user_id(client) is None


def test_logged_in_user_is_sent_away_from_login_page(client, user):
    client.force_login(user)
    response = client.get(LOGIN_URL)
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_login_requires_csrf_token(user):
    from django.test import Client

    csrf_client = Client(enforce_csrf_checks=True)
    response = csrf_client.post(LOGIN_URL, {"username": user.email, "password": PASSWORD})
    assert response.status_code == 403
    assert SESSION_KEY not in csrf_client.session


# --- Logout -------------------------------------------------------------------------------------------------------


def test_logout_is_a_post(client, user):
    client.force_login(user)
    assert client.get(LOGOUT_URL).status_code == 405
    assert logged_in_user_id(client) == str(user.pk)

    response = client.post(LOGOUT_URL)
    assert response.status_code == 302
    assert response["Location"] == LOGIN_URL
    assert logged_in_user_id(client) is None
    assert client.get("/").status_code == 302


def test_logout_button_in_the_header(client, user):
    client.force_login(user)
    html = client.get("/").content.decode()
    assert f'<form method="post" action="{LOGOUT_URL}">' in html
    assert "Se déconnecter" in html


# --- Password reset -----------------------------------------------------------------------------------------------


def test_password_reset_by_email_link(client, user):
    response = client.post(RESET_URL, {"email": user.email.upper()})
    assert response.status_code == 302
    assert response["Location"] == "/compte/mot-de-passe/oubli/envoye/"

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [user.email]
    assert message.subject == "HOP'EN — réinitialisation de votre mot de passe"
    links = re.findall(r"https?://[^/\s]+(/compte/mot-de-passe/nouveau/[^/\s]+/[^/\s]+/)", message.body)
    assert len(links) == 1

    # Django swaps the token for a session marker and redirects to the form.
    response = client.get(links[0])
    assert response.status_code == 302
    form_url = response["Location"]
    form_page = client.get(form_url)
    assert form_page.status_code == 200
    assert form_page.context["validlink"] is True

    response = client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/compte/mot-de-passe/nouveau/termine/"
    assert "Votre mot de passe a été enregistré" in client.get(response["Location"]).content.decode()

    # The link is single-use.
    reused = client.get(links[0], follow=True)
    assert reused.context["validlink"] is False

    # The old password no longer works, the new one does.
    fresh = client.__class__()
    refused = fresh.post(LOGIN_URL, {"username": user.email, "password": PASSWORD})
    assert BAD_LOGIN in refused.content.decode()
    accepted = fresh.post(LOGIN_URL, {"username": user.email, "password": NEW_PASSWORD})
    assert accepted.status_code == 302
    assert fresh.session.get(SESSION_KEY) == str(user.pk)


def test_password_reset_refuses_a_weak_password(client, user):
    client.post(RESET_URL, {"email": user.email})
    link = re.search(r"(/compte/mot-de-passe/nouveau/\S+/\S+/)", mail.outbox[0].body).group(1)
    form_url = client.get(link)["Location"]
    response = client.post(form_url, {"new_password1": "court", "new_password2": "court"})
    assert response.status_code == 200
    assert response.context["form"].errors
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_password_reset_for_unknown_address_sends_nothing_and_says_the_same(client, db):
    response = client.post(RESET_URL, {"email": "personne@test.hopen.fr"})
    assert response.status_code == 302
    assert response["Location"] == "/compte/mot-de-passe/oubli/envoye/"
    assert mail.outbox == []


def test_password_reset_forged_link_is_invalid(client, user):
    response = client.get("/compte/mot-de-passe/nouveau/MQ/abc-123/", follow=True)
    assert response.status_code == 200
    assert response.context["validlink"] is False
    assert "Ce lien n&#x27;est plus valable" in response.content.decode() or "Ce lien n'est plus valable" in (
        response.content.decode()
    )


# --- Sessions and password storage --------------------------------------------------------------------------------


def test_session_ends_after_one_idle_hour():
    assert settings.SESSION_COOKIE_AGE == 3600
    assert settings.SESSION_SAVE_EVERY_REQUEST is False  # pushed back by hopen/session_expiry.py instead


def test_each_request_pushes_the_session_expiry_back(client, user):
    client.force_login(user)
    session = Session.objects.get(session_key=client.session.session_key)
    Session.objects.filter(pk=session.pk).update(expire_date=timezone.now() + timedelta(minutes=5))
    assert client.get("/").status_code == 200
    session.refresh_from_db()
    remaining = session.expire_date - timezone.now()
    assert timedelta(minutes=59) < remaining <= timedelta(hours=1)


def test_expired_session_sends_back_to_login(client, user):
    client.force_login(user)
    Session.objects.filter(session_key=client.session.session_key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN_URL)


def test_passwords_are_hashed_with_argon2_in_base_settings():
    from django.contrib.auth.hashers import Argon2PasswordHasher

    from hopen.settings import base

    assert base.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    assert base.SESSION_COOKIE_AGE == 3600
    assert not getattr(base, "SESSION_SAVE_EVERY_REQUEST", False)
    # The argon2 library is installed: the hasher really works.
    encoded = Argon2PasswordHasher().encode(PASSWORD, Argon2PasswordHasher().salt())
    assert encoded.startswith("argon2$argon2id$")
    assert Argon2PasswordHasher().verify(PASSWORD, encoded)
