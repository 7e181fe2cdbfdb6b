"""Shared by the tests of hopen/accounts/: the production limits (the test settings raise the API throttle), a
clean cache (throttle and reset counters live there) and an account with a known password."""

import pytest
from django.core.cache import cache

from hopen.settings import base
from tests.factories import UserFactory

PASSWORD = "mot-de-passe-solide-2019"
LOGIN_URL = "/compte/connexion/"
TOKEN_URL = "/api/v1/auth/token/"
RESET_URL = "/compte/mot-de-passe/oubli/"
BAD_LOGIN = "Adresse électronique ou mot de passe incorrect."
LOCKED = "Connexion temporairement bloquée après trop de tentatives infructueuses."
LIMIT = base.AXES_FAILURE_LIMIT


@pytest.fixture
def real_limits(settings):
    """The limits of hopen/settings/base.py, whatever the test settings say."""
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = base.AXES_FAILURE_LIMIT
    settings.AXES_COOLOFF_TIME = base.AXES_COOLOFF_TIME
    settings.AXES_LOCKOUT_PARAMETERS = base.AXES_LOCKOUT_PARAMETERS
    settings.NUM_PROXIES = 0
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": base.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]}
    settings.REST_KNOX = base.REST_KNOX
    settings.PASSWORD_RESET_LIMIT_PER_EMAIL = base.PASSWORD_RESET_LIMIT_PER_EMAIL
    settings.PASSWORD_RESET_LIMIT_PER_CLIENT = base.PASSWORD_RESET_LIMIT_PER_CLIENT
    cache.clear()
    yield settings
    cache.clear()


@pytest.fixture
def account(db):
    return UserFactory()
