"""Hostile files: the content checks every upload passes before it is stored or parsed, and the virus scan at upload.

Every upload path calls these: the documents (justificatory documents, AMI attachments, GHT documents, through
`indicators.evidence.evidence_check_file`) and the imports (bulk entry and referential imports, through
`indicators.bulk.parsing.read_rows`). What is refused, with a French message naming the reason:

- PDF (ISO 32000-1): a file not starting with its `%PDF-` header or carrying HTML markup in its first bytes (a PDF/HTML
  polyglot that a browser could render as a page); active content — JavaScript (`/JS`, `/S /JavaScript`, the
  `/JavaScript` name tree, an `/OpenAction` or `/AA` running it), `/Launch` actions (they start a program), embedded
  files (`/EmbeddedFiles`, `/EF`); a password-protected or unreadable PDF, whose content cannot be checked. Every
  object of the file is looked at, reachable from the catalogue or not (pikepdf / qpdf).
- Office containers (OOXML .xlsx/.docx, ODF .ods/.odt — zip files): the zip entries are bounded from the central
  directory before anything inflates them (count, size of each entry, total size, compression ratio: a zip bomb is
  refused, not unpacked); macros (`vbaProject.bin`, ActiveX, a « macroEnabled » content type, ODF `Basic/` or
  `Scripts/`, script event listeners) and external links (`xl/externalLinks/`, a relationship with
  `TargetMode="External"` other than a hyperlink — a remote template, an OLE object or an image fetched from
  elsewhere —, ODF DDE links and linked sheets or sections, Word `DDEAUTO` fields); a DTD (`<!DOCTYPE`, `<!ENTITY`):
  OOXML and ODF parts never declare one, and entities are how an XML file expands a few bytes into gigabytes. The
  parsers are safe too: with `defusedxml` installed openpyxl refuses entities, and its lxml parser does not resolve
  them.
- Any file: ClamAV (`indicators.scanning`), while the user waits. A document whose scan cannot be done at once stays
  pending for the background scan (never served before its verdict); an import, which is not kept, is refused.
"""

import io
import logging
import zipfile
from xml.etree.ElementTree import ParseError

import pikepdf
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as safe_fromstring
from django.conf import settings

from hopen.exceptions import ApplicationError

from .scanning import ScanError, ScanResult, scan_file, scanner_configured

logger = logging.getLogger(__name__)


class UnsafeFile(ApplicationError):
    """The file is refused for its content (active content, zip bomb, virus…); the message names the reason."""


# --- PDF ----------------------------------------------------------------------------------------------------------

PDF_HEADER = b"%PDF-"
# A browser decides that a file is HTML from its first bytes (WHATWG MIME sniffing reads up to 1,445 bytes): no markup
# there, whatever comes after the header.
POLYGLOT_WINDOW = 4096
HTML_MARKERS = (
    b"<html", b"<script", b"<body", b"<head", b"<iframe", b"<svg", b"<!doctype html", b"<object", b"<embed", b"<meta",
)
PDF_MAX_NODES = 2_000_000  # dictionaries and arrays looked at: a PDF deeper or larger than this is not a document
PDF_MAX_DEPTH = 64
JAVASCRIPT = "du JavaScript"
LAUNCH = "une action « Launch » qui lance un programme"
EMBEDDED = "des fichiers incorporés"
PDF_REASON_ORDER = (JAVASCRIPT, LAUNCH, EMBEDDED)


