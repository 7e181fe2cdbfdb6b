"""Confirmations of the dossier page (issue 12, `hopen.confirmation`): every irreversible or money action restates
its amount in euros (French format), the establishment or GHT and the consequence in a DSFR modal; a POST without
the modal's confirmation writes nothing and asks for it; the confirmed POST writes. And the ARS's « Admettre sans
présélection AMI » (§5.3.2 « Exceptionnellement … si l'ARS et son enveloppe régionale le permettent »)."""

import datetime
import html
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from ami.models import PreCandidatureDomain
from envelopes.models import EntryKind, LedgerEntry
from funding.dossiers import services
from funding.models import DomainStatus, Dossier, DossierStatus
from hopen.models import AuditRecord
from indicators import windows
from indicators.models import ProgrammeDeadline
from tests.factories_dossiers import hopen_programme
from tests.funding.dossier_scene import (  # noqa: F401  (fixtures)
    NOW,
    domain_of,
    domains,
    reviewed_dossier,
    world,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("hopen_filing_open")]
NBSP = "\u00a0"
CONFIRMED = {"confirmed": "1"}
TARGETS = datetime.date.today() + datetime.timedelta(days=365)  # a dossier filed today (`hopen_filing_open`)


def detail(dossier):
    return reverse("funding:dossier_detail", args=[dossier.reference])


def modal(response, modal_id) -> str:
    """The HTML of one modal of the page (unescaped), or ""."""
    page = response.content.decode()
    marker = f'id="{modal_id}"'
    if marker not in page:
        return ""
    return html.unescape(page.split(marker, 1)[1].split("</dialog>", 1)[0])


def dialog_tag(response, modal_id) -> str:
    """The opening `<dialog …>` tag of a modal."""
    return re.search(rf'<dialog[^>]*id="{modal_id}"[^>]*>', response.content.decode()).group(0)


def test_a_money_button_opens_a_modal_restating_amount_establishment_and_consequence(client, world):
    """Annex 2 §2: the seed payment — its amount, the establishment, the ledger consequence — before any POST."""
    t = world
    dossier = reviewed_dossier(t, "D2")
    services.domain_select(domain=domain_of(dossier, "D2"), seed_amount="50000", by=t.ars_a)
    client.force_login(t.ars_a)
    page = client.get(detail(dossier))
    text = page.content.decode()
    button = text.split('data-testid="pay-seed-D2"', 1)[1].split(">", 1)[0]
    assert 'data-fr-opened="false"' in button and 'aria-controls="confirmer-pay_seed-D2"' in button
    dialog = modal(page, "confirmer-pay_seed-D2")
    assert 'class="fr-modal"' in dialog_tag(page, "confirmer-pay_seed-D2")  # closed until the button opens it
    assert f"50{NBSP}000,00{NBSP}€" in dialog and t.clinic.name in dialog and t.clinic.finess in dialog
    assert "grand livre de l'enveloppe Hauts-de-France" in dialog
    assert 'name="confirmed" value="1"' in dialog and "Annuler" in dialog
    assert 'src="/static/hopen/confirm.js"' in text  # the DSFR opener, no inline script (CSP)


def test_5_3_2_transmission_without_confirmation_writes_nothing_and_asks_for_it(client, world):
    t = world
    dossier = services.dossier_create(
        programme=hopen_programme(), establishment=t.clinic, domains=domains("D2", deadline=TARGETS), by=t.clinic_director,
    )
    client.force_login(t.clinic_director)
    audits = AuditRecord.objects.count()
    asked = client.post(detail(dossier), {"action": "transmit"})
    assert asked.status_code == 200
    dialog = modal(asked, "confirmer-transmit")
    assert "fr-modal--opened" in dialog_tag(asked, "confirmer-transmit")  # opened by the server, JavaScript or not
    assert "quatre mois pour décider" in dialog and t.clinic.name in dialog
    assert Dossier.objects.get(pk=dossier.pk).status == DossierStatus.DRAFT
    assert AuditRecord.objects.count() == audits  # the dry run left no trace
    done = client.post(detail(dossier), {"action": "transmit", **CONFIRMED})
    assert done.status_code == 302 and Dossier.objects.get(pk=dossier.pk).status == DossierStatus.TRANSMITTED


def test_a_typed_seed_is_restated_after_the_dry_run_and_committed_only_once_confirmed(client, world):
    """Annex 2 §2: the seed the ARS typed, read (« 50 000 » → 50 000,00 €), restated with the domain's total; no
    ledger entry before « Confirmer »."""
    t = world
    dossier = reviewed_dossier(t, "D2")
    client.force_login(t.ars_a)
    post = {"action": "select", "domain": "D2", "select-D2-seed_amount": "50 000", "select-D2-reason": "Prioritaire"}
    asked = client.post(detail(dossier), post)
    assert asked.status_code == 200
    dialog = modal(asked, "confirmer-select-D2")
    assert f"50{NBSP}000,00{NBSP}€" in dialog and "Prioritaire" in dialog and t.clinic.name in dialog
    assert "engagé sur l'enveloppe Hauts-de-France" in dialog
    assert 'value="50 000"' in asked.content.decode()  # the form keeps the typed value the modal submits
    assert not LedgerEntry.objects.filter(kind=EntryKind.SEED_COMMITMENT).exists()
    assert domain_of(dossier, "D2").status == DomainStatus.PENDING
    assert client.post(detail(dossier), {**post, **CONFIRMED}).status_code == 302
    assert LedgerEntry.objects.get(kind=EntryKind.SEED_COMMITMENT).amount == 50000


