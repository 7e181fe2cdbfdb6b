"""A real ClamAV daemon refuses EICAR in every upload path (issue 15, item 5 « Files »).

Debian's `clamd` (package clamav-daemon, installed by `.ci/run` and `make test`) is started once per test session on a
private Unix socket, with a generated clamd.conf whose only signature database is `tests/security/clamav/eicar.ndb`
(the EICAR test string as a body signature: ClamAV has no built-in EICAR detection, and nothing is downloaded).
"""

import datetime
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from ami.attachments import attachment_upload
from ami.models import PreCandidatureAttachment
from ami.services import pre_candidature_of
from funding.ght import services as ght_services
from funding.ght.models import GhtMasterPlan
from hopen.models import Role
from indicators.bulk import parsing
from indicators.evidence import evidence_upload
from indicators.file_safety import UnsafeFile
from indicators.models import Evidence, ScanStatus
from indicators.scanning import clamd_instream
from indicators.services import value_save_draft
from indicators.tasks import scan_evidence
from tests.factories import user_with_role
from tests.indicators.conftest import catalogue, hopen_programme, indicator, rate  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db

SIGNATURES = Path(__file__).resolve().parent / "clamav"
# Built from two halves so that this source file is not itself an EICAR file for a scanner on the developer's machine.
EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$" + rb"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
SIGNATURE = "Eicar-Test-Signature.UNOFFICIAL"  # « UNOFFICIAL »: a local database, not one of ClamAV's own


def _answers(path) -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(2)
            sock.connect(str(path))
            sock.sendall(b"zPING\0")
            return sock.recv(16).startswith(b"PONG")
    except OSError:
        return False


@pytest.fixture(scope="session")
def clamd_socket(tmp_path_factory):
    """A clamd of this test session only, on a private socket, knowing only the EICAR signature."""
    binary = shutil.which("clamd") or "/usr/sbin/clamd"
    assert Path(binary).exists(), "clamd manquant : apt-get install clamav-daemon (fait par .ci/run et make test)"
    folder = tmp_path_factory.mktemp("clamd")
    sock = folder / "clamd.sock"
    config = folder / "clamd.conf"
    config.write_text(
        f"LocalSocket {sock}\nDatabaseDirectory {SIGNATURES}\nTemporaryDirectory {folder}\n"
        f"PidFile {folder / 'clamd.pid'}\nLogFile {folder / 'clamd.log'}\nForeground yes\n"
    )
    daemon = subprocess.Popen([binary, f"--config-file={config}"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 90
        while not _answers(sock):
            assert daemon.poll() is None, f"clamd s'est arrêté : {daemon.stderr.read().decode(errors='replace')}"
            assert time.monotonic() < deadline, "clamd n'a pas répondu en 90 s"
            time.sleep(0.2)
        yield str(sock)
    finally:
        daemon.terminate()
        try:
            daemon.wait(timeout=15)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()


@pytest.fixture
def clamd(settings, clamd_socket, tmp_path):
    settings.CLAMD_SOCKET, settings.CLAMD_HOST = clamd_socket, ""
    settings.CLAMD_SCAN_ON_UPLOAD = True
    root = tmp_path / "private-media"
    settings.PRIVATE_MEDIA_ROOT = root
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(root), "base_url": None}},
    }
    return root


def infected_csv():
    return SimpleUploadedFile("mesures.csv", b"indicateur;valeur\nP1.1;80\n" + EICAR + b"\n")


def stored_files(root):
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def test_the_daemon_knows_eicar_and_nothing_else(clamd_socket):
    import io

    assert clamd_instream(io.BytesIO(b"debut;" + EICAR), socket_path=clamd_socket).signature == SIGNATURE
    assert not clamd_instream(io.BytesIO(b"indicateur;valeur\nP1.1;80\n"), socket_path=clamd_socket).infected


def test_justificatory_document_with_eicar_is_refused_and_nothing_is_stored(clamd, tenants, catalogue):  # noqa: F811
    """Annex 4: the documents are audit evidence; an infected one never enters the store."""
    draft = value_save_draft(establishment=tenants.member, indicator=indicator("P1.1"), data=rate(80, 100), by=tenants.editor)
    with pytest.raises(UnsafeFile, match=f"infecté \\(Signature détectée : {SIGNATURE}\\)"):
        evidence_upload(value=draft, uploaded_file=infected_csv(), by=tenants.editor)
    assert not Evidence.objects.exists() and stored_files(clamd) == []
    clean = evidence_upload(value=draft, uploaded_file=SimpleUploadedFile("sain.csv", b"a;b\n1;2\n"), by=tenants.editor)
    assert (clean.scan_status, clean.scan_detail, clean.is_downloadable) == (ScanStatus.CLEAN, "Aucune menace détectée", True)


