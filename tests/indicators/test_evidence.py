"""Pièces justificatives of indicator values: checks, private storage, permissions, antivirus, audit.

The programme keeps them as evidence: §5.3.1 measures conformity to the prerequisites by "la saisie … de la
valeur des indicateurs et de la totalité des pièces justificatives"; annex 4 has the DGOS audit dossiers "sur la
base des pièces justificatives". Hence: nothing is really deleted, every write is audited, and only the users
who may read the establishment get the files (../shared/reference/000_eb8a7a77b11ba617.txt, §5.3.1, annex 4).
"""

import hashlib
import html as html_module
import io
import socket
import struct
import threading
import zipfile
import zlib
from pathlib import Path
from unittest import mock
from urllib.parse import quote

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse

from hopen.audit import verify_chain
from hopen.exceptions import ApplicationError, PermissionRefused
from hopen import tasking
from hopen.models import AuditRecord, Role
from indicators import evidence as evidence_module
from indicators.evidence import (
    EvidenceRefused,
    documents_listing,
    documents_prefetch,
    evidence_delete,
    evidence_record_scan,
    evidence_upload,
    format_size,
    sanitize_filename,
)
from indicators.models import Evidence, IndicatorValue, ScanStatus
from indicators.scanning import ScanError, ScanResult, clamd_instream, parse_instream_reply
from indicators.services import value_correct, value_declare
from indicators.tasks import requeue_pending_evidence, scan_evidence
from tests.factories import user_with_role
from tests.indicators.conftest import indicator, rate

pytestmark = pytest.mark.django_db

EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


# ------------------------------------------------------------------------------------------- real files


def pdf_bytes(text="Procès-verbal du comité de pilotage"):
    body = text.encode("latin-1", "replace")
    return (
        b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
        b"2 0 obj\n<< /Type /Pages /Kids [4 0 R] /Count 1 >>\nendobj\n"
        b"4 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>\nendobj\n"
        b"3 0 obj\n<< /Length " + str(len(body)).encode() + b" >>\nstream\n" + body + b"\nendstream\nendobj\n"
        b"trailer\n<< /Root 1 0 R >>\n%%EOF\n"
    )


def png_bytes():
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00" + b"\xff\x00\x00" * 2 + b"\x00" + b"\x00\x00\xff" * 2)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def jpeg_bytes():
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xdb\x00\x43\x00" + b"\x08" * 64 + b"\xff\xd9"


def csv_bytes():
    return "indicateur;numérateur;dénominateur\nP1.1;80;100\nP1.3;45;50\n".encode("utf-8")


def xlsx_bytes(rows=1):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Indicateur", "Numérateur", "Dénominateur"])
    for row in range(rows):
        sheet.append([f"P1.{row}", row * 7 % 101, 100 + row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def docx_bytes():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/word/document.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
        )
        archive.writestr(
            "_rels/.rels",
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
            'Target="word/document.xml"/></Relationships>',
        )
        archive.writestr(
            "word/document.xml",
            '<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
            "<w:body><w:p><w:r><w:t>Compte rendu</w:t></w:r></w:p></w:body></w:document>",
        )
    return buffer.getvalue()


def odf_bytes(mimetype):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), mimetype, compress_type=zipfile.ZIP_STORED)
        archive.writestr(
            "content.xml",
            '<?xml version="1.0" encoding="UTF-8"?><office:document-content '
            'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" office:version="1.2"/>',
            compress_type=zipfile.ZIP_DEFLATED,
        )
        archive.writestr(
            "META-INF/manifest.xml",
            '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
            'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"/>',
            compress_type=zipfile.ZIP_DEFLATED,
        )
    return buffer.getvalue()


def plain_zip_bytes():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "pas un document bureautique")
    return buffer.getvalue()


def upload(name, content, content_type="application/octet-stream"):
    return SimpleUploadedFile(name, content, content_type=content_type)


# ------------------------------------------------------------------------------------------- fixtures


@pytest.fixture
def private_root(settings, tmp_path):
    """Files go to a private folder of the test (the STORAGES default), and no scanner unless a test sets one."""
    root = tmp_path / "private-media"
    settings.PRIVATE_MEDIA_ROOT = root
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(root), "base_url": None}},
    }
    settings.CLAMD_SOCKET = ""
    settings.CLAMD_HOST = ""
    return root


@pytest.fixture
def draft(tenants, catalogue, private_root):
    from indicators.services import value_save_draft

    return value_save_draft(establishment=tenants.member, indicator=indicator("P1.1"), data=rate(80, 100), by=tenants.editor)


def stored_bytes(evidence):
    with evidence.file.storage.open(evidence.file.name, "rb") as stored:
        return stored.read()


def upload_url(value):
    return reverse("indicators:evidence_upload", kwargs={"value_id": value.pk})


def download_url(evidence):
    return reverse("indicators:evidence_download", kwargs={"evidence_id": evidence.pk})


def delete_url(evidence):
    return reverse("indicators:evidence_delete", kwargs={"evidence_id": evidence.pk})


def text_of(response):
    return html_module.unescape(response.content.decode())


def body_of(response):
    content = b"".join(response.streaming_content)
    response.close()
    return content


# ------------------------------------------------------------------------------------------- accepted files


