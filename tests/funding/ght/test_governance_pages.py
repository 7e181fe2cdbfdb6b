"""GHT governance in the pages (issue 13 item 3, §5.3.1 « Pour les GHT »): the support establishment deposits the
SDSI, names the GHT CIO (validated by its director) and declares the GHT-level values; members, the ARS of the region
and the DGOS read; eligibility reads what was entered."""

import datetime
import html
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from funding.eligibility.models import GhtItGovernance
from funding.eligibility.selectors import eligibility_for_establishment
from funding.ght.models import GhtIndicatorValue, GhtMasterPlan, GhtValueDocument
from hopen.models import AuditRecord, Role
from indicators.models import ScanStatus, ValueStatus
from tests.factories import user_with_role
from tests.factories_dossiers import hopen_programme

from .scene import declined, pdf_bytes, pdf_file

pytestmark = pytest.mark.django_db

GHT_REASONS = {"ght_master_plan_missing", "ght_convergence_indicators_missing", "ght_cio_not_validated"}


@pytest.fixture
def private_root(settings, tmp_path):
    root = tmp_path / "private-media"
    settings.PRIVATE_MEDIA_ROOT = root
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                    "OPTIONS": {"location": str(root), "base_url": None}},
    }
    settings.CLAMD_SOCKET = ""
    settings.CLAMD_HOST = ""
    return root


@pytest.fixture
def scene(tenants, catalogue, private_root):
    tenants.support_editor = user_with_role(Role.ESTABLISHMENT_EDITOR, establishment=tenants.support)
    tenants.support_director = user_with_role(Role.ESTABLISHMENT_DIRECTOR, establishment=tenants.support)
    return tenants


def url(ght, suffix=""):
    return f"/ght/{ght.code}/gouvernance/{suffix}"


# --- Permission matrix ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who, status, can_enter, can_validate", [
    ("support_editor", 200, True, False),
    ("support_director", 200, True, True),
    ("ght_director", 200, True, True),
    ("editor", 200, False, False),  # member establishment
    ("director", 200, False, False),
    ("ars_a", 200, False, False),
    ("dgos", 200, False, False),
    ("auditor", 200, False, False),
    ("ars_b", 404, False, False),  # another region
])
def test_who_reads_and_who_writes_the_ght_page(client, scene, who, status, can_enter, can_validate):
    client.force_login(getattr(scene, who))
    response = client.get(url(scene.ght))
    assert response.status_code == status
    if status == 200:
        assert response.context["can_enter"] is can_enter and response.context["can_validate"] is can_validate
        page = response.content.decode()
        assert ('data-testid="master-plan-form"' in page) is can_enter


def test_a_clinic_user_and_an_unknown_ght_get_404(client, scene):
    client.force_login(user_with_role(Role.ESTABLISHMENT_EDITOR, establishment=scene.clinic))
    assert client.get(url(scene.ght)).status_code == 404
    client.force_login(scene.dgos)
    assert client.get("/ght/XX-00/gouvernance/").status_code == 404


@pytest.mark.parametrize("who", ["editor", "director", "ars_a", "dgos"])
def test_a_readers_post_is_refused_403_before_its_input_is_read(client, scene, who):
    client.force_login(getattr(scene, who))
    for suffix, data in [
        ("sdsi/", {"file": pdf_file()}),
        ("dsi/", {"name": "X"}),
        ("dsi/validation/", {}),
        ("valeurs/P1.1/", {"kind": "existence", "exists": "yes"}),
        ("valeurs/declarer/", {}),
    ]:
        assert client.post(url(scene.ght, suffix), data).status_code == 403, suffix
    assert not GhtMasterPlan.objects.exists() and not GhtItGovernance.objects.exists()
    assert not GhtIndicatorValue.objects.exists()


def test_another_regions_ars_posting_gets_404(client, scene):
    client.force_login(scene.ars_b)
    assert client.post(url(scene.ght, "dsi/"), {"name": "X"}).status_code == 404


# --- SDSI through the private-document path -------------------------------------------------------------------------


