"""The money gates through the services, the API and the pages (issue 12): a refused gate writes nothing (no ledger
entry, no status change, no letter, no audit record), answers 400 with `{"detail", "reasons": [{code, section,
message}]}`, and the page shows the button disabled with its reasons."""

import datetime

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from ami.models import PreCandidatureDomain
from envelopes.models import LedgerEntry
from funding.dossiers import services
from funding.dossiers.gates import GateRefused
from funding.letters.models import DossierLetter
from funding.models import DomainStatus, Dossier, DossierStatus
from hopen.models import AuditRecord
from indicators import windows
from indicators.models import PriorProgrammeResult, ProgrammeDeadline
from tests.factories_dossiers import hopen_programme
from tests.funding.dossier_scene import (  # noqa: F401  (fixtures)
    NOW,
    domain_of,
    reach,
    reviewed_dossier,
    transmitted_dossier,
    world,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("hopen_filing_open")]

LIST = "/api/v1/dossiers/"


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def codes(response):
    return [reason["code"] for reason in response.json()["reasons"]]


def hn_prerequisites_lost(establishment):
    """§5.3.1 note 3: the Hôpital numérique prerequisites recorded as not reached (the oSIS export « faisant foi »)."""
    PriorProgrammeResult.objects.filter(establishment=establishment, kind="prerequisites_reached").update(achieved=False)


# --- Selection with seed (annex 4 §1, §5.3.1) ---------------------------------------------------------------------


def test_5_3_1_a_seed_on_a_domain_whose_funding_is_blocked_is_refused_and_nothing_is_written(world):
    t = world
    dossier = reviewed_dossier(t, "D2")
    hn_prerequisites_lost(t.clinic)
    domain = domain_of(dossier, "D2")
    with pytest.raises(GateRefused) as refused:
        services.domain_select(domain=domain, seed_amount="50000", by=t.ars_a, now=NOW)
    assert "not_fundable:hn_prerequisites_not_reached" in [r.code for r in refused.value.refusals]
    domain.refresh_from_db()
    assert (domain.status, domain.seed_amount) == (DomainStatus.PENDING, 0)
    assert not LedgerEntry.objects.filter(dossier_domain=domain).exists()
    assert not DossierLetter.objects.filter(dossier=dossier).exists()
    assert not AuditRecord.objects.filter(action="dossier_domain.select").exists()
    # the selection without seed moves no money: it stays possible (footnote 3 blocks the delegation of funds)
    assert services.domain_select(domain=domain, seed_amount="0", by=t.ars_a, now=NOW).status == DomainStatus.SELECTED


def test_api_selecting_with_seed_a_blocked_domain_answers_400_with_the_reason_code(world):
    t = world
    dossier = reviewed_dossier(t, "D2")
    hn_prerequisites_lost(t.clinic)
    response = api(t.ars_a).post(
        f"{LIST}{dossier.reference}/domains/D2/decision/", {"decision": "selected", "seed_amount": "50000"}, format="json"
    )
    assert response.status_code == 400
    body = response.json()
    assert "not_fundable:hn_prerequisites_not_reached" in codes(response)
    assert {"code", "section", "message"} == set(body["reasons"][0]) and body["detail"]
    assert not LedgerEntry.objects.filter(dossier_domain__dossier=dossier).exists()


def test_api_selecting_before_the_review_is_opened_answers_400_dossier_not_under_review(world):
    """The issue's measure: 50 000 € committed while « Transmis à l'ARS » — refused now (annex 4 §1)."""
    t = world
    dossier = transmitted_dossier(t, "D2")
    response = api(t.ars_a).post(
        f"{LIST}{dossier.reference}/domains/D2/decision/", {"decision": "selected", "seed_amount": "50000"}, format="json"
    )
    assert response.status_code == 400 and codes(response) == ["dossier_not_under_review"]
    assert response.json()["reasons"][0]["section"] == "annexe 4 §1"
    assert Dossier.objects.get(pk=dossier.pk).status == DossierStatus.TRANSMITTED
    assert not LedgerEntry.objects.filter(dossier_domain__dossier=dossier).exists()


# --- After the selection (annex 2 §2) ------------------------------------------------------------------------------


def test_annex_2_2_usage_notification_is_refused_when_the_funding_is_blocked(world, client):
    t = world
    dossier = reviewed_dossier(t, "D2")
    domain = services.domain_select(domain=domain_of(dossier, "D2"), seed_amount="0", by=t.ars_a, now=NOW)
    reach(t.clinic, "D2", by=t.clinic_director)
    services.domain_record_targets_reached(domain=domain, by=t.clinic_director)
    hn_prerequisites_lost(t.clinic)
    response = api(t.ars_a).post(f"{LIST}{dossier.reference}/domains/D2/notify-usage/", format="json")
    assert response.status_code == 400 and codes(response) == ["not_fundable:hn_prerequisites_not_reached"]
    domain.refresh_from_db()
    assert (domain.status, domain.usage_amount) == (DomainStatus.TARGETS_REACHED, None)
    assert not LedgerEntry.objects.filter(dossier_domain=domain).exists()
    assert not DossierLetter.objects.filter(dossier=dossier, kind="usage_notification").exists()
    assert not AuditRecord.objects.filter(action="dossier_domain.notify_usage").exists()
    # the page shows the button disabled with the reason, computed by the same gate
    client.force_login(t.ars_a)
    page = client.get(f"/dossiers/{dossier.reference}/").content.decode()
    assert 'data-testid="notify-usage-D2-disabled-reason"' in page and "Hôpital numérique" in page