@pytest.mark.parametrize(
    "name, make, content_type",
    [
        ("Procès-verbal COPIL.pdf", pdf_bytes, "application/pdf"),
        ("capture écran DPI.png", png_bytes, "image/png"),
        ("photo.JPG", jpeg_bytes, "image/jpeg"),
        ("extraction.csv", csv_bytes, "text/csv"),
        ("tableau de bord.xlsx", xlsx_bytes, evidence_module.XLSX),
        ("compte rendu.docx", docx_bytes, evidence_module.DOCX),
        ("note.odt", lambda: odf_bytes(evidence_module.ODT), evidence_module.ODT),
        ("suivi.ods", lambda: odf_bytes(evidence_module.ODS), evidence_module.ODS),
    ],
)
def test_good_files_are_stored_privately_with_their_fingerprint(tenants, draft, private_root, name, make, content_type):
    content = make()
    evidence = evidence_upload(value=draft, uploaded_file=upload(name, content), by=tenants.editor)
    evidence.refresh_from_db()
    assert evidence.original_name == name
    assert (evidence.size, evidence.content_type) == (len(content), content_type)
    assert evidence.sha256 == hashlib.sha256(content).hexdigest()
    assert evidence.scan_status == ScanStatus.NOT_SCANNED and evidence.is_downloadable  # no scanner configured
    assert stored_bytes(evidence) == content
    # Under a random key in the private folder, never the user's name.
    assert evidence.file.name.startswith("evidence/")
    assert Path(evidence.file.path).resolve().is_relative_to(private_root.resolve())
    assert name.rsplit(".", 1)[0] not in evidence.file.name


def test_the_storage_folder_is_not_a_public_one(settings):
    """The real settings: uploads live in PRIVATE_MEDIA_ROOT, outside STATIC_ROOT, with no public URL."""
    location = Path(settings.STORAGES["default"]["OPTIONS"]["location"]).resolve()
    assert location == Path(settings.PRIVATE_MEDIA_ROOT).resolve()
    assert not location.is_relative_to(Path(settings.STATIC_ROOT).resolve())
    assert settings.STORAGES["default"]["OPTIONS"]["base_url"] is None


def test_several_files_per_value(tenants, draft):
    for name, make in [("a.pdf", pdf_bytes), ("b.png", png_bytes), ("c.csv", csv_bytes)]:
        evidence_upload(value=draft, uploaded_file=upload(name, make()), by=tenants.editor)
    assert [d.original_name for d in documents_listing(draft).visible] == ["a.pdf", "b.png", "c.csv"]
    assert len({d.file.name for d in Evidence.objects.all()}) == 3


def test_the_same_file_twice_on_a_value_is_refused(tenants, draft):
    """A double click or a second selection does not make two copies; after a deletion it may come back."""
    first = evidence_upload(value=draft, uploaded_file=upload("a.pdf", pdf_bytes()), by=tenants.editor)
    with pytest.raises(EvidenceRefused, match=r"« copie\.pdf » est déjà déposé pour cette valeur \(« a\.pdf », le "):
        evidence_upload(value=draft, uploaded_file=upload("copie.pdf", pdf_bytes()), by=tenants.editor)
    evidence_delete(evidence=first, by=tenants.editor)
    again = evidence_upload(value=draft, uploaded_file=upload("copie.pdf", pdf_bytes()), by=tenants.editor)
    assert again.sha256 == first.sha256 and again.file.name != first.file.name


def test_the_ght_support_director_may_upload_for_a_member(tenants, draft):
    """Annex 5: the GHT support establishment files for its members (`can_enter_indicator_values`)."""
    evidence = evidence_upload(value=draft, uploaded_file=upload("ght.pdf", pdf_bytes()), by=tenants.ght_director)
    assert evidence.uploaded_by == tenants.ght_director


def test_a_zip_container_reported_as_a_bare_zip_is_judged_on_its_structure(tenants, draft):
    """libmagic names OOXML/ODF files only when their first entries say so; else the container decides."""
    with mock.patch.object(evidence_module.magic, "from_buffer", return_value="application/zip"):
        accepted = evidence_upload(value=draft, uploaded_file=upload("t.xlsx", xlsx_bytes()), by=tenants.editor)
        assert accepted.content_type == evidence_module.XLSX
        with pytest.raises(EvidenceRefused, match="ne correspond pas"):
            evidence_upload(value=draft, uploaded_file=upload("archive.docx", plain_zip_bytes()), by=tenants.editor)
        with pytest.raises(EvidenceRefused, match="ne correspond pas"):  # an XLSX renamed .docx
            evidence_upload(value=draft, uploaded_file=upload("renamed.docx", xlsx_bytes()), by=tenants.editor)


# ------------------------------------------------------------------------------------------- refused files


def refused(tenants, value, name, content, match):
    with pytest.raises(EvidenceRefused, match=match) as caught:
        evidence_upload(value=value, uploaded_file=upload(name, content), by=tenants.editor)
    assert not Evidence.objects.exists()
    return caught.value.message


def test_oversize_file_is_refused(tenants, draft, settings, private_root):
    settings.EVIDENCE_MAX_UPLOAD_SIZE = 1000
    message = refused(tenants, draft, "gros.csv", b"a;b\n" * 251, "taille maximale")
    assert message == "Le fichier « gros.csv » dépasse la taille maximale autorisée (1000\u00a0octets)."
    # A file whose announced size lies is measured while streaming.
    liar = upload("menteur.csv", b"a;b\n" * 300)
    liar.size = 10
    with pytest.raises(EvidenceRefused, match="taille maximale"):
        evidence_upload(value=draft, uploaded_file=liar, by=tenants.editor)
    assert [p for p in private_root.rglob("*") if p.is_file()] == []
    exactly = evidence_upload(value=draft, uploaded_file=upload("juste.csv", b"a;b\n" * 250), by=tenants.editor)
    assert exactly.size == 1000