def test_the_support_editor_deposits_the_sdsi_and_records_its_validation_date(client, scene, private_root):
    client.force_login(scene.support_editor)
    response = client.post(url(scene.ght, "sdsi/"), {"file": pdf_file(), "validated_on": ""})
    assert response.status_code == 302
    document = GhtMasterPlan.objects.get(ght=scene.ght)
    assert document.sha256 and document.content_type == "application/pdf" and document.validated_on is None
    assert document.scan_status == ScanStatus.NOT_SCANNED and document.uploaded_by == scene.support_editor
    assert "sdsi" not in document.file.name and (private_root / document.file.name).exists()  # random key
    assert AuditRecord.objects.filter(action="ght.master_plan_upload", object_id=str(document.pk)).exists()
    # Not validated yet: still missing for eligibility.
    verdict = eligibility_for_establishment(scene.member, programme=hopen_programme())["D2"]
    assert "ght_master_plan_missing" in verdict.codes

    response = client.post(url(scene.ght, f"sdsi/{document.pk}/validation/"), {"validated_on": "2019-09-12"})
    assert response.status_code == 302
    document.refresh_from_db()
    assert document.validated_on == datetime.date(2019, 9, 12)
    verdict = eligibility_for_establishment(scene.member, programme=hopen_programme())["D2"]
    assert "ght_master_plan_missing" not in verdict.codes

    future = (timezone.localdate() + datetime.timedelta(days=3)).isoformat()
    response = client.post(url(scene.ght, f"sdsi/{document.pk}/validation/"), {"validated_on": future}, follow=True)
    assert "ne peut pas être dans le futur" in html.unescape(response.content.decode())
    document.refresh_from_db()
    assert document.validated_on == datetime.date(2019, 9, 12)


@pytest.mark.parametrize("name, content, expected", [
    ("sdsi.html", b"<html><body>SDSI</body></html>", "n'est pas accepté"),
    ("sdsi.pdf", b"<html><script>alert(1)</script></html>", "HTML ou du SVG"),
    ("sdsi.pdf", b"MZ\x90\x00 not a pdf at all" * 10, "ne correspond pas à son extension"),
])
def test_a_bad_sdsi_file_is_refused_and_nothing_is_written(client, scene, name, content, expected):
    client.force_login(scene.support_director)
    response = client.post(url(scene.ght, "sdsi/"), {"file": SimpleUploadedFile(name, content)}, follow=True)
    assert expected in html.unescape(response.content.decode())
    assert not GhtMasterPlan.objects.exists()


def test_the_sdsi_download_is_protected(client, scene):
    client.force_login(scene.support_editor)
    client.post(url(scene.ght, "sdsi/"), {"file": pdf_file(), "validated_on": "2019-09-12"})
    document = GhtMasterPlan.objects.get()
    download = url(scene.ght, f"sdsi/{document.pk}/telecharger/")
    for who in ("member", "ars_a", "dgos"):
        reader = {"member": scene.editor, "ars_a": scene.ars_a, "dgos": scene.dgos}[who]
        client.force_login(reader)
        response = client.get(download)
        assert response.status_code == 200, who
        assert b"".join(response.streaming_content) == pdf_bytes()
        assert response["Content-Disposition"].startswith("attachment;")
        assert response["X-Content-Type-Options"] == "nosniff"
    client.force_login(scene.ars_b)
    assert client.get(download).status_code == 404
    client.logout()
    assert client.get(download).status_code == 302  # to the login page
    # Pending or infected: never served.
    GhtMasterPlan.objects.filter(pk=document.pk).update(scan_status=ScanStatus.INFECTED)
    client.force_login(scene.dgos)
    assert client.get(download).status_code == 303
    verdict = eligibility_for_establishment(scene.member, programme=hopen_programme())["D2"]
    assert "ght_master_plan_missing" in verdict.codes  # an infected SDSI does not count


# --- CIO ------------------------------------------------------------------------------------------------------------