def test_annex_2_2_targets_need_the_documents_of_the_prerequisites(world):
    """§5.3.1 « valeurs et pièces justificatives »: a prerequisite re-declared without its document is not reached."""
    from tests.funding.dossier_scene import declare

    t = world
    dossier = reviewed_dossier(t, "D2")
    domain = services.domain_select(domain=domain_of(dossier, "D2"), seed_amount="0", by=t.ars_a, now=NOW)
    reach(t.clinic, "D2", by=t.clinic_director)
    declare(t.clinic, "P1.1", reached=True, by=t.clinic_director, day=datetime.date(2020, 10, 1), document=False)
    with pytest.raises(GateRefused) as refused:
        services.domain_record_targets_reached(domain=domain, by=t.clinic_director)
    assert "prerequisites_not_reached" in [r.code for r in refused.value.refusals]
    domain.refresh_from_db()
    assert domain.status == DomainStatus.SELECTED


# --- AMI pre-selection (§5.3.2) -------------------------------------------------------------------------------------


def _late_window(open_: bool):
    today = timezone.localdate()
    rows = ProgrammeDeadline.objects.filter(programme__code="HOPEN", code=windows.AMI_LATE_FILING)
    if open_:
        rows.update(opens=today - datetime.timedelta(days=1), date=today + datetime.timedelta(days=30))
    else:
        rows.update(opens=today + datetime.timedelta(days=366), date=today + datetime.timedelta(days=730))


def _create(t, code="D4"):
    return api(t.clinic_director).post(LIST, {
        "establishment": t.clinic.finess,
        "domains": [{"domain_code": code, "target_deadline": "2028-06-30", "vendors": [t.vendor.pk]}],
    }, format="json")


def test_5_3_2_a_dossier_domain_without_ami_preselection_is_refused(world):
    t = world
    PreCandidatureDomain.objects.filter(pre_candidature__establishment=t.clinic, domain_code="D4").delete()
    response = _create(t, "D4")
    assert response.status_code == 400 and codes(response) == ["no_ami_preselection:D4"]
    assert response.json()["reasons"][0]["section"] == "5.3.2"
    assert not Dossier.objects.exists()
    assert _create(t, "D2").status_code == 201  # pre-selected at the AMI


def test_5_3_2_late_candidature_admitted_by_the_ars_with_its_reason_while_the_late_window_is_open(world):
    t = world
    PreCandidatureDomain.objects.filter(pre_candidature__establishment=t.clinic, domain_code="D2").delete()
    _late_window(True)
    response = _create(t, "D2")
    assert response.status_code == 201, response.json()
    reference = response.json()["reference"]
    transmit = api(t.clinic_director).post(f"{LIST}{reference}/transmit/", format="json")
    assert transmit.status_code == 400 and codes(transmit) == ["no_ami_preselection:D2"]
    admit = f"{LIST}{reference}/domains/D2/admit-without-ami/"
    assert api(t.ars_a).post(admit, {"reason": ""}, format="json").status_code == 400  # reason mandatory
    assert api(t.clinic_director).post(admit, {"reason": "x"}, format="json").status_code == 403
    response = api(t.ars_a).post(admit, {"reason": "Enveloppe régionale disponible, projet prioritaire."}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["admitted_without_ami_reason"] == "Enveloppe régionale disponible, projet prioritaire."
    assert AuditRecord.objects.filter(action="dossier_domain.admit_without_ami").count() == 1
    assert api(t.clinic_director).post(f"{LIST}{reference}/transmit/", format="json").status_code == 200


def test_5_3_2_no_admission_without_ami_once_the_late_window_is_closed(world):
    t = world
    PreCandidatureDomain.objects.filter(pre_candidature__establishment=t.clinic, domain_code="D2").delete()
    _late_window(True)
    reference = _create(t, "D2").json()["reference"]
    _late_window(False)
    response = api(t.ars_a).post(f"{LIST}{reference}/domains/D2/admit-without-ami/", {"reason": "Tardif"}, format="json")
    assert response.status_code == 400 and codes(response) == [f"window_closed:{windows.AMI_LATE_FILING}"]
    assert not AuditRecord.objects.filter(action="dossier_domain.admit_without_ami").exists()


# --- Dates (§5.3.1 and sane limits) ---------------------------------------------------------------------------------


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "1999-12-31"])
def test_absurd_target_deadlines_are_a_field_error_not_a_500(world, day):
    t = world
    response = api(t.clinic_director).post(LIST, {
        "establishment": t.clinic.finess, "domains": [{"domain_code": "D2", "target_deadline": day}],
    }, format="json")
    assert response.status_code == 400
    assert "target_deadline" in str(response.json())
    assert not Dossier.objects.exists()


def test_5_3_1_a_target_deadline_after_the_usage_target_date_is_refused(world):
    t = world
    last = windows.programme_window(hopen_programme(), windows.USAGE_TARGETS).last_day
    response = api(t.clinic_director).post(LIST, {
        "establishment": t.clinic.finess,
        "domains": [{"domain_code": "D2", "target_deadline": str(last + datetime.timedelta(days=1))}],
    }, format="json")
    assert response.status_code == 400 and "dépasse la date limite du programme" in response.json()["detail"]
