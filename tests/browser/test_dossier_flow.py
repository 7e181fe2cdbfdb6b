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


def usage_of(amount: Decimal) -> str:
    """« 150 000,00 € » as the pages print it (hopen.formatting)."""
    from hopen.formatting import french_euros

    return french_euros(amount)


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


def confirm(page, testid, modal_id, artifacts_dir=None, name=""):
    """Issue 12: a money action asks its confirmation in a DSFR modal — opened in place by the button (amount known
    in advance) or by the server after reading the typed values — and only its « Confirmer » writes."""
    button = page.locator(f"[data-testid={testid}]")
    if button.get_attribute("data-hopen-confirm") is not None:
        button.click()  # the DSFR script opens the modal, nothing is posted
    else:
        with page.expect_navigation():
            button.click()
    dialog = page.locator(f"#{modal_id}")
    dialog.wait_for(state="visible")
    if artifacts_dir is not None:
        shot(page, artifacts_dir, name)
    click(page, f"{modal_id}-confirm")


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
            confirm(page, f"select-{code}", f"confirmer-select-{code}", artifacts_dir, f"02-confirmer-selection-{code}")
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
        confirm(page, "targets-D2", "confirmer-reach_targets-D2")
        assert page.locator("[data-testid=domain-status-D2]").get_attribute("data-status") == DomainStatus.TARGETS_REACHED
        assert page.locator("[data-testid=domain-status-D3]").get_attribute("data-status") == DomainStatus.SELECTED
        shot(page, artifacts_dir, "04-cibles-d2-atteintes")

        # 3. The ARS notifies D2's usage funding — total minus seed — independently of D3 (annex 2 §2).
        log_in(page, base, t.ars_a, detail)
        assert page.locator("[data-testid=notify-usage-D3]").count() == 0
        page.click("[data-testid=notify-usage-D2]")  # opens the modal in place: nothing posted yet
        dialog = page.locator("#confirmer-notify_usage-D2")
        dialog.wait_for(state="visible")
        usage_text = f"{usage_of(totals['D2'] - Decimal('50000.00'))}"
        assert usage_text in dialog.inner_text() and t.clinic.name in dialog.inner_text()
        shot(page, artifacts_dir, "05-confirmer-notification")
        page.click("#confirmer-notify_usage-D2 [data-testid=confirmer-notify_usage-D2-cancel]")  # « Annuler »
        dialog.wait_for(state="hidden")
        assert page.locator("[data-testid=domain-status-D2]").get_attribute("data-status") == DomainStatus.TARGETS_REACHED
        confirm(page, "notify-usage-D2", "confirmer-notify_usage-D2")
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
