"""Hostile files are refused in every upload path (issue 15, item 5 « Files »): PDFs with active content, PDF/HTML
polyglots, zip bombs, Office files with macros or external links, XML entities; unscanned files are never served when
scanning is required, and production refuses to start without a scanner (`check --deploy`)."""

import html
import io
import zipfile

import openpyxl
import pikepdf
import pytest
from defusedxml.common import EntitiesForbidden
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from ami.attachments import attachment_upload
from ami.services import pre_candidature_of
from funding.ght import services as ght_services
from hopen.models import Role
from indicators.bulk import parsing
from indicators.evidence import evidence_check_file, evidence_upload
from indicators.file_safety import ZIP_MAX_ENTRIES, UnsafeFile
from indicators.models import Evidence, ScanStatus
from indicators.services import value_save_draft
from tests.factories import user_with_role
from tests.hopen.test_settings import PRODUCTION, run_manage
from tests.indicators.conftest import catalogue, hopen_programme, indicator, rate  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_scanner(settings, tmp_path):
    settings.CLAMD_SOCKET = settings.CLAMD_HOST = ""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                    "OPTIONS": {"location": str(tmp_path / "private"), "base_url": None}},
    }


# --- PDF ----------------------------------------------------------------------------------------------------------


def pdf(build=None, **save_options) -> bytes:
    document = pikepdf.new()
    document.add_blank_page()
    if build:
        build(document)
    out = io.BytesIO()
    document.save(out, **save_options)
    return out.getvalue()


def open_action_js(document):
    document.Root.OpenAction = document.make_indirect(pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS="app.alert(1)"))


def names_tree_js(document):
    action = document.make_indirect(pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert(2)")))
    document.Root.Names = pikepdf.Dictionary(JavaScript=pikepdf.Dictionary(Names=pikepdf.Array(["a", action])))


def launch_on_page(document):
    document.pages[0].obj.AA = pikepdf.Dictionary(O=pikepdf.Dictionary(S=pikepdf.Name.Launch, F="calc.exe"))


def embedded_file(document):
    document.attachments["facture.exe"] = pikepdf.AttachedFileSpec(document, b"MZ\x90\x00", mime_type="application/octet-stream")


def check(name, content):
    return evidence_check_file(SimpleUploadedFile(name, content))


def test_a_plain_pdf_is_accepted():
    assert check("pv.pdf", pdf()).content_type == "application/pdf"
    # Object streams (compressed objects) are read too, and a plain one still passes.
    assert check("pv.pdf", pdf(object_stream_mode=pikepdf.ObjectStreamMode.generate)).size > 0


@pytest.mark.parametrize("build, reason", [
    (open_action_js, "du JavaScript"),
    (names_tree_js, "du JavaScript"),
    (launch_on_page, "une action « Launch »"),
    (embedded_file, "des fichiers incorporés"),
])
@pytest.mark.parametrize("mode", [pikepdf.ObjectStreamMode.preserve, pikepdf.ObjectStreamMode.generate])
def test_pdf_active_content_is_refused_with_its_reason(build, reason, mode):
    """JavaScript, launch actions and embedded files, also hidden in compressed object streams."""
    with pytest.raises(UnsafeFile, match=f"contient {reason}"):
        check("piece.pdf", pdf(build, object_stream_mode=mode))


def test_a_pdf_html_polyglot_is_refused():
    polyglot = b"%PDF-1.4\n%<html><script>alert(document.domain)</script></html>\n" + pdf()[9:]
    with pytest.raises(UnsafeFile, match="polyglotte"):
        check("piece.pdf", polyglot)


def test_a_password_protected_or_broken_pdf_is_refused():
    locked = pdf(encryption=pikepdf.Encryption(user="secret", owner="secret"))
    with pytest.raises(UnsafeFile, match="mot de passe"):
        check("piece.pdf", locked)
    with pytest.raises(UnsafeFile, match="endommagé"):
        check("piece.pdf", b"%PDF-1.4\n" + b"\x00garbage" * 50)


# --- Office containers ---------------------------------------------------------------------------------------------


def xlsx(rows=(("finess", "indicateur"),)) -> bytes:
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(list(row))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def rezip(content: bytes, *, replace=None, add=None, drop=()) -> bytes:
    """A copy of a zip with some entries replaced, added or dropped."""
    replace, add = replace or {}, add or {}
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename in drop:
                continue
            target.writestr(info.filename, replace.get(info.filename, source.read(info)))
        for name, data in add.items():
            target.writestr(name, data)
    return out.getvalue()


BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(f'<!ENTITY lol{i} "{("&lol%s;" % ("" if i == 1 else i - 1)) * 10}">'.encode() for i in range(1, 10))
    + b']>\n<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1">'
    b'<c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row></sheetData></worksheet>'
)
EXTERNAL_LINK_RELS = (
    b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
    b'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    b'externalLinkPath" Target="file:///\\\\attaquant\\partage\\classeur.xlsx" TargetMode="External"/></Relationships>'
)


