"""The « À faire » of each home in Chromium (issue 16 item 2): the editor's draft waits for the director, whose home
lists it; the GHT support director sees the member's pre-candidature; the ARS sees the transmitted dossier with its
four-month deadline (annex 4 §1); the header counts the unread notifications and the page marks them read."""

import datetime

import pytest
from django.utils import timezone

from ami.models import FilingStatus, PreCandidature, PreCandidatureDomain
from funding.dossiers.models import DossierStatus
from hopen.models import Notification
from indicators.models import Programme
from indicators.services import value_save_draft
from tests.factories_dossiers import DossierFactory
from tests.indicators.conftest import indicator, rate

from .session import log_in

pytestmark = pytest.mark.django_db(transaction=True)


def shot(page, artifacts_dir, name):
    page.screenshot(path=str(artifacts_dir / f"work-queue-{name}.png"), full_page=True)


def test_each_role_sees_its_queue(page, live_server, tenants, hopen_filing_open, artifacts_dir, sent_tasks):
    base = live_server.url
    value_save_draft(establishment=tenants.member, indicator=indicator("P1.1"), data=rate(95, 100), by=tenants.editor)
    programme = Programme.objects.get(code="HOPEN")
    waiting = PreCandidature.objects.create(
        establishment=tenants.support, programme=programme, status=FilingStatus.DRAFT,
    )
    PreCandidatureDomain.objects.create(pre_candidature=waiting, domain_code="D2", forecast_semester="2027 S1", priority=1)
    member_pc = PreCandidature.objects.create(
        establishment=tenants.member, programme=programme, status=FilingStatus.AWAITING_SUPPORT, validated_at=timezone.now(),
    )
    PreCandidatureDomain.objects.create(pre_candidature=member_pc, domain_code="D3", forecast_semester="2027 S1", priority=1)
    transmitted_at = timezone.now() - datetime.timedelta(days=30)
    dossier = DossierFactory(establishment=tenants.member, status=DossierStatus.TRANSMITTED, transmitted_at=transmitted_at)
    Notification.objects.create(recipient=tenants.director, message="Valeur à déclarer", link="/")

    log_in(page, base, tenants.editor, "/")
    queue = page.locator("#a-faire")
    assert "à déclarer par la direction" in queue.inner_text()
    shot(page, artifacts_dir, "editeur")

    log_in(page, base, tenants.director, "/")
    assert "(1 non lue)" in page.locator("#lien-notifications").inner_text()
    text = page.locator("#a-faire").inner_text()
    assert "valeur d'indicateur en brouillon, à déclarer" in text and "par la direction" not in text
    shot(page, artifacts_dir, "directeur")
    page.click("#lien-notifications")
    page.get_by_role("button", name="Marquer comme lue : Valeur à déclarer").click()
    assert "non lue" not in page.locator("#lien-notifications").inner_text()
    shot(page, artifacts_dir, "notifications")

    log_in(page, base, tenants.ght_director, "/")
    text = page.locator("#a-faire").inner_text()
    assert "pré-candidature de membres du GHT à valider" in text
    shot(page, artifacts_dir, "support-ght")

    log_in(page, base, tenants.ars_a, "/")
    text = page.locator("#a-faire").inner_text()
    assert dossier.reference in text and "instruction à ouvrir" in text and "jours restants" in text.lower()
    page.click(f"text=Dossier {dossier.reference}")
    assert dossier.reference in page.title() or dossier.reference in page.content()
    page.goto(f"{base}/")
    shot(page, artifacts_dir, "ars")

    log_in(page, base, tenants.dgos, "/")
    assert "instruction à ouvrir" in page.locator("#a-faire").inner_text()
    shot(page, artifacts_dir, "dgos")
