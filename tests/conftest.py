import datetime

import pytest
from django.utils import timezone
from django.db import connection

from tests.indicators.conftest import catalogue  # noqa: F401  (shared by tests/funding)

from hopen import tasking
from hopen.models import Role
from indicators import windows
from indicators.models import ProgrammeDeadline
from tests.factories import EstablishmentFactory, GhtFactory, RegionFactory, user_with_role


@pytest.fixture
def tenants(db):
    """Two regions; in region A a GHT (support + member), a private clinic; in region B one hospital.

    Returns a namespace with the establishments and one user per role, so scope tests read as a table.
    """
    region_a = RegionFactory(code="32", name="Hauts-de-France", ars_name="ARS Hauts-de-France")
    region_b = RegionFactory(code="53", name="Bretagne", ars_name="ARS Bretagne")
    ght = GhtFactory(region=region_a, code="HF-99")
    support = EstablishmentFactory(region=region_a, ght=ght, name="CH Support")
    member = EstablishmentFactory(region=region_a, ght=ght, name="CH Membre")
    ght.support = support
    ght.save()
    clinic = EstablishmentFactory(region=region_a, status="private_for_profit", name="Clinique du Nord")
    foreign = EstablishmentFactory(region=region_b, name="CH de Bretagne")

    class Tenants:
        pass

    t = Tenants()
    t.region_a, t.region_b, t.ght = region_a, region_b, ght
    t.support, t.member, t.clinic, t.foreign = support, member, clinic, foreign
    t.editor = user_with_role(Role.ESTABLISHMENT_EDITOR, establishment=member)
    t.director = user_with_role(Role.ESTABLISHMENT_DIRECTOR, establishment=member)
    t.ght_director = user_with_role(Role.GHT_SUPPORT_DIRECTOR, ght=ght)
    t.ars_a = user_with_role(Role.ARS_OFFICER, region=region_a)
    t.ars_b = user_with_role(Role.ARS_OFFICER, region=region_b)
    t.dgos = user_with_role(Role.DGOS_OFFICER)
    t.auditor = user_with_role(Role.DGOS_AUDITOR)
    t.admin = user_with_role(Role.PLATFORM_ADMIN)
    return t


@pytest.fixture(autouse=True)
def _empty_figure_cache():
    """Each test starts with an empty cache: the figure cache is keyed by the audit trail's highest id, which a
    rolled-back test can leave equal from one test to the next with other data (hopen/figure_cache.py)."""
    from django.core.cache import cache

    from hopen import site_config

    cache.clear()
    site_config.clear()  # the DSFR configuration kept per process (hopen/site_config.py)


@pytest.fixture(autouse=True)
def _ledger_flushable(request):
    """After a transactional test (live server, threads) Django empties the tables with TRUNCATE, which the
    append-only ledger refuses (trigger `envelopes_ledger_no_truncate`). For that flush only, the session stops
    firing triggers; Django closes the connection right after the flush, so the next test has them back."""
    transactional = bool({"transactional_db", "live_server"} & set(request.fixturenames))
    marker = request.node.get_closest_marker("django_db")
    transactional = transactional or bool(marker and marker.kwargs.get("transaction"))
    yield
    if transactional:
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = replica")


class SentTasks(list):
    """(task name, kwargs) of each task handed to Celery by name through `hopen.tasking`, in order: the outbox
    messages published after their transaction's commit (or by the relay). An e-mail's kwargs carry its outbox
    key (`message_key`)."""

    def send_task(self, name, args=None, kwargs=None, **options):
        self.append((name, kwargs or {}))

    def of(self, name) -> list[dict]:
        return [kwargs for sent, kwargs in self if sent == name]


@pytest.fixture
def sent_tasks(monkeypatch):
    """Tasks the services send by name are recorded here instead of reaching the broker: the outbox
    (`hopen.tasking`) publishes through `current_app.send_task`, replaced by the recorder; the rows stay in
    `hopen.models.OutboxMessage`, marked sent."""
    sent = SentTasks()
    monkeypatch.setattr(tasking, "current_app", sent)
    return sent


@pytest.fixture
def hopen_filing_open(catalogue):
    """HOP'EN's calendar closed in 2021 (AMI and dossiers) and 2023 (targets): on today's date every filing is refused,
    as `tests/indicators/test_windows.py` and the windows tests of each app check. Tests of a *flow* that runs today
    (not of its window) move the filing windows around today, as the DGOS would reopen a campaign: the same rows of
    the calendar, other dates. Windows: AMI open until today + 1 year, late filings the year after, dossiers open
    until today + 2 years, usage targets before today + 3 years."""
    today = timezone.localdate()
    rows = ProgrammeDeadline.objects.filter(programme__code="HOPEN")
    rows.filter(code=windows.AMI_FILING).update(opens=None, date=today + datetime.timedelta(days=365))
    rows.filter(code=windows.AMI_LATE_FILING).update(
        opens=today + datetime.timedelta(days=366), date=today + datetime.timedelta(days=730)
    )
    rows.filter(code=windows.DOSSIER_FILING).update(opens=None, date=today + datetime.timedelta(days=730))
    rows.filter(code=windows.USAGE_TARGETS).update(date=today + datetime.timedelta(days=3 * 365))
    return catalogue


@pytest.fixture
def demo_programme(catalogue):
    """The fictitious demonstration campaign, configured by its file alone (fixtures/programmes/demo-2026.json):
    its windows are open today (AMI until 31/03/2027, dossiers from 01/10/2026 to 30/06/2028)."""
    from indicators.models import Programme
    from indicators.programme_file import PROGRAMME_FILES, load_programme_file

    load_programme_file(PROGRAMME_FILES / "demo-2026.json")
    return Programme.objects.get(code="DEMO2026")