def test_a_refused_gate_answers_at_once_without_a_modal(client, world):
    """A seed above the domain's total is refused by the dry run: the error, not the modal (annex 2 §2)."""
    t = world
    dossier = reviewed_dossier(t, "D2")
    client.force_login(t.ars_a)
    response = client.post(detail(dossier), {"action": "select", "domain": "D2", "select-D2-seed_amount": "999999"})
    assert response.status_code == 400 and not modal(response, "confirmer-select-D2")


def test_5_3_2_selection_refused_for_a_domain_without_ami_preselection(client, world):
    """§5.3.2 « Etape 2 »: the AMI pre-selection re-checked at the selection — the button is disabled with the
    reason, and a POST is refused with the code."""
    t = world
    dossier = reviewed_dossier(t, "D2")
    PreCandidatureDomain.objects.filter(pre_candidature__establishment=t.clinic, domain_code="D2").delete()
    client.force_login(t.ars_a)
    page = client.get(detail(dossier)).content.decode()
    reason = page.split('data-testid="select-D2-disabled-reason">', 1)[1].split("</p>", 1)[0]
    assert "présélectionné" in html.unescape(reason) and "(5.3.2)" in reason
    response = client.post(detail(dossier), {"action": "select", "domain": "D2", "select-D2-seed_amount": "0", **CONFIRMED})
    assert response.status_code == 400 and 'data-code="no_ami_preselection:D2"' in response.content.decode()
    assert domain_of(dossier, "D2").status == DomainStatus.PENDING


def _late_window(open_: bool):
    today = timezone.localdate()
    rows = ProgrammeDeadline.objects.filter(programme__code="HOPEN", code=windows.AMI_LATE_FILING)
    if open_:
        rows.update(opens=today - datetime.timedelta(days=1), date=today + datetime.timedelta(days=30))
    else:
        rows.update(opens=today + datetime.timedelta(days=366), date=today + datetime.timedelta(days=730))


def test_5_3_2_the_ars_of_the_region_admits_a_domain_without_ami_while_the_late_window_is_open(client, world):
    t = world
    PreCandidatureDomain.objects.filter(pre_candidature__establishment=t.clinic, domain_code="D2").delete()
    _late_window(True)
    dossier = services.dossier_create(
        programme=hopen_programme(), establishment=t.clinic, domains=domains("D2", "D3", deadline=TARGETS), by=t.clinic_director,
    )
    # Only the region's ARS sees the button, only on the domain that lacks the pre-selection.
    client.force_login(t.clinic_director)
    assert 'data-testid="admit-D2"' not in client.get(detail(dossier)).content.decode()
    client.force_login(t.ars_b)
    assert client.get(detail(dossier)).status_code == 404
    client.force_login(t.ars_a)
    page = client.get(detail(dossier)).content.decode()
    assert 'data-testid="admit-D2"' in page and 'data-testid="admit-D3"' not in page
    _late_window(False)
    assert 'data-testid="admit-D2"' not in client.get(detail(dossier)).content.decode()
    _late_window(True)
    # The reason is mandatory; without the confirmation nothing is written.
    empty = client.post(detail(dossier), {"action": "admit_without_ami", "domain": "D2", "admit-D2-reason": ""})
    assert empty.status_code == 400 and "motif" in html.unescape(empty.content.decode())
    post = {"action": "admit_without_ami", "domain": "D2", "admit-D2-reason": "Enveloppe disponible, projet prioritaire"}
    asked = client.post(detail(dossier), post)
    dialog = modal(asked, "confirmer-admit_without_ami-D2")
    assert asked.status_code == 200 and "Enveloppe disponible, projet prioritaire" in dialog and "§5.3.2" in dialog
    assert not AuditRecord.objects.filter(action="dossier_domain.admit_without_ami").exists()
    # A reader's POST is refused (403) before anything.
    client.force_login(t.clinic_director)
    assert client.post(detail(dossier), {**post, **CONFIRMED}).status_code == 403
    client.force_login(t.ars_a)
    assert client.post(detail(dossier), {**post, **CONFIRMED}).status_code == 302
    record = AuditRecord.objects.get(action="dossier_domain.admit_without_ami")
    assert record.actor_id == t.ars_a.pk
    page = client.get(detail(dossier)).content.decode()
    shown = html.unescape(page.split('data-testid="admission-D2">', 1)[1].split("</p>", 1)[0])
    assert "Enveloppe disponible, projet prioritaire" in shown and timezone.localdate().strftime("%d/%m/%Y") in shown
    assert 'data-testid="admit-D2"' not in page