def check_pdf(fileobj, name: str) -> None:
    """Refuse a PDF/HTML polyglot and a PDF with JavaScript, launch actions or embedded files (UnsafeFile)."""
    fileobj.seek(0)
    head = fileobj.read(POLYGLOT_WINDOW)
    fileobj.seek(0)
    if not head.startswith(PDF_HEADER) or any(marker in head.lower() for marker in HTML_MARKERS):
        raise UnsafeFile(
            f"Le fichier « {name} » n'est pas un PDF ordinaire : il contient du HTML avant ou autour de son en-tête "
            "(fichier « polyglotte » qu'un navigateur pourrait exécuter). Enregistrez de nouveau le document en PDF."
        )
    try:
        with pikepdf.open(io.BytesIO(fileobj.read())) as pdf:
            reasons = pdf_active_content(pdf)
    except pikepdf.PasswordError as exc:
        raise UnsafeFile(
            f"Le fichier « {name} » est protégé par un mot de passe : son contenu ne peut pas être vérifié. "
            "Déposez-le sans mot de passe."
        ) from exc
    except (pikepdf.PdfError, RecursionError, ValueError) as exc:
        raise UnsafeFile(f"Le fichier « {name} » est endommagé : il ne s'ouvre pas comme un document PDF.") from exc
    finally:
        fileobj.seek(0)
    if reasons:
        listed = " et ".join(reason for reason in PDF_REASON_ORDER if reason in reasons)
        raise UnsafeFile(
            f"Le fichier « {name} » contient {listed} : ce contenu actif est refusé. Imprimez ou exportez le "
            "document en PDF simple (« Enregistrer au format PDF »), puis déposez-le de nouveau."
        )


def pdf_active_content(pdf) -> set:
    """The kinds of active content found in an open pikepdf document (empty for a plain document)."""
    reasons = set()
    names = pdf.Root.get("/Names")
    if isinstance(names, pikepdf.Dictionary):
        if "/JavaScript" in names:
            reasons.add(JAVASCRIPT)
        if "/EmbeddedFiles" in names:
            reasons.add(EMBEDDED)
    budget = [PDF_MAX_NODES]
    for obj in pdf.objects:  # every indirect object, also those no page refers to
        _inspect(obj, reasons, budget, 0)
    return reasons


def _inspect(obj, reasons: set, budget: list, depth: int) -> None:
    """Walk an object and its direct children (indirect ones are visited from `pdf.objects`)."""
    budget[0] -= 1
    if budget[0] < 0 or depth > PDF_MAX_DEPTH:
        raise ValueError("PDF trop complexe")
    if isinstance(obj, pikepdf.Stream):
        obj = obj.stream_dict
    if isinstance(obj, pikepdf.Dictionary):
        keys = set(obj.keys())
        if "/JS" in keys:
            reasons.add(JAVASCRIPT)
        action = obj.get("/S") if "/S" in keys else None
        if action == pikepdf.Name.JavaScript:
            reasons.add(JAVASCRIPT)
        elif action == pikepdf.Name.Launch:
            reasons.add(LAUNCH)
        if "/EF" in keys or obj.get("/Type") == pikepdf.Name.EmbeddedFile or "/EmbeddedFiles" in keys:
            reasons.add(EMBEDDED)
        children = (obj.get(key) for key in keys)
    elif isinstance(obj, pikepdf.Array):
        children = iter(obj)
    else:
        return
    for child in children:
        if isinstance(child, pikepdf.Dictionary | pikepdf.Array | pikepdf.Stream) and not child.is_indirect:
            _inspect(child, reasons, budget, depth + 1)


# --- Office containers (zip) ---------------------------------------------------------------------------------------

ZIP_MAX_ENTRIES = 2_000
ZIP_MAX_ENTRY_SIZE = 64 * 1024 * 1024
ZIP_MAX_TOTAL_SIZE = 100 * 1024 * 1024
# Inflated ÷ compressed size of one entry: XML compresses about 10:1, a zip bomb 1,000:1 and more. The bound (Apache
# POI's) applies above a floor: a tiny entry of blanks may compress far better without harm.
ZIP_MAX_RATIO = 100
ZIP_RATIO_FLOOR = 1024 * 1024
RELS_MAX_SIZE = 2 * 1024 * 1024
HYPERLINK = "hyperlink"  # the one external relationship allowed: a link the reader may follow, nothing fetched