def test_justificatory_document_upload_page_shows_the_refusal(client, clamd, tenants, catalogue):  # noqa: F811
    draft = value_save_draft(establishment=tenants.member, indicator=indicator("P1.1"), data=rate(80, 100), by=tenants.editor)
    client.force_login(tenants.editor)
    url = reverse("indicators:evidence_upload", kwargs={"value_id": draft.pk})
    response = client.post(url, {"file": infected_csv()}, follow=True)  # back to the indicator page, with the message
    assert "est infecté (Signature détectée" in response.content.decode()
    assert not Evidence.objects.exists()


def test_background_scan_through_the_real_daemon_blocks_eicar(client, clamd, tenants, catalogue, settings, sent_tasks):  # noqa: F811
    """When the scan at upload is off (or clamd did not answer in time), the background scan gives the verdict; the
    file is never served before it, nor after an infected one."""
    settings.CLAMD_SCAN_ON_UPLOAD = False
    draft = value_save_draft(establishment=tenants.member, indicator=indicator("P1.1"), data=rate(80, 100), by=tenants.editor)
    evidence = evidence_upload(value=draft, uploaded_file=infected_csv(), by=tenants.editor)
    client.force_login(tenants.ars_a)
    download = reverse("indicators:evidence_download", kwargs={"evidence_id": evidence.pk})
    assert evidence.scan_status == ScanStatus.PENDING and client.get(download).status_code == 409
    assert scan_evidence(evidence.pk) == ScanStatus.INFECTED
    evidence.refresh_from_db()
    assert evidence.scan_detail == f"Signature détectée : {SIGNATURE}"
    assert client.get(download).status_code == 409


def test_ami_attachment_with_eicar_is_refused(clamd, tenants, catalogue):  # noqa: F811
    """Annex 5 / §5.3.2: complementary documents follow the justificatory documents' rules."""
    pre_candidature = pre_candidature_of(tenants.member, hopen_programme())
    with pytest.raises(UnsafeFile, match="infecté"):
        attachment_upload(pre_candidature=pre_candidature, uploaded_file=infected_csv(), by=tenants.editor)
    assert not PreCandidatureAttachment.objects.exists() and stored_files(clamd) == []


def test_ght_document_with_eicar_is_refused(clamd, tenants, catalogue):  # noqa: F811
    """§5.3.1 « Pour les GHT »: the SDSI deposited by the support establishment."""
    support_editor = user_with_role(Role.ESTABLISHMENT_EDITOR, establishment=tenants.support)
    with pytest.raises(UnsafeFile, match="infecté"):
        ght_services.master_plan_upload(ght=tenants.ght, uploaded_file=infected_csv(), by=support_editor,
                                        validated_on=datetime.date(2019, 9, 12))
    assert not GhtMasterPlan.objects.exists() and stored_files(clamd) == []


def test_bulk_import_with_eicar_is_refused(client, clamd, tenants, catalogue):  # noqa: F811
    content = (
        "finess;indicateur;date_mesure;nature_valeur;numerateur;denominateur;commentaire\n"
        f"{tenants.member.finess};P1.1;15/03/2020;taux;80;100;"
    ).encode() + EICAR + b"\n"
    with pytest.raises(UnsafeFile, match="infecté"):
        parsing.bulk_parse(content, "saisie.csv")
    client.force_login(tenants.editor)
    response = client.post(
        reverse("indicators:bulk_import", kwargs={"finess": tenants.member.finess}),
        {"action": "verifier", "fichier": SimpleUploadedFile("saisie.csv", content)},
    )
    assert response.status_code == 400 and "infecté" in response.content.decode()


def test_referential_import_with_eicar_is_refused(client, clamd, tenants, catalogue):  # noqa: F811
    content = (
        "finess;programme;result;domain;achieved;achieved_on;amount;source\r\n"
        f"{tenants.member.finess};HN;prerequisites_reached;;oui;30/06/2017;;"
    ).encode() + EICAR + b"\r\n"
    client.force_login(tenants.dgos)
    response = client.post("/api/v1/prior-results/import/", {"file": SimpleUploadedFile("hn.csv", content), "dry_run": "true"})
    assert response.status_code == 400 and "infecté" in response.json()["detail"]
    # The same file without the virus passes the scan (the dry run then checks its lines).
    clean = content.replace(EICAR, b"export oSIS")
    response = client.post("/api/v1/prior-results/import/", {"file": SimpleUploadedFile("hn.csv", clean), "dry_run": "true"})
    assert "infecté" not in response.content.decode()


def test_an_import_is_refused_when_the_required_scanner_does_not_answer(settings, tmp_path):
    """Nothing would scan an import later: with scanning required and clamd silent, the file is refused."""
    settings.FILE_SCAN_REQUIRED = True
    settings.CLAMD_SOCKET, settings.CLAMD_HOST = str(tmp_path / "absent.sock"), ""
    with pytest.raises(UnsafeFile, match="antivirus ne répond pas"):
        parsing.bulk_parse(b"finess;indicateur\n", "saisie.csv")
    settings.CLAMD_SOCKET = ""
    with pytest.raises(UnsafeFile, match="antivirus ne répond pas"):
        parsing.bulk_parse(b"finess;indicateur\n", "saisie.csv")