def zip_bomb() -> bytes:
    """A workbook whose sheet inflates 1,000 times: 60 MB of blanks in about 60 KB."""
    sheet = b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">' + b" " * (60 * 1024 * 1024) + b"<sheetData/></worksheet>"
    return rezip(xlsx(), replace={"xl/worksheets/sheet1.xml": sheet})


def too_many_entries() -> bytes:
    return rezip(xlsx(), add={f"xl/media/image{i}.png": b"" for i in range(ZIP_MAX_ENTRIES + 1)})


def with_external_link() -> bytes:
    return rezip(xlsx(), add={
        "xl/externalLinks/externalLink1.xml": b'<externalLink xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"/>',
        "xl/externalLinks/_rels/externalLink1.xml.rels": EXTERNAL_LINK_RELS,
    })


def with_external_relationship_only() -> bytes:
    return rezip(xlsx(), add={"xl/worksheets/_rels/sheet1.xml.rels": EXTERNAL_LINK_RELS.replace(b"externalLinkPath", b"oleObject")})


def with_macros() -> bytes:
    return rezip(xlsx(), add={"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0macro"})


def with_macro_content_type() -> bytes:
    source = zipfile.ZipFile(io.BytesIO(xlsx()))
    types = source.read("[Content_Types].xml").replace(
        b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
        b"application/vnd.ms-excel.sheet.macroEnabled.main+xml",
    )
    return rezip(xlsx(), replace={"[Content_Types].xml": types})


def with_billion_laughs() -> bytes:
    return rezip(xlsx(), replace={"xl/worksheets/sheet1.xml": BILLION_LAUGHS})


HOSTILE_WORKBOOKS = [
    (zip_bomb, "démesuré"),
    (too_many_entries, "trop d'éléments"),
    (with_external_link, "liens externes"),
    (with_external_relationship_only, "liens externes"),
    (with_macros, "macros"),
    (with_macro_content_type, "macros"),
    (with_billion_laughs, "entités XML"),
]


@pytest.mark.parametrize("make, message", HOSTILE_WORKBOOKS)
def test_hostile_workbooks_are_refused_as_documents_and_as_imports(make, message):
    content = make()
    with pytest.raises(UnsafeFile, match=message):
        check("tableau.xlsx", content)
    with pytest.raises(UnsafeFile, match=message):
        parsing.bulk_parse(content, "saisie.xlsx")


def test_a_plain_workbook_and_a_hyperlink_pass():
    """A hyperlink is an external relationship the reader may follow; nothing is fetched or run: accepted."""
    hyperlink = EXTERNAL_LINK_RELS.replace(b"externalLinkPath", b"hyperlink").replace(b"file:///", b"https://")
    content = rezip(xlsx(), add={"xl/worksheets/_rels/sheet1.xml.rels": hyperlink})
    assert check("tableau.xlsx", content).content_type.endswith("spreadsheetml.sheet")
    assert parsing.bulk_parse(xlsx([parsing.REQUIRED_COLUMNS]), "saisie.xlsx") == []


