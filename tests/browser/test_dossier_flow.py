"""Dossier and money in a real browser (annex 2 §2, annex 4 §1 and §3): the ARS selects two domains of a transmitted
dossier with seed funding, the establishment reaches the targets of one and records it, the ARS notifies the usage
funding of that domain only, and the ARS dashboard's figures move at each step. Screenshots in test-artifacts/.
"""

import datetime
from decimal import Decimal
from unittest import mock

import pytest

from envelopes.models import EntryKind, LedgerEntry
from funding.dossiers import services
from funding.models import DomainStatus, DossierStatus
from tests.browser.session import log_in
from tests.factories_dossiers import hopen_programme
from tests.funding.dossier_scene import domains, reach, world  # noqa: F401  (world: fixture)

TARGETS = datetime.date.today() + datetime.timedelta(days=365)  # a target deadline in the future

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def figure(page, testid) -> Decimal:
    return Decimal(page.locator(f"[data-testid={testid}]").first.get_attribute("data-value"))


def figures(page):
    names = ("seed-committed", "seed-paid", "usage-committed", "usage-paid", "committed", "available", "selected-domains")
    return {name: figure(page, name) for name in names}


def click(page, testid):
    with page.expect_navigation():
        page.click(f"[data-testid={testid}]")
    errors = page.locator("[data-testid=action-error]")
    assert errors.count() == 0, errors.first.inner_text()


def shot(page, artifacts_dir, name):
    page.screenshot(path=str(artifacts_dir / f"dossier-{name}.png"), full_page=True)


def test_ars_selects_with_seed_then_notifies_usage_and_the_dashboard_follows(
    page, live_server, world, artifacts_dir, sent_tasks, hopen_filing_open
):
    """A flow filed today on HOP'EN, whose dossier window closed on 31/12/2021 (§5.3.2): its windows moved around
    today (`hopen_filing_open`)."""
    t = world
    base = live_server.url
    dossier = services.dossier_create(programme=hopen_programme(), establishment=t.clinic, domains=domains("D2", "D3", deadline=TARGETS), by=t.clinic_director)
    dossier = services.dossier_transmit(dossier=dossier, by=t.clinic_director)
    totals = {d.domain_code: d.total_amount for d in dossier.domains.all()}
    detail = f"/dossiers/{dossier.reference}/"
    dashboard = f"/pilotage/{t.region_a.code}/"
    # E-mails leave after commit through Celery: recorded (`sent_tasks`) so that nothing is left in the test queue.
    with mock.patch("hopen.tasking.enqueue"):
        log_in(page, base, t.ars_a, dashboard)
        before = figures(page)
        assert before["seed-committed"] == 0 and before["usage-committed"] == 0 and before["selected-domains"] == 0
        shot(page, artifacts_dir, "01-pilotage-avant")

        # 1. The ARS opens the instruction (a selection needs the dossier « en instruction », annex 4 §1), then
        #    selects D2 and D3, with seed funding on each (annex 2 §2: « ventilé sur chaque domaine »).
        page.goto(f"{base}{detail}")
        assert page.locator("[data-testid=dossier-status]").get_attribute("data-status") == DossierStatus.TRANSMITTED
        click(page, "start-review")
        assert page.locator("[data-testid=dossier-status]").get_attribute("data-status") == DossierStatus.UNDER_REVIEW
        for code, seed in (("D2", "50000"), ("D3", "40000")):
            page.fill(f"[data-testid=seed-amount-{code}]", seed)
            click(page, f"select-{code}")
        assert page.locator("[data-testid=dossier-status]").get_attribute("data-status") == DossierStatus.IN_PROGRESS
        assert page.locator("[data-testid=domain-status-D2]").get_attribute("data-status") == DomainStatus.SELECTED
        shot(page, artifacts_dir, "02-domaines-selectionnes")

        page.goto(f"{base}{dashboard}")
        selected = figures(page)
        assert selected["seed-committed"] == Decimal("90000.00")
        assert selected["available"] == before["available"] - Decimal("90000.00")
        assert selected["selected-domains"] == 2
        assert selected["usage-committed"] == 0
        shot(page, artifacts_dir, "03-pilotage-amorcage")

        # 2. The establishment reaches the targets of D2 (declared values) and records it on its dossier.
        reach(t.clinic, "D2", by=t.clinic_director, day=datetime.date.today())
        log_in(page, base, t.clinic_director, detail)
        assert page.locator("[data-testid=targets-D3]").count() == 1  # offered, but D3's targets are not reached
        click(page, "targets-D2")
        assert page.locator("[data-testid=domain-status-D2]").get_attribute("data-status") == DomainStatus.TARGETS_REACHED
        assert page.locator("[data-testid=domain-status-D3]").get_attribute("data-status") == DomainStatus.SELECTED
        shot(page, artifacts_dir, "04-cibles-d2-atteintes")

        # 3. The ARS notifies D2's usage funding — total minus seed — independently of D3 (annex 2 §2).
        log_in(page, base, t.ars_a, detail)
        assert page.locator("[data-testid=notify-usage-D3]").count() == 0
        click(page, "notify-usage-D2")
        assert page.locator("[data-testid=domain-status-D2]").get_attribute("data-status") == DomainStatus.USAGE_NOTIFIED
        usage = totals["D2"] - Decimal("50000.00")
        assert usage > 0
        shot(page, artifacts_dir, "05-usage-notifie")

        page.goto(f"{base}{dashboard}")
        notified = figures(page)
        assert notified["usage-committed"] == usage
        assert notified["seed-committed"] == Decimal("90000.00")
        assert notified["committed"] == Decimal("90000.00") + usage
        assert notified["available"] == before["available"] - Decimal("90000.00") - usage
        shot(page, artifacts_dir, "06-pilotage-usage")

    commitments = LedgerEntry.objects.filter(dossier_domain__dossier=dossier).values_list("kind", "amount")
    assert sorted(commitments) == sorted(
        [(EntryKind.SEED_COMMITMENT, Decimal("50000.00")), (EntryKind.SEED_COMMITMENT, Decimal("40000.00")), (EntryKind.USAGE_COMMITMENT, usage)]
    )
    assert page.recorder.page_errors == []
    assert [r for r in page.recorder.failed_responses if "favicon" not in r[1]] == []