MACRO_NAMES = ("vbaproject.bin", "vbadata.xml", "vbaprojectsignature.bin")
MACRO_FOLDERS = ("basic/", "scripts/")  # ODF (LibreOffice Basic, scripts)
EXTERNAL_LINK_FOLDER = "xl/externallinks/"
MACRO_CONTENT_TYPE = b"macroenabled"
XML_SUFFIXES = (".xml", ".rels", ".vml")
DTD_MARKERS = (b"<!DOCTYPE", b"<!ENTITY")
# In the XML parts: fetching or running something outside the document.
EXTERNAL_MARKERS = (
    b"<table:dde-source", b"<office:dde-source", b"<text:dde-connection-decl", b"<table:dde-link",
    b"<table:table-source", b"<text:section-source", b"DDEAUTO",
)
SCRIPT_MARKERS = (b"<script:event-listener", b"vnd.sun.star.script:")
MARKER_OVERLAP = max(len(marker) for marker in (*DTD_MARKERS, *EXTERNAL_MARKERS, *SCRIPT_MARKERS))

MACROS = "des macros"
EXTERNAL = "des liens externes (classeur lié, modèle ou objet distant, lien DDE)"
DTD = "une déclaration DTD ou des entités XML"


def check_office(fileobj, name: str, *, unreadable: str = "") -> None:
    """Refuse a zip bomb and an Office document with macros, external links or XML entities (UnsafeFile);
    `unreadable` is the message for a file that is no zip at all (the caller's own words for a damaged file)."""
    fileobj.seek(0)
    try:
        with zipfile.ZipFile(fileobj) as archive:
            infos = archive.infolist()
            _check_bounds(infos, name)
            reasons = _office_reasons(archive, infos)
    except UnsafeFile:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, KeyError, ValueError,
            NotImplementedError, RuntimeError) as exc:
        # RuntimeError: an encrypted entry; NotImplementedError: an unknown compression method.
        raise UnsafeFile(
            unreadable or f"Le fichier « {name} » est endommagé : son contenu compressé ne se lit pas."
        ) from exc
    finally:
        fileobj.seek(0)
    if reasons:
        listed = " et ".join(reason for reason in (MACROS, EXTERNAL, DTD) if reason in reasons)
        raise UnsafeFile(
            f"Le fichier « {name} » contient {listed} : ce contenu est refusé. Enregistrez une copie sans macros ni "
            "liaisons (« Rompre les liaisons », format .xlsx/.docx/.ods/.odt ordinaire), puis déposez-la."
        )


def _check_bounds(infos, name: str) -> None:
    """From the central directory only: nothing is inflated before the bounds hold (zipfile never inflates more
    than an entry's declared size, so the declared sizes bound what the parsers will read)."""
    bomb = (
        f"Le fichier « {name} » est refusé : une fois décompressé il serait démesuré (archive piégée, « zip bomb »). "
        "Enregistrez de nouveau le document ou découpez-le."
    )
    if len(infos) > ZIP_MAX_ENTRIES:
        raise UnsafeFile(
            f"Le fichier « {name} » contient trop d'éléments compressés ({len(infos)}, au plus {ZIP_MAX_ENTRIES})."
        )
    total = 0
    for info in infos:
        if info.flag_bits & 0x1:
            raise UnsafeFile(f"Le fichier « {name} » contient des éléments chiffrés : déposez-le sans mot de passe.")
        total += info.file_size
        if info.file_size > ZIP_MAX_ENTRY_SIZE or total > ZIP_MAX_TOTAL_SIZE:
            raise UnsafeFile(bomb)
        if info.file_size > ZIP_RATIO_FLOOR and info.file_size > ZIP_MAX_RATIO * max(info.compress_size, 1):
            raise UnsafeFile(bomb)


def _office_reasons(archive, infos) -> set:
    reasons = set()
    for info in infos:
        entry = info.filename.replace("\\", "/").lower()
        if entry.rsplit("/", 1)[-1] in MACRO_NAMES or "activex" in entry or entry.startswith(MACRO_FOLDERS):
            reasons.add(MACROS)
        if entry.startswith(EXTERNAL_LINK_FOLDER):
            reasons.add(EXTERNAL)
        if entry.endswith(".rels") and _has_external_relationship(archive, info):
            reasons.add(EXTERNAL)
        if entry.endswith(XML_SUFFIXES) or entry == "[content_types].xml":
            reasons |= _xml_markers(archive, info, content_types=entry == "[content_types].xml")
    return reasons