@pytest.mark.parametrize(
    "name, make, match",
    [
        ("rapport.pdf", png_bytes, r"\(image PNG\) ne correspond pas à son extension « \.pdf »"),
        ("image.png", pdf_bytes, r"\(document PDF\) ne correspond pas"),
        ("setup.exe", lambda: b"MZ\x90\x00\x03" + b"\x00" * 200, r"n'est pas accepté \(type « \.exe »\)"),
        ("rapport.pdf.exe", pdf_bytes, r"type « \.exe »"),
        ("tableau.xlsx", plain_zip_bytes, r"\(archive ZIP\) ne correspond pas"),
        ("ancien.doc", pdf_bytes, r"type « \.doc »"),
        ("sans-extension", pdf_bytes, "sans extension"),
        ("programme.csv", lambda: b"MZ\x90\x00\x03\x00\x00\x00" + bytes(range(256)) * 4, "ne correspond pas"),
    ],
)
def test_content_must_match_an_accepted_extension(tenants, draft, name, make, match):
    message = refused(tenants, draft, name, make(), match)
    assert "Formats acceptés" in message or "Enregistrez le document" in message


@pytest.mark.parametrize(
    "name, content",
    [
        ("rapport.pdf", b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"),
        ("schema.png", b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>'),
        ("logo.png", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
        ("export.csv", b"<html><script>alert(1)</script></html>"),
        ("export2.csv", "\ufeff  <svg onload=alert(1)>".encode("utf-8")),
        ("export3.csv", b"code;libelle\nP1.1;<script>alert(1)</script>\n"),
    ],
)
def test_html_and_svg_content_is_refused_whatever_the_extension(tenants, draft, name, content):
    refused(tenants, draft, name, content, "HTML ou du SVG")


def test_empty_file_is_refused(tenants, draft):
    assert refused(tenants, draft, "vide.pdf", b"", "est vide") == "Le fichier « vide.pdf » est vide : déposez le document complet."


def test_a_hostile_name_is_sanitised_and_never_used_for_storage(client, tenants, draft, private_root):
    evidence = evidence_upload(value=draft, uploaded_file=upload("../../etc/passwd\x00.pdf", pdf_bytes()), by=tenants.editor)
    assert evidence.original_name == "passwd.pdf"
    key = evidence.file.name
    assert key.startswith("evidence/") and "passwd" not in key and ".." not in key and "\x00" not in key
    assert Path(evidence.file.path).resolve().is_relative_to(private_root.resolve())
    assert not (private_root.parent / "etc").exists()
    client.force_login(tenants.editor)
    for prefix in ("/", "/media/", "/static/"):  # no URL serves the storage folder
        assert client.get(prefix + key).status_code == 404


@pytest.mark.parametrize(
    "raw, clean",
    [
        ("../../etc/passwd\x00.pdf", "passwd.pdf"),
        ("C:\\Users\\agent\\Documents\\Rapport annuel.pdf", "Rapport annuel.pdf"),
        ("facture\u202efdp.exe", "facturefdp.exe"),  # right-to-left override, used to disguise extensions
        ("  tab\tle\nau .xlsx  ", "tab le au.xlsx"),
        ("..", "document"),
        (".htaccess", "htaccess"),
        ("résumé   final....pdf", "résumé final.pdf"),
        ("x" * 300 + ".pdf", "x" * 146 + ".pdf"),
    ],
)
def test_sanitize_filename(raw, clean):
    assert sanitize_filename(raw) == clean
    assert len(sanitize_filename(raw)) <= 150


@pytest.mark.parametrize(
    "size, text",
    [(1, "1\u00a0octet"), (512, "512\u00a0octets"), (1024, "1\u00a0Ko"), (1_258_291, "1,2\u00a0Mo"), (20 * 1024 * 1024, "20\u00a0Mo")],
)
def test_sizes_read_the_french_way(size, text):
    assert format_size(size) == text


# ------------------------------------------------------------------------------------------- rules of the value


def test_a_declared_value_is_locked(tenants, draft):
    evidence = evidence_upload(value=draft, uploaded_file=upload("avant.pdf", pdf_bytes()), by=tenants.editor)
    value_declare(value=draft, by=tenants.director)
    with pytest.raises(ApplicationError, match="Cette valeur est déclarée : elle est verrouillée"):
        evidence_upload(value=draft, uploaded_file=upload("apres.pdf", pdf_bytes()), by=tenants.editor)
    with pytest.raises(ApplicationError, match="verrouillée"):
        evidence_delete(evidence=evidence, by=tenants.editor)
    assert Evidence.objects.count() == 1


def test_the_correction_takes_over_the_documents_and_accepts_new_ones(tenants, draft):
    evidence_upload(value=draft, uploaded_file=upload("avant.pdf", pdf_bytes()), by=tenants.editor)
    value_declare(value=draft, by=tenants.director)
    correction = value_correct(value=draft, reason="Erreur de comptage", data=rate(85, 100), by=tenants.editor)
    evidence_upload(value=correction, uploaded_file=upload("apres.pdf", pdf_bytes("v2")), by=tenants.editor)
    assert [d.original_name for d in documents_listing(correction).visible] == ["avant.pdf", "apres.pdf"]


@pytest.mark.parametrize("role", ["ars_a", "dgos", "auditor", "admin"])
def test_read_only_roles_never_write(tenants, draft, role):
    user = getattr(tenants, role)
    with pytest.raises(PermissionRefused, match="l'ARS et la DGOS les consultent"):
        evidence_upload(value=draft, uploaded_file=upload("a.pdf", pdf_bytes()), by=user)
    evidence = evidence_upload(value=draft, uploaded_file=upload("a.pdf", pdf_bytes()), by=tenants.editor)
    with pytest.raises(PermissionRefused):
        evidence_delete(evidence=evidence, by=user)


def test_soft_delete_keeps_the_row_and_the_file_but_hides_it(client, tenants, draft):
    kept = evidence_upload(value=draft, uploaded_file=upload("garde.pdf", pdf_bytes()), by=tenants.editor)
    evidence = evidence_upload(value=draft, uploaded_file=upload("retire.pdf", pdf_bytes("x")), by=tenants.editor)
    evidence_delete(evidence=evidence, by=tenants.editor)
    evidence.refresh_from_db()
    assert evidence.deleted_at is not None and evidence.deleted_by == tenants.editor
    assert stored_bytes(evidence) == pdf_bytes("x")  # the file stays for the audit trail
    listing = documents_listing(IndicatorValue.objects.get(pk=draft.pk))
    assert (listing.visible, listing.deleted_count) == ([kept], 1)
    with pytest.raises(ApplicationError, match="déjà été supprimée"):
        evidence_delete(evidence=evidence, by=tenants.editor)
    client.force_login(tenants.ars_a)
    assert client.get(download_url(evidence)).status_code == 404
    html = render_to_string("indicators/_documents.html", {"value": draft, "can_upload": False})
    assert "garde.pdf" in html and "retire.pdf" not in html
    assert "1 pièce supprimée" in html


# ------------------------------------------------------------------------------------------- audit trail


def test_every_write_leaves_its_audit_record(tenants, draft):
    evidence = evidence_upload(value=draft, uploaded_file=upload("a.pdf", pdf_bytes()), by=tenants.editor)
    evidence_record_scan(evidence=evidence, status=ScanStatus.CLEAN, detail="Aucune menace détectée")
    evidence_delete(evidence=evidence, by=tenants.editor)
    records = AuditRecord.objects.filter(object_type="indicators.evidence", object_id=str(evidence.pk)).order_by("id")
    assert [r.action for r in records] == ["evidence.upload", "evidence.scan", "evidence.delete"]
    uploaded, scanned, deleted = records
    assert uploaded.actor == tenants.editor
    assert uploaded.changes["sha256"] == [None, hashlib.sha256(pdf_bytes()).hexdigest()]
    assert uploaded.changes["original_name"] == [None, "a.pdf"]
    assert scanned.actor is None and scanned.changes["scan_status"] == ["not_scanned", "clean"]
    assert deleted.actor == tenants.editor and deleted.changes["deleted_by"] == [None, tenants.editor.pk]
    assert verify_chain()[1] == []


def test_an_upload_whose_audit_record_fails_leaves_nothing(tenants, draft, private_root):
    with mock.patch.object(evidence_module, "audit_record", side_effect=RuntimeError("panne")):
        with pytest.raises(RuntimeError):
            evidence_upload(value=draft, uploaded_file=upload("a.pdf", pdf_bytes()), by=tenants.editor)
    assert not Evidence.objects.exists()
    assert [p for p in private_root.rglob("*") if p.is_file()] == []


# ------------------------------------------------------------------------------------------- download


@pytest.fixture
def other_editor(tenants):
    return user_with_role(Role.ESTABLISHMENT_EDITOR, establishment=tenants.clinic)


@pytest.fixture
def document(tenants, draft):
    return evidence_upload(value=draft, uploaded_file=upload("Procès-verbal n°1.pdf", pdf_bytes()), by=tenants.editor)


def test_download_by_the_regional_ars_gives_the_exact_bytes_as_an_attachment(client, tenants, document):
    client.force_login(tenants.ars_a)
    response = client.get(download_url(document))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment; ")
    assert f"filename*=UTF-8''{quote('Procès-verbal n°1.pdf', safe='')}" in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] == "application/pdf"
    assert "private" in response["Cache-Control"]
    assert body_of(response) == pdf_bytes()


@pytest.mark.parametrize("role", ["editor", "director", "ght_director", "dgos", "auditor"])
def test_download_within_the_scope(client, tenants, document, role):
    client.force_login(getattr(tenants, role))
    response = client.get(download_url(document))
    assert response.status_code == 200
    assert body_of(response) == pdf_bytes()


def test_download_outside_the_scope_answers_404(client, tenants, document, other_editor):
    for user in (other_editor, tenants.ars_b):
        client.force_login(user)
        assert client.get(download_url(document)).status_code == 404
    client.logout()
    response = client.get(download_url(document))
    assert response.status_code == 302 and "/compte/connexion/" in response["Location"]
    assert client.get(reverse("indicators:evidence_download", kwargs={"evidence_id": 999_999})).status_code == 302


def test_pending_and_infected_files_are_never_downloadable(client, tenants, document):
    client.force_login(tenants.ars_a)
    Evidence.objects.filter(pk=document.pk).update(scan_status=ScanStatus.PENDING)
    response = client.get(download_url(document))
    assert response.status_code == 409
    assert "est en cours d'analyse antivirus" in text_of(response)
    evidence_record_scan(evidence=document, status=ScanStatus.INFECTED, detail="Signature détectée : Eicar-Signature")
    response = client.get(download_url(document))
    assert response.status_code == 409
    html = text_of(response)
    assert "a été détecté comme infecté" in html and "Eicar-Signature" in html
    assert pdf_bytes() not in response.content


# ------------------------------------------------------------------------------------------- upload and delete pages


def test_plain_form_upload_redirects_to_next_with_a_message(client, tenants, draft):
    client.force_login(tenants.editor)
    response = client.post(
        upload_url(draft),
        {"file": [upload("a.pdf", pdf_bytes()), upload("b.png", png_bytes())], "next": "/etablissements/?page=2"},
    )
    assert response.status_code == 302 and response["Location"] == "/etablissements/?page=2"
    assert sorted(Evidence.objects.values_list("original_name", flat=True)) == ["a.pdf", "b.png"]
    messages = [str(m) for m in response.wsgi_request._messages]
    assert messages == ["2 pièces justificatives déposées : « a.pdf », « b.png »."]


def test_upload_without_next_goes_back_to_the_indicator_page(client, tenants, draft):
    client.force_login(tenants.editor)
    for next_url in ("", "https://exemple.invalid/phishing", "//exemple.invalid/"):
        response = client.post(upload_url(draft), {"file": upload("a.pdf", pdf_bytes(next_url)), "next": next_url})
        expected = reverse("indicators:indicator_detail", kwargs={"finess": tenants.member.finess, "code": "P1.1"})
        # The value's programme rides along: the page opens on the programme the value belongs to.
        assert response["Location"] == f"{expected}?programme=HOPEN#pieces-justificatives-{draft.pk}"


def test_a_refused_file_does_not_lose_the_others(client, tenants, draft):
    client.force_login(tenants.editor)
    response = client.post(
        upload_url(draft),
        {"file": [upload("bon.pdf", pdf_bytes()), upload("faux.pdf", png_bytes()), upload("vide.csv", b"")]},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 400
    data = response.json()
    assert [d["name"] for d in data["documents"]] == ["bon.pdf"]
    assert len(data["errors"]) == 2 and "faux.pdf" in data["errors"][0] and "vide.csv" in data["errors"][1]
    assert "bon.pdf" in data["html"] and "ne correspond pas" in data["html"]
    assert list(Evidence.objects.values_list("original_name", flat=True)) == ["bon.pdf"]


def test_xhr_upload_answers_json_with_the_refreshed_section(client, tenants, draft):
    client.force_login(tenants.editor)
    response = client.post(upload_url(draft), {"file": upload("a.pdf", pdf_bytes())}, HTTP_ACCEPT="application/json")
    assert response.status_code == 201
    data = response.json()
    (document,) = data["documents"]
    assert document["sha256"] == hashlib.sha256(pdf_bytes()).hexdigest()
    assert document["scan_status"] == "not_scanned" and document["downloadable"]
    assert data["message"] == "Pièce justificative déposée : « a.pdf »."
    assert f'id="pieces-justificatives-{draft.pk}"' in data["html"] and "a.pdf" in data["html"]
    assert data["errors"] == []
    # The refreshed section keeps the heading level of the page that included it.
    response = client.post(
        upload_url(draft), {"file": upload("b.pdf", pdf_bytes("b")), "documents_heading_level": "4"}, HTTP_ACCEPT="application/json"
    )
    assert '<h4 class="fr-h6" id="pieces-justificatives-' in response.json()["html"]
    assert 'name="documents_heading_level" value="4"' in response.json()["html"]


def test_oversize_upload_through_the_page_is_cut_short(client, tenants, draft, settings):
    settings.EVIDENCE_MAX_UPLOAD_SIZE = 100_000
    client.force_login(tenants.editor)
    response = client.post(
        upload_url(draft),
        {"file": [upload("gros.pdf", pdf_bytes() + b"%" * 200_000), upload("petit.pdf", pdf_bytes())]},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 400
    data = response.json()
    assert data["errors"] == ["Le fichier « gros.pdf » dépasse la taille maximale autorisée (97,7\u00a0Ko)."]
    assert [d["name"] for d in data["documents"]] == ["petit.pdf"]


def test_a_large_file_spooled_to_disk_is_stored_intact(client, tenants, draft, settings):
    """Over FILE_UPLOAD_MAX_MEMORY_SIZE the upload is a temporary file, which the storage moves into place."""
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 10_000
    content = xlsx_bytes(rows=3000)
    assert len(content) > 30_000
    client.force_login(tenants.editor)
    response = client.post(upload_url(draft), {"file": upload("tableau.xlsx", content)}, HTTP_ACCEPT="application/json")
    assert response.status_code == 201, response.json()["errors"]
    evidence = Evidence.objects.get()
    assert stored_bytes(evidence) == content and evidence.sha256 == hashlib.sha256(content).hexdigest()


def test_no_file_chosen(client, tenants, draft):
    client.force_login(tenants.editor)
    response = client.post(upload_url(draft), {}, HTTP_ACCEPT="application/json")
    assert response.status_code == 400 and response.json()["errors"] == ["Choisissez au moins un fichier à déposer."]


def test_upload_on_a_declared_value_says_it_is_locked(client, tenants, draft):
    value_declare(value=draft, by=tenants.director)
    client.force_login(tenants.editor)
    response = client.post(upload_url(draft), {"file": upload("a.pdf", pdf_bytes())}, follow=False)
    assert response.status_code == 302
    assert [str(m) for m in response.wsgi_request._messages] == [evidence_module.LOCKED_MESSAGE]
    response = client.post(upload_url(draft), {"file": upload("a.pdf", pdf_bytes())}, HTTP_ACCEPT="application/json")
    assert response.status_code == 400 and "verrouillée" in response.json()["errors"][0]
    assert not Evidence.objects.exists()


@pytest.mark.parametrize("role", ["ars_a", "dgos"])
def test_read_only_roles_get_403_on_post(client, tenants, document, role):
    client.force_login(getattr(tenants, role))
    response = client.post(upload_url(document.value), {"file": upload("a.pdf", pdf_bytes())})
    assert response.status_code == 403
    assert "l'ARS et la DGOS les consultent" in text_of(response)
    assert client.post(delete_url(document)).status_code == 403
    assert client.post(upload_url(document.value), {}, HTTP_ACCEPT="application/json").status_code == 403
    document.refresh_from_db()
    assert document.deleted_at is None and Evidence.objects.count() == 1


def test_posts_outside_the_scope_answer_404(client, tenants, document, other_editor):
    for user in (other_editor, tenants.ars_b):
        client.force_login(user)
        assert client.post(upload_url(document.value), {"file": upload("a.pdf", pdf_bytes())}).status_code == 404
        assert client.post(delete_url(document)).status_code == 404
    assert Evidence.objects.count() == 1


def test_pages_refuse_get_on_writes_and_check_csrf(tenants, document):
    client = Client(enforce_csrf_checks=True)
    client.force_login(tenants.editor)
    assert client.get(upload_url(document.value)).status_code == 405
    assert client.get(delete_url(document)).status_code == 405
    assert client.post(upload_url(document.value), {"file": upload("a.pdf", pdf_bytes())}).status_code == 403
    assert client.post(delete_url(document)).status_code == 403
    assert Evidence.objects.filter(deleted_at__isnull=True).count() == 1


def test_delete_through_the_page(client, tenants, document):
    client.force_login(tenants.editor)
    response = client.post(delete_url(document), {"next": "/etablissements/"})
    assert response.status_code == 302 and response["Location"] == "/etablissements/"
    document.refresh_from_db()
    assert document.deleted_by == tenants.editor
    response = client.post(delete_url(document), HTTP_ACCEPT="application/json")
    assert response.status_code == 400 and "déjà été supprimée" in response.json()["errors"][0]


# ------------------------------------------------------------------------------------------- the partial


def test_partial_lists_name_size_date_uploader_fingerprint_and_scan_status(tenants, draft, rf):
    content = pdf_bytes() + b"%" * 1_258_000
    evidence_upload(value=draft, uploaded_file=upload("gros rapport.pdf", content), by=tenants.editor)
    request = rf.get("/etablissements/x/indicateurs/P1.1/")
    request.user = tenants.editor
    html = render_to_string("indicators/_documents.html", {"value": draft, "can_upload": True}, request=request)
    document = Evidence.objects.get()
    assert "gros rapport.pdf" in html and "1,2\u00a0Mo" in html
    assert document.uploaded_at.astimezone().strftime("%d/%m/%Y") in html
    assert tenants.editor.get_full_name() in html
    assert document.sha256 in html and "Non analysé" in html
    assert download_url(document) in html and delete_url(document) in html
    assert 'enctype="multipart/form-data"' in html and 'name="file" multiple' in html
    assert "/static/indicators/upload.js" in html and "<script>" not in html and "style=" not in html
    assert 'name="next" value="/etablissements/x/indicateurs/P1.1/#pieces-justificatives-' in html
    # Numbers in attributes are never localised (USE_THOUSAND_SEPARATOR would turn 20971520 into « 20 971 520 »).
    assert 'data-max-size="20971520"' in html and "Taille maximale : 20\u00a0Mo par fichier" in html
    far = IndicatorValue(pk=1_234_567, establishment=tenants.member, indicator=draft.indicator, status="draft")
    far_html = render_to_string("indicators/_documents.html", {"value": far, "can_upload": True}, request=request)
    assert 'id="pieces-justificatives-1234567"' in far_html and "/indicateurs/valeurs/1234567/" in far_html

    readonly = render_to_string("indicators/_documents.html", {"value": draft, "can_upload": False})
    assert "gros rapport.pdf" in readonly and 'name="file"' not in readonly and delete_url(document) not in readonly

    declared_value = value_declare(value=draft, by=tenants.director)
    locked = render_to_string("indicators/_documents.html", {"value": declared_value, "can_upload": True})
    assert "Valeur déclarée : ses pièces justificatives sont verrouillées" in locked
    assert 'name="file"' not in locked and delete_url(document) not in locked


def test_partial_shows_pending_and_infected_files_without_a_link(tenants, draft):
    pending = evidence_upload(value=draft, uploaded_file=upload("attente.pdf", pdf_bytes()), by=tenants.editor)
    infected = evidence_upload(value=draft, uploaded_file=upload("virus.csv", csv_bytes()), by=tenants.editor)
    Evidence.objects.filter(pk=pending.pk).update(scan_status=ScanStatus.PENDING)
    evidence_record_scan(evidence=infected, status=ScanStatus.INFECTED, detail="Signature détectée : Eicar")
    html = render_to_string("indicators/_documents.html", {"value": draft, "can_upload": False})
    assert "Analyse en cours" in html and "Infecté — bloqué" in html
    assert download_url(pending) not in html and download_url(infected) not in html


def test_partial_uses_the_prefetched_documents(tenants, draft, django_assert_num_queries):
    for name in ("a.pdf", "b.pdf", "c.pdf"):
        evidence_upload(value=draft, uploaded_file=upload(name, pdf_bytes(name)), by=tenants.editor)
    evidence_delete(evidence=Evidence.objects.get(original_name="b.pdf"), by=tenants.editor)
    value = IndicatorValue.objects.prefetch_related(documents_prefetch()).get(pk=draft.pk)
    with django_assert_num_queries(0):
        html = render_to_string("indicators/_documents.html", {"value": value, "can_upload": False})
    assert "a.pdf" in html and "c.pdf" in html and "b.pdf" not in html and "1 pièce supprimée" in html


# ------------------------------------------------------------------------------------------- clamd protocol


class FakeClamd:
    """A clamd stand-in speaking INSTREAM on a local socket (TCP on 127.0.0.1, or a Unix socket)."""

    def __init__(self, *, unix_path=None, reply=None, close_without_reply=False):
        self.reply = reply
        self.close_without_reply = close_without_reply
        self.commands, self.chunk_sizes, self.received = [], [], []
        if unix_path:
            self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.server.bind(str(unix_path))
            self.address = str(unix_path)
        else:
            self.server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.server.bind(("127.0.0.1", 0))
            self.address = self.server.getsockname()
        self.server.listen(5)
        self.server.settimeout(0.1)  # the accept loop checks `stopping` ten times a second
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.stopping = False
        self.thread.start()

    @staticmethod
    def _exactly(connection, count):
        data = b""
        while len(data) < count:
            part = connection.recv(count - len(data))
            if not part:
                raise ConnectionError("flux interrompu")
            data += part
        return data

    def _serve(self):
        while not self.stopping:
            try:
                connection, _ = self.server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with connection:
                connection.settimeout(10)
                command = b""
                while not command.endswith(b"\0"):
                    command += self._exactly(connection, 1)
                self.commands.append(command)
                data = b""
                while True:
                    (length,) = struct.unpack(">I", self._exactly(connection, 4))
                    if length == 0:
                        break
                    self.chunk_sizes.append(length)
                    data += self._exactly(connection, length)
                self.received.append(data)
                if self.close_without_reply:
                    continue
                if self.reply is not None:
                    connection.sendall(self.reply)
                elif EICAR in data:
                    connection.sendall(b"stream: Eicar-Signature FOUND\0")
                else:
                    connection.sendall(b"stream: OK\0")

    def stop(self):
        self.stopping = True
        self.server.close()
        self.thread.join(timeout=5)


@pytest.fixture
def fake_clamd():
    servers = []

    def start(**options):
        server = FakeClamd(**options)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def test_clamd_instream_clean_file_over_tcp(fake_clamd):
    server = fake_clamd()
    content = bytes(range(256)) * 1000  # 256 000 bytes: several chunks
    result = clamd_instream(io.BytesIO(content), host=server.address[0], port=server.address[1], chunk_size=65536)
    assert result == ScanResult(infected=False)
    assert server.commands == [b"zINSTREAM\0"]
    assert server.received == [content]
    assert server.chunk_sizes == [65536, 65536, 65536, 256_000 - 3 * 65536]


def test_clamd_instream_infected_file_over_a_unix_socket(fake_clamd, tmp_path):
    server = fake_clamd(unix_path=tmp_path / "clamd.sock")
    result = clamd_instream(io.BytesIO(b"entete;" + EICAR), socket_path=server.address)
    assert result == ScanResult(infected=True, signature="Eicar-Signature")
    assert result.detail == "Signature détectée : Eicar-Signature"


def test_clamd_errors_are_scan_errors(fake_clamd):
    server = fake_clamd(reply=b"INSTREAM size limit exceeded. ERROR\0")
    with pytest.raises(ScanError, match="size limit exceeded"):
        clamd_instream(io.BytesIO(b"x" * 10), host="127.0.0.1", port=server.address[1])
    silent = fake_clamd(close_without_reply=True)
    with pytest.raises(ScanError, match="rien répondu"):
        clamd_instream(io.BytesIO(b"x" * 10), host="127.0.0.1", port=silent.address[1])
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nobody listens there
    with pytest.raises(ScanError, match="injoignable"):
        clamd_instream(io.BytesIO(b"x"), host="127.0.0.1", port=port, timeout=2)
    with pytest.raises(ScanError, match="Aucun antivirus"):
        clamd_instream(io.BytesIO(b"x"))


@pytest.mark.parametrize(
    "reply, expected",
    [
        (b"stream: OK\0", ScanResult(False)),
        (b"stream: OK\n", ScanResult(False)),
        (b"stream: Win.Test.EICAR_HDB-1 FOUND\0", ScanResult(True, "Win.Test.EICAR_HDB-1")),
    ],
)
def test_parse_instream_reply(reply, expected):
    assert parse_instream_reply(reply) == expected


@pytest.mark.parametrize("reply", [b"", b"\0", b"PONG\0", b"stream: FOUND\0", b"stream: something ERROR\0", b"stream:\0"])
def test_parse_instream_reply_refuses_anything_else(reply):
    with pytest.raises(ScanError):
        parse_instream_reply(reply)


# ------------------------------------------------------------------------------------------- the scan task


@pytest.fixture
def scanner(settings, fake_clamd, private_root):
    server = fake_clamd()
    settings.CLAMD_HOST, settings.CLAMD_PORT = server.address
    # These tests are about the background scan; the scan at upload is tested in tests/security/test_clamd.py.
    settings.CLAMD_SCAN_ON_UPLOAD = False
    return server


def test_upload_with_a_scanner_is_pending_and_sends_the_scan_on_commit(
    tenants, draft, scanner, sent_tasks, monkeypatch, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        evidence = evidence_upload(value=draft, uploaded_file=upload("a.pdf", pdf_bytes()), by=tenants.editor)
    assert evidence.scan_status == ScanStatus.PENDING and not evidence.is_downloadable
    assert sent_tasks == []  # nothing leaves before the commit
    assert len(callbacks) == 1
    callbacks[0]()
    assert sent_tasks == [("indicators.tasks.scan_evidence", {"evidence_id": evidence.pk})]
    # A broker outage after the commit does not turn the committed upload into an error: the file stays pending.
    monkeypatch.setattr(tasking, "current_app", mock.Mock(send_task=mock.Mock(side_effect=OSError("broker down"))))
    with django_capture_on_commit_callbacks(execute=True):
        second = evidence_upload(value=draft, uploaded_file=upload("b.csv", csv_bytes()), by=tenants.editor)
    second.refresh_from_db()
    assert second.scan_status == ScanStatus.PENDING


def test_without_a_scanner_nothing_is_sent(tenants, draft, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        evidence = evidence_upload(value=draft, uploaded_file=upload("a.pdf", pdf_bytes()), by=tenants.editor)
    assert callbacks == [] and evidence.scan_status == ScanStatus.NOT_SCANNED


def test_scan_task_marks_clean_and_infected(client, tenants, draft, scanner, sent_tasks, django_capture_on_commit_callbacks):
    clean = evidence_upload(value=draft, uploaded_file=upload("sain.csv", csv_bytes()), by=tenants.editor)
    infected = evidence_upload(value=draft, uploaded_file=upload("eicar.csv", b"code;valeur\n" + EICAR), by=tenants.editor)
    assert scan_evidence(clean.pk) == ScanStatus.CLEAN
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert scan_evidence(infected.pk) == ScanStatus.INFECTED
    clean.refresh_from_db()
    infected.refresh_from_db()
    assert (clean.scan_status, clean.scan_detail, clean.scanned_at is not None) == ("clean", "Aucune menace détectée", True)
    assert (infected.scan_status, infected.scan_detail) == ("infected", "Signature détectée : Eicar-Signature")
    assert scanner.received == [csv_bytes(), b"code;valeur\n" + EICAR]
    assert len(callbacks) == 1  # the uploader is told by e-mail, after commit
    actions = AuditRecord.objects.filter(action="evidence.scan").values_list("object_id", "changes")
    assert sorted(actions) == sorted(
        [
            (str(clean.pk), {"scan_status": ["pending", "clean"], "scan_detail": ["", "Aucune menace détectée"]}),
            (str(infected.pk), {"scan_status": ["pending", "infected"], "scan_detail": ["", "Signature détectée : Eicar-Signature"]}),
        ]
    )
    # A redelivered message changes nothing.
    assert scan_evidence(clean.pk) == ScanStatus.CLEAN
    assert AuditRecord.objects.filter(action="evidence.scan").count() == 2
    client.force_login(tenants.ars_a)
    assert client.get(download_url(infected)).status_code == 409
    assert body_of(client.get(download_url(clean))) == csv_bytes()


def test_scan_error_leaves_the_file_pending_and_retries(tenants, draft, scanner, settings, sent_tasks):
    evidence = evidence_upload(value=draft, uploaded_file=upload("a.pdf", pdf_bytes()), by=tenants.editor)
    scanner.reply = b"INSTREAM size limit exceeded. ERROR\0"
    with mock.patch.object(scan_evidence, "retry", side_effect=RuntimeError("retry")) as retry:
        with pytest.raises(RuntimeError, match="retry"):
            scan_evidence(evidence.pk)
    (call,) = retry.call_args_list
    assert isinstance(call.kwargs["exc"], ScanError) and call.kwargs["countdown"] == 30
    evidence.refresh_from_db()
    assert evidence.scan_status == ScanStatus.PENDING and not AuditRecord.objects.filter(action="evidence.scan").exists()


def test_the_verdict_also_covers_the_copies_taken_by_a_correction(tenants, draft, scanner, sent_tasks):
    evidence = evidence_upload(value=draft, uploaded_file=upload("a.pdf", pdf_bytes()), by=tenants.editor)
    value_declare(value=draft, by=tenants.director)
    correction = value_correct(value=draft, reason="Erreur", data=rate(85, 100), by=tenants.editor)
    copy = Evidence.objects.get(value=correction)
    assert copy.scan_status == ScanStatus.PENDING and copy.file.name == evidence.file.name
    scan_evidence(evidence.pk)
    copy.refresh_from_db()
    assert copy.scan_status == ScanStatus.CLEAN
    assert len(scanner.received) == 1


def test_pending_scans_are_sent_again_by_the_safety_net(tenants, draft, scanner, sent_tasks):
    with mock.patch.object(scan_evidence, "delay") as delay:
        evidence = evidence_upload(value=draft, uploaded_file=upload("a.pdf", pdf_bytes()), by=tenants.editor)
        assert requeue_pending_evidence(older_than_minutes=30) == 0
        Evidence.objects.filter(pk=evidence.pk).update(uploaded_at=evidence.uploaded_at.replace(year=2020))
        assert requeue_pending_evidence(older_than_minutes=30) == 1
        delay.assert_called_once_with(evidence.pk)