def test_odf_macros_and_dde_links_are_refused():
    base = io.BytesIO()
    with zipfile.ZipFile(base, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("META-INF/manifest.xml", "<manifest/>")
        archive.writestr("content.xml", "<office:document-content/>")
    plain = base.getvalue()
    assert check("tableau.ods", plain).content_type == "application/vnd.oasis.opendocument.spreadsheet"
    with pytest.raises(UnsafeFile, match="macros"):
        check("tableau.ods", rezip(plain, add={"Basic/Standard/Module1.xml": "<script:module/>"}))
    dde = "<office:document-content><table:dde-source office:dde-application='cmd'/></office:document-content>"
    with pytest.raises(UnsafeFile, match="liens externes"):
        check("tableau.ods", rezip(plain, replace={"content.xml": dde}))


def test_openpyxl_itself_refuses_xml_entities():
    """Defence in depth: even without the container check, the parser does not expand entities (defusedxml)."""
    assert openpyxl.DEFUSEDXML is True
    with pytest.raises(ValueError) as refused:
        workbook = openpyxl.load_workbook(io.BytesIO(with_billion_laughs()), read_only=True)
        list(workbook.active.iter_rows(values_only=True))
    causes = []
    error = refused.value
    while error is not None:
        causes.append(error)
        error = error.__cause__ or error.__context__
    assert any(isinstance(cause, EntitiesForbidden) for cause in causes)


# --- Every upload path runs the checks ------------------------------------------------------------------------------


def test_every_document_path_refuses_a_pdf_with_javascript(tenants, catalogue):  # noqa: F811
    hostile = pdf(open_action_js)
    draft = value_save_draft(establishment=tenants.member, indicator=indicator("P1.1"), data=rate(80, 100), by=tenants.editor)
    with pytest.raises(UnsafeFile, match="JavaScript"):
        evidence_upload(value=draft, uploaded_file=SimpleUploadedFile("a.pdf", hostile), by=tenants.editor)
    with pytest.raises(UnsafeFile, match="JavaScript"):
        attachment_upload(pre_candidature=pre_candidature_of(tenants.member, hopen_programme()),
                          uploaded_file=SimpleUploadedFile("a.pdf", hostile), by=tenants.editor)
    support_editor = user_with_role(Role.ESTABLISHMENT_EDITOR, establishment=tenants.support)
    with pytest.raises(UnsafeFile, match="JavaScript"):
        ght_services.master_plan_upload(ght=tenants.ght, uploaded_file=SimpleUploadedFile("a.pdf", hostile), by=support_editor)


def test_the_referential_import_refuses_a_zip_bomb(client, tenants, catalogue):  # noqa: F811
    client.force_login(tenants.dgos)
    response = client.post("/api/v1/prior-results/import/", {"file": SimpleUploadedFile("hn.xlsx", zip_bomb()), "dry_run": "true"})
    assert response.status_code == 400 and "zip bomb" in response.json()["detail"]


# --- Unscanned files are not served when scanning is required -------------------------------------------------------


def test_unscanned_documents_are_served_only_when_scanning_is_not_required(client, tenants, catalogue, settings):  # noqa: F811
    draft = value_save_draft(establishment=tenants.member, indicator=indicator("P1.1"), data=rate(80, 100), by=tenants.editor)
    evidence = evidence_upload(value=draft, uploaded_file=SimpleUploadedFile("a.csv", b"a;b\n1;2\n"), by=tenants.editor)
    assert evidence.scan_status == ScanStatus.NOT_SCANNED
    client.force_login(tenants.ars_a)
    url = reverse("indicators:evidence_download", kwargs={"evidence_id": evidence.pk})
    assert client.get(url).status_code == 200
    settings.FILE_SCAN_REQUIRED = True
    response = client.get(url)
    assert response.status_code == 409 and "en cours d'analyse antivirus" in html.unescape(response.content.decode())
    assert not Evidence.objects.get(pk=evidence.pk).is_downloadable


def test_unscanned_ami_and_ght_documents_are_not_served_when_scanning_is_required(client, tenants, catalogue, settings):  # noqa: F811
    attachment = attachment_upload(pre_candidature=pre_candidature_of(tenants.member, hopen_programme()),
                                   uploaded_file=SimpleUploadedFile("a.csv", b"a;b\n1;2\n"), by=tenants.editor)
    support_editor = user_with_role(Role.ESTABLISHMENT_EDITOR, establishment=tenants.support)
    plan = ght_services.master_plan_upload(ght=tenants.ght, uploaded_file=SimpleUploadedFile("sdsi.pdf", pdf()), by=support_editor)
    settings.FILE_SCAN_REQUIRED = True
    client.force_login(tenants.editor)
    response = client.get(reverse("ami:attachment_download", args=[tenants.member.finess, attachment.pk]))
    assert response.status_code == 409 and "en cours d'analyse antivirus" in html.unescape(response.content.decode())
    client.force_login(support_editor)
    response = client.get(f"/ght/{tenants.ght.code}/gouvernance/sdsi/{plan.pk}/telecharger/", follow=True)
    assert "en cours d'analyse antivirus" in html.unescape(response.content.decode())
    assert not response.get("Content-Disposition")


# --- Production: no scanner, no start ----------------------------------------------------------------------------


def test_check_deploy_fails_in_production_without_a_scanner():
    production = {key: value for key, value in PRODUCTION.items() if key != "CLAMD_HOST"}
    result = run_manage("check", "--deploy", **{**production, "CLAMD_HOST": "", "CLAMD_SOCKET": ""})
    assert result.returncode != 0
    assert "hopen.E151" in result.stderr + result.stdout and "CLAMD_SOCKET" in result.stderr + result.stdout