def test_the_cio_is_named_then_validated_by_the_director_only(client, scene):
    client.force_login(scene.support_editor)
    assert client.post(url(scene.ght, "dsi/"), {"name": "Dominique  Martin", "email": "dsi@ght.test"}).status_code == 302
    governance = GhtItGovernance.objects.get(ght=scene.ght)
    assert governance.cio_name == "Dominique Martin" and governance.cio_validated_at is None
    assert client.post(url(scene.ght, "dsi/validation/")).status_code == 403  # the editor may not validate
    assert eligibility_for_establishment(scene.member, programme=hopen_programme())["D2"].codes.count(
        "ght_cio_not_validated") == 1

    client.force_login(scene.support_director)
    assert client.post(url(scene.ght, "dsi/validation/")).status_code == 302
    governance.refresh_from_db()
    assert governance.cio_validated_by == scene.support_director and governance.has_validated_cio
    assert "ght_cio_not_validated" not in eligibility_for_establishment(scene.member, programme=hopen_programme())["D2"].codes
    actions = list(AuditRecord.objects.filter(object_id=str(governance.pk), object_type="funding.ghtitgovernance")
                   .values_list("action", flat=True).order_by("id"))
    assert actions == ["ght.cio_name", "ght.cio_validate"]

    # Naming another CIO withdraws the validation.
    client.force_login(scene.support_editor)
    client.post(url(scene.ght, "dsi/"), {"name": "Camille Durand", "email": ""})
    governance.refresh_from_db()
    assert governance.cio_name == "Camille Durand" and governance.cio_validated_at is None


# --- GHT-level values -----------------------------------------------------------------------------------------------


def test_ght_values_draft_then_declared_with_history_and_documents(client, scene):
    client.force_login(scene.support_editor)
    response = client.post(url(scene.ght, "valeurs/P1.1/"), {"kind": "existence", "exists": "no", "description": "En cours"})
    assert response.status_code == 302
    value = GhtIndicatorValue.objects.get(ght=scene.ght, indicator__code="P1.1")
    assert value.status == ValueStatus.DRAFT and value.exists is False
    client.post(url(scene.ght, "valeurs/P1.1/"), {"kind": "existence", "exists": "yes", "description": "Référentiel unique"})
    value.refresh_from_db()
    assert value.exists is True and GhtIndicatorValue.objects.count() == 1
    # Per-establishment indicator (« Applicable par établissement. »): no GHT-level value.
    assert client.post(url(scene.ght, "valeurs/P1.3/"), {"kind": "existence", "exists": "yes"}).status_code == 404
    # N/A only where the catalogue allows it, with a reason.
    client.post(url(scene.ght, "valeurs/P1.2/"), {"kind": "not_applicable", "not_applicable_reason": "x"})
    assert not GhtIndicatorValue.objects.filter(indicator__code="P1.2").exists()
    # A document on the draft, through the private-document path.
    assert client.post(url(scene.ght, f"versions/{value.pk}/pieces/"), {"file": pdf_file("identito.pdf")}).status_code == 302
    assert GhtValueDocument.objects.filter(value=value).count() == 1
    # The editor may not declare.
    assert client.post(url(scene.ght, f"versions/{value.pk}/declarer/")).status_code == 403

    client.force_login(scene.support_director)
    assert client.post(url(scene.ght, f"versions/{value.pk}/declarer/")).status_code == 302
    value.refresh_from_db()
    assert value.status == ValueStatus.DECLARED and value.declared_by == scene.support_director
    # Locked: a new save is refused; a correction with its reason opens version 2.
    response = client.post(url(scene.ght, "valeurs/P1.1/"), {"kind": "existence", "exists": "no"}, follow=True)
    assert "verrouillée" in html.unescape(response.content.decode())
    client.post(url(scene.ght, f"versions/{value.pk}/corriger/"), {"reason": "Erreur de saisie"})
    correction = GhtIndicatorValue.objects.get(indicator__code="P1.1", status=ValueStatus.DRAFT)
    assert correction.version == 2 and correction.previous == value
    client.post(url(scene.ght, f"versions/{correction.pk}/declarer/"))
    value.refresh_from_db()
    correction.refresh_from_db()
    assert value.status == ValueStatus.SUPERSEDED and correction.status == ValueStatus.DECLARED

    page = client.get(url(scene.ght))
    history = [line.record.action for line in page.context["page"].history]
    for action in ("ght.value_create", "ght.value_update", "ght.value_declare", "ght.value_correct",
                   "ght.value_supersede", "ght.value_document_upload"):
        assert action in history
    # Issue 16 item 3: the panel reads as the audit trail (labels of `funding.ght.audit_labels`, values formatted).
    panel = html.unescape(page.content.decode()).split('id="historique-gouvernance"')[1].split("</table>")[0]
    panel = " ".join(re.sub(r"<[^>]+>", "", panel).split())
    assert "Valeur GHT remplacée par sa correction" in panel and "Correction de valeur GHT saisie" in panel
    assert "Version corrigée : — → P1.1" in panel  # the corrected version by its name, not its id
    assert "ght.value_" not in panel and "Statut : Brouillon → Déclarée" in panel
    # Members read the values and their documents.
    client.force_login(scene.editor)
    page = client.get(url(scene.ght)).content.decode()
    assert 'data-indicator="P1.1" data-state="declared"' in page
    document = GhtValueDocument.objects.get()
    assert client.get(url(scene.ght, f"piece/{document.pk}/telecharger/")).status_code == 200