def _has_external_relationship(archive, info) -> bool:
    if info.file_size > RELS_MAX_SIZE:
        raise ValueError("relations démesurées")
    try:
        root = safe_fromstring(archive.read(info))
    except (ParseError, DefusedXmlException):
        return False  # a DTD is reported by `_xml_markers`; an unreadable part makes no link
    for relationship in root:
        if relationship.get("TargetMode", "").lower() == "external":
            if relationship.get("Type", "").rsplit("/", 1)[-1] != HYPERLINK:
                return True
    return False


def _xml_markers(archive, info, *, content_types: bool) -> set:
    """One streaming pass over an XML part (already bounded in size) looking for the markers."""
    found = set()
    tail = b""
    with archive.open(info) as stream:
        while chunk := stream.read(256 * 1024):
            window = tail + chunk
            if any(marker in window for marker in DTD_MARKERS):
                found.add(DTD)
            if any(marker in window for marker in EXTERNAL_MARKERS):
                found.add(EXTERNAL)
            if any(marker in window for marker in SCRIPT_MARKERS) or (
                content_types and MACRO_CONTENT_TYPE in window.lower()
            ):
                found.add(MACROS)
            tail = window[-MARKER_OVERLAP:]
    return found


# --- Every upload -------------------------------------------------------------------------------------------------

OFFICE_EXTENSIONS = {"xlsx", "docx", "ods", "odt"}


def check_content(fileobj, *, name: str, extension: str) -> None:
    """The content checks of a file whose type was already matched to its extension."""
    if extension == "pdf":
        check_pdf(fileobj, name)
    elif extension in OFFICE_EXTENSIONS:
        check_office(fileobj, name)


def scan_upload(fileobj, *, name: str, deferrable: bool) -> ScanResult | None:
    """Scan a file with ClamAV while the user waits; an infected file raises UnsafeFile.

    Returns the clean verdict, or None when no scan was done: no scanner configured (then an import is refused if
    scanning is required), the scan at upload turned off (`CLAMD_SCAN_ON_UPLOAD`), or the daemon not answering. A
    `deferrable` file (a stored document) then waits for the background scan; a file that is not kept (an import) is
    refused, since nothing would scan it later.
    """
    unavailable = (
        f"L'analyse antivirus du fichier « {name} » n'a pas pu être faite : l'antivirus ne répond pas. "
        "Rien n'a été enregistré ; déposez de nouveau le fichier dans quelques minutes."
    )
    if not scanner_configured():
        if not deferrable and getattr(settings, "FILE_SCAN_REQUIRED", False):
            raise UnsafeFile(unavailable)
        return None
    if deferrable and not getattr(settings, "CLAMD_SCAN_ON_UPLOAD", True):
        return None
    fileobj.seek(0)
    try:
        result = scan_file(fileobj, timeout=getattr(settings, "CLAMD_UPLOAD_TIMEOUT", 20))
    except (ScanError, OSError) as exc:
        logger.warning("Analyse antivirus de « %s » au dépôt impossible : %s", name, exc)
        if deferrable:
            return None
        raise UnsafeFile(unavailable) from exc
    finally:
        fileobj.seek(0)
    if result.infected:
        logger.warning("Fichier « %s » refusé au dépôt par l'antivirus : %s", name, result.signature)
        raise UnsafeFile(
            f"Le fichier « {name} » est infecté ({result.detail}) : il est refusé et n'a pas été enregistré. "
            "Analysez votre poste et déposez une version saine du document."
        )
    return result


def check_import(content: bytes, filename: str, *, unreadable: str = "") -> None:
    """Every import (bulk entry, referential imports): a workbook's container checks, then the virus scan."""
    name = filename or "fichier"
    stream = io.BytesIO(content)
    if content.startswith(b"PK\x03\x04"):
        check_office(stream, name, unreadable=unreadable)
    scan_upload(stream, name=name, deferrable=False)
