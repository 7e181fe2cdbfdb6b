"""The write version (hopen/write_version.py) and the figure cache (hopen/figure_cache.py): a version that moves with
every write made through a service and with nothing else, one query per request, entries per name, version and
scope, and a cache outage that costs time, never the page."""

import logging

import pytest
from django.core.cache import cache
from django.core.cache.backends.base import BaseCache
from django.db import connection, transaction
from django.test import RequestFactory

from hopen.audit import AUDIT_CHAIN_LOCK_ID, audit_record
from hopen.figure_cache import cached_figures, figure_key
from hopen.models import Role
from hopen.services import role_assign
from hopen.write_version import request_write_version, write_version
from tests.factories import user_with_role

pytestmark = pytest.mark.django_db


class BrokenCache(BaseCache):
    """A cache whose server is down (Redis stopped): every call raises, as django-redis / redis-py do."""

    def __init__(self, location, params):
        super().__init__(params)

    def get(self, key, default=None, version=None):
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    def set(self, key, value, timeout=None, version=None):
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")


class Counter:
    def __init__(self, value="figures"):
        self.calls, self.value = 0, value

    def __call__(self):
        self.calls += 1
        return self.value


# --- Write version ----------------------------------------------------------------------------------------------


def test_the_version_does_not_move_without_a_write():
    user_with_role(Role.DGOS_OFFICER)  # factories write no audit record
    assert write_version() == write_version()


def test_a_write_through_a_service_raises_the_version():
    admin = user_with_role(Role.PLATFORM_ADMIN)
    other = user_with_role(Role.DGOS_OFFICER)
    before = write_version()
    role_assign(user=other, role=Role.DGOS_AUDITOR, by=admin)
    assert write_version() > before


def test_a_rolled_back_write_leaves_the_version():
    admin = user_with_role(Role.PLATFORM_ADMIN)
    before = write_version()
    with pytest.raises(RuntimeError), transaction.atomic():
        audit_record(actor=admin, action="user.update", target=admin, changes={})
        raise RuntimeError("annulée")
    assert write_version() == before


def test_an_audit_write_holds_the_chain_lock_until_its_commit():
    """The ordering write_version relies on: ids are drawn under the transaction-level lock of the audit chain."""
    admin = user_with_role(Role.PLATFORM_ADMIN)
    lock_held = (
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() "
        "AND ((classid::bigint << 32) | objid::bigint) = %s"
    )
    with transaction.atomic():
        audit_record(actor=admin, action="user.update", target=admin, changes={})
        with connection.cursor() as cursor:
            cursor.execute(lock_held, [AUDIT_CHAIN_LOCK_ID])
            assert cursor.fetchone()[0] == 1


def test_the_version_is_read_once_per_request(django_assert_num_queries):
    request = RequestFactory().get("/")
    with django_assert_num_queries(1):
        first, second = request_write_version(request), request_write_version(request)
    assert first == second == write_version()


# --- Figure cache -----------------------------------------------------------------------------------------------


def test_figures_are_computed_once_per_version_and_scope():
    compute = Counter()
    assert cached_figures("dashboard", ("region-84", 1), compute, version=7) == "figures"
    assert cached_figures("dashboard", ("region-84", 1), compute, version=7) == "figures"
    assert compute.calls == 1
    cached_figures("dashboard", ("region-84", 1), compute, version=8)  # a write: computed again
    cached_figures("dashboard", ("region-11", 1), compute, version=8)  # another scope
    cached_figures("dashboard", ("nation", 1), compute, version=8)
    cached_figures("dashboard-page", ("region-84", 1), compute, version=8)  # another name
    assert compute.calls == 5


def test_the_key_holds_name_and_every_part():
    keys = {
        figure_key("dashboard", ("region-84", 1)), figure_key("dashboard", ("region-11", 1)),
        figure_key("dashboard", ("region-84", 2)), figure_key("completeness", ("region-84", 1)),
    }
    assert len(keys) == 4
    assert all(" " not in key and len(key) < 250 for key in keys)  # valid for every cache backend


def test_a_new_version_replaces_the_entry_of_its_scope():
    """One entry per scope whatever the number of writes; an older version is recomputed, never served."""
    compute = Counter()
    cached_figures("dashboard", ("nation",), compute, version=7)
    cached_figures("dashboard", ("nation",), compute, version=8)
    assert cache.get(figure_key("dashboard", ("nation",))) == (8, "figures")
    cached_figures("dashboard", ("nation",), compute, version=7)
    assert compute.calls == 3


def test_without_version_the_current_write_version_is_used():
    admin = user_with_role(Role.PLATFORM_ADMIN)
    compute = Counter()
    cached_figures("dashboard", ("nation",), compute)
    cached_figures("dashboard", ("nation",), compute)
    assert compute.calls == 1
    role_assign(user=user_with_role(Role.DGOS_OFFICER), role=Role.DGOS_AUDITOR, by=admin)
    cached_figures("dashboard", ("nation",), compute)
    assert compute.calls == 2


def test_none_is_a_cached_value():
    compute = Counter(value=None)
    assert cached_figures("x", ("nation",), compute, version=1) is None
    assert cached_figures("x", ("nation",), compute, version=1) is None
    assert compute.calls == 1


def test_cache_down_computes_and_warns(settings, caplog):
    settings.CACHES = {"default": {"BACKEND": "tests.hopen.test_figure_cache.BrokenCache"}}
    compute = Counter()
    with caplog.at_level(logging.WARNING, logger="hopen.figure_cache"):
        assert cached_figures("dashboard", ("nation",), compute, version=1) == "figures"
        assert cached_figures("dashboard", ("nation",), compute, version=1) == "figures"
    assert compute.calls == 2
    assert "Cache des chiffres indisponible" in caplog.text


def test_an_unpicklable_value_is_a_programming_error_not_an_outage():
    with pytest.raises((AttributeError, TypeError)) as error:
        cached_figures("dashboard", ("nation",), lambda: (lambda: None), version=1)
    assert "pickle" in str(error.value)