# --- Done when: the GHT's dossier is no longer blocked for those reasons ---------------------------------------------


def test_after_the_support_completes_the_governance_the_member_has_no_ght_reason(client, scene):
    programme = hopen_programme()
    assert GHT_REASONS <= set(eligibility_for_establishment(scene.member, programme=programme)["D3"].codes)
    client.force_login(scene.support_editor)
    client.post(url(scene.ght, "sdsi/"), {"file": pdf_file(), "validated_on": "2019-09-12"})
    client.post(url(scene.ght, "dsi/"), {"name": "Dominique Martin"})
    indicators = declined()
    assert len(indicators) == 24
    for indicator in indicators:
        client.post(url(scene.ght, f"valeurs/{indicator.code}/"), {"kind": "existence", "exists": "yes"})
    verdicts = eligibility_for_establishment(scene.member, programme=programme)
    assert {"ght_convergence_indicators_missing", "ght_cio_not_validated"} <= set(verdicts["D3"].codes)  # drafts
    client.force_login(scene.support_director)
    client.post(url(scene.ght, "dsi/validation/"))
    response = client.post(url(scene.ght, "valeurs/declarer/"), follow=True)
    assert "24 valeurs GHT déclarées" in response.content.decode()
    for who in (scene.member, scene.support):
        verdicts = eligibility_for_establishment(who, programme=programme)
        for verdict in verdicts.values():
            assert not GHT_REASONS & set(verdict.codes)
    page = client.get(url(scene.ght)).content.decode()
    assert page.count('<p class="fr-badge fr-badge--sm fr-badge--success">Remplie</p>') == 3


def test_the_ght_page_is_linked_from_the_establishment_and_home_pages(client, scene):
    client.force_login(scene.support_director)
    assert url(scene.ght) in client.get(f"/etablissements/{scene.support.finess}/").content.decode()
    assert url(scene.ght) in client.get("/").content.decode()
    client.force_login(scene.ght_director)
    assert url(scene.ght) in client.get("/").content.decode()


def test_the_needs_ght_governance_filter_reads_the_verdicts(scene):
    from funding.ght.templatetags.ght_governance import needs_ght_governance

    verdicts = eligibility_for_establishment(scene.member, programme=hopen_programme())
    assert needs_ght_governance(verdicts["D2"]) and needs_ght_governance([(scene.member, verdicts["D2"])])
    assert not needs_ght_governance(eligibility_for_establishment(scene.clinic, programme=hopen_programme())["D2"])


# --- Queries ----------------------------------------------------------------------------------------------------------


def test_the_ght_page_uses_a_constant_number_of_queries(client, scene, django_assert_max_num_queries):
    indicators = declined()

    def enter(indicator, n):
        client.post(url(scene.ght, f"valeurs/{indicator.code}/"), {"kind": "existence", "exists": "yes"})
        value = GhtIndicatorValue.objects.get(indicator=indicator, status=ValueStatus.DRAFT)
        client.post(url(scene.ght, f"versions/{value.pk}/pieces/"), {"file": pdf_file(f"{n}.pdf", f"{indicator.code} {n}")})

    def count():
        client.force_login(scene.ars_a)
        client.get(url(scene.ght))  # warm the session and the programme
        with django_assert_max_num_queries(30) as captured:
            assert client.get(url(scene.ght)).status_code == 200
        return len(captured.captured_queries)

    client.force_login(scene.support_editor)
    client.post(url(scene.ght, "sdsi/"), {"file": pdf_file(), "validated_on": "2019-09-12"})
    client.post(url(scene.ght, "dsi/"), {"name": "Dominique Martin"})
    enter(indicators[0], 0)
    # Every kind of history record once (the history names related objects with one query per kind: users, values…).
    client.force_login(scene.support_director)
    client.post(url(scene.ght, "valeurs/declarer/"))
    few = count()
    client.force_login(scene.support_editor)
    client.post(url(scene.ght, "sdsi/"), {"file": pdf_file("v2.pdf", "v2"), "validated_on": "2020-01-10"})
    for n, indicator in enumerate(indicators[1:], start=1):
        enter(indicator, n)
    client.force_login(scene.support_director)
    client.post(url(scene.ght, "valeurs/declarer/"))
    client.force_login(scene.support_editor)
    for indicator in indicators[:5]:  # corrections: a second version each
        value = GhtIndicatorValue.objects.get(indicator=indicator, status=ValueStatus.DECLARED)
        client.post(url(scene.ght, f"versions/{value.pk}/corriger/"), {"reason": "Mise à jour"})
    assert GhtIndicatorValue.objects.count() == len(indicators) + 5
    assert count() == few


def test_the_dossier_page_links_to_the_ght_page_while_the_ght_conditions_are_missing(client, scene):
    from tests.factories_dossiers import DossierDomainFactory, DossierFactory

    from .scene import complete_governance

    dossier = DossierFactory(establishment=scene.member, created_by=scene.director)
    DossierDomainFactory(dossier=dossier, domain_code="D2")
    client.force_login(scene.director)
    page = client.get(f"/dossiers/{dossier.reference}/").content.decode()
    assert 'data-testid="ght-governance-link-D2"' in page and url(scene.ght) in page
    complete_governance(scene.ght, scene.support_director)
    page = client.get(f"/dossiers/{dossier.reference}/").content.decode()
    assert 'data-testid="ght-governance-link-D2"' not in page


def test_with_an_antivirus_the_sdsi_waits_for_its_scan_and_an_infected_one_never_counts(
    scene, settings, sent_tasks, django_capture_on_commit_callbacks
):
    from funding.ght import services
    from funding.ght.tasks import scan_master_plan

    settings.CLAMD_HOST = "clamd.invalid"
    with django_capture_on_commit_callbacks(execute=True):
        document = services.master_plan_upload(ght=scene.ght, uploaded_file=pdf_file(), by=scene.support_editor,
                                               validated_on=datetime.date(2019, 9, 12))
    assert document.scan_status == ScanStatus.PENDING
    assert sent_tasks.of("funding.ght.tasks.scan_master_plan") == [{"document_id": document.pk}]
    assert scan_master_plan.name == "funding.ght.tasks.scan_master_plan"
    # A pending SDSI counts (as a pending justificatory document does); an infected one does not.
    assert "ght_master_plan_missing" not in eligibility_for_establishment(scene.member, programme=hopen_programme())["D2"].codes
    services.record_scan(kind="master_plan", document_id=document.pk, status=ScanStatus.INFECTED, detail="Eicar")
    assert "ght_master_plan_missing" in eligibility_for_establishment(scene.member, programme=hopen_programme())["D2"].codes
    assert AuditRecord.objects.filter(action="ght.master_plan_scan", object_id=str(document.pk)).exists()
