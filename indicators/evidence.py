"""Pièces justificatives: the files that justify an indicator value.

Annex 4 of the instruction: the DGOS audits selected dossiers "sur la base des pièces justificatives";
§5.3.1: conformity to the prerequisites is measured by "la saisie … de la valeur des indicateurs et de la
totalité des pièces justificatives". So the files are kept as evidence: each one is checked (type sniffed
from its content, size, name), stored privately under a random key with its SHA-256, scanned for viruses
when a scanner is configured, and never really deleted (a deletion hides it; the file stays for the audit).

Writes are the services `evidence_upload`, `evidence_delete` and `evidence_record_scan`; each asks the
permission policy and leaves its audit record in the same transaction.
"""

import hashlib
import logging
import unicodedata
import zipfile
from dataclasses import dataclass

import magic
from django.conf import settings
from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone

from hopen import permissions
from hopen.audit import audit_record
from hopen.exceptions import ApplicationError, PermissionRefused
from hopen.notifications import email_after_commit
from hopen.tasking import enqueue_on_commit

from .file_safety import UnsafeFile, check_content, scan_upload
from .models import Evidence, IndicatorValue, ScanStatus, ValueStatus
from .scanning import ScanResult, scanner_configured
from .state.writer import refresh_attainment

logger = logging.getLogger(__name__)

CHUNK_SIZE = 64 * 1024
# How much of the file libmagic sees: enough for the zip containers (OOXML, ODF) to be recognised.
SNIFF_SIZE = 256 * 1024
MAX_NAME_LENGTH = 150

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ODT = "application/vnd.oasis.opendocument.text"
ODS = "application/vnd.oasis.opendocument.spreadsheet"

# Extension → the content types libmagic reports for real files of that kind.
EXTENSION_TYPES = {
    "pdf": {"application/pdf"},
    "odt": {ODT},
    "ods": {ODS},
    "docx": {DOCX},
    "xlsx": {XLSX},
    # libmagic reports plain text for most CSV files, text/csv for some; never anything richer.
    "csv": {"text/csv", "text/plain", "application/csv"},
    "png": {"image/png"},
    "jpg": {"image/jpeg"},
    "jpeg": {"image/jpeg"},
}
ACCEPTED_FORMATS_LABEL = "PDF, ODT, ODS, DOCX, XLSX, CSV, PNG, JPEG"
ACCEPT_ATTRIBUTE = ",".join(f".{ext}" for ext in EXTENSION_TYPES)

# Office documents are zip containers. libmagic names them when their first entries say so; for the
# others it reports a bare zip: then the container's own structure decides (see `_container_matches`).
ZIP_CONTAINER_EXTENSIONS = {"docx", "xlsx", "odt", "ods"}
GENERIC_CONTAINER_TYPES = {"application/zip", "application/octet-stream"}
ODF_MIMETYPES = {"odt": ODT, "ods": ODS}
OOXML_FOLDERS = {"docx": "word/", "xlsx": "xl/"}

# Active content: refused whatever the extension (a browser would run its scripts).
MARKUP_TYPES = {"text/html", "image/svg+xml", "application/xhtml+xml", "text/xml", "application/xml"}
MARKUP_MARKERS = (b"<html", b"<svg", b"<script", b"<!doctype", b"<?xml", b"<iframe", b"<body", b"<object", b"<embed")
TEXT_EXTENSIONS = {"csv"}

TYPE_LABELS = {
    "application/pdf": "document PDF",
    ODT: "texte OpenDocument (ODT)",
    ODS: "tableur OpenDocument (ODS)",
    DOCX: "document Word (DOCX)",
    XLSX: "classeur Excel (XLSX)",
    "text/csv": "texte (CSV)",
    "text/plain": "texte",
    "image/png": "image PNG",
    "image/jpeg": "image JPEG",
    "image/gif": "image GIF",
    "text/html": "page HTML",
    "image/svg+xml": "image SVG",
    "application/zip": "archive ZIP",
    "application/x-dosexec": "programme exécutable",
    "application/x-executable": "programme exécutable",
    "application/msword": "document Word 97-2003 (DOC)",
    "application/vnd.ms-excel": "classeur Excel 97-2003 (XLS)",
    "application/x-empty": "fichier vide",
}


class EvidenceRefused(UnsafeFile):
    """The file itself is refused (type, size, content); the message names it and says why."""


# ---------------------------------------------------------------------------------------------- formats


def format_size(size: int) -> str:
    """A size in French notation, binary multiples: « 512 octets », « 1,2 Mo », « 20 Mo »."""
    size = int(size or 0)
    if size < 1024:
        return f"{size}\u00a0octet" + ("s" if size > 1 else "")
    value = float(size)
    for unit in ("Ko", "Mo", "Go", "To"):
        value /= 1024
        if value < 1024 or unit == "To":
            break
    text = f"{value:.1f}".rstrip("0").rstrip(".")
    return f"{text.replace('.', ',')}\u00a0{unit}"


def type_label(content_type: str) -> str:
    return TYPE_LABELS.get(content_type, content_type or "inconnu")


def sanitize_filename(name) -> str:
    """The name shown to users: no directories, no control or invisible characters, a safe length,
    the extension kept. It is never used to store the file (see `evidence_storage_key`)."""
    name = unicodedata.normalize("NFC", str(name or ""))
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = []
    for character in name:
        category = unicodedata.category(character)
        if character.isspace():
            cleaned.append(" ")
        elif category[0] != "C":  # drops controls (NUL…), format characters (right-to-left override…), unassigned
            cleaned.append(character)
    name = " ".join("".join(cleaned).split())
    name = name.strip(" .")  # no hidden files, no Windows trailing dots
    stem, dot, extension = name.rpartition(".")
    if not dot:
        stem, extension = name, ""
    stem = stem.strip(" .")
    if len(extension) > 10:  # not an extension worth keeping apart
        stem, extension = name, ""
    if not stem:
        stem = "document"
    room = MAX_NAME_LENGTH - (len(extension) + 1 if extension else 0)
    stem = stem[:room].rstrip(" .")
    return f"{stem}.{extension}" if extension else stem


def extension_of(name: str) -> str:
    stem, dot, extension = name.rpartition(".")
    return extension.lower() if dot and stem else ""


# ------------------------------------------------------------------------------------------- validation


@dataclass(frozen=True)
class CheckedFile:
    name: str
    size: int
    sha256: str
    content_type: str
    scan: ScanResult | None = None  # the clean verdict of the scan at upload; None: scanned later or not at all


def _stream(uploaded_file, max_size, display_name):
    """One pass over the chunks: size (the real one, not the announced one), SHA-256 and the first bytes."""
    digest = hashlib.sha256()
    size = 0
    head = bytearray()
    if hasattr(uploaded_file, "seek"):
        uploaded_file.seek(0)
    for chunk in uploaded_file.chunks(CHUNK_SIZE):
        size += len(chunk)
        if size > max_size:
            raise EvidenceRefused(_too_large_message(display_name, max_size))
        digest.update(chunk)
        if len(head) < SNIFF_SIZE:
            head += chunk[: SNIFF_SIZE - len(head)]
    if hasattr(uploaded_file, "seek"):
        uploaded_file.seek(0)
    return size, digest.hexdigest(), bytes(head)


def _too_large_message(name, max_size):
    return f"Le fichier « {name} » dépasse la taille maximale autorisée ({format_size(max_size)})."


def _looks_like_markup(head: bytes) -> bool:
    sample = head[:SNIFF_SIZE].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return sample.startswith(b"<") or any(marker in sample for marker in MARKUP_MARKERS)


def _container_matches(uploaded_file, extension) -> bool:
    """Is this zip really a document of that kind? ODF: a first entry `mimetype` naming the type;
    OOXML: `[Content_Types].xml` and the part folder (`word/`, `xl/`)."""
    try:
        uploaded_file.seek(0)
        with zipfile.ZipFile(uploaded_file) as archive:
            names = archive.namelist()
            if extension in ODF_MIMETYPES:
                if not names or names[0] != "mimetype":
                    return False
                with archive.open("mimetype") as entry:
                    return entry.read(200).strip() == ODF_MIMETYPES[extension].encode()
            folder = OOXML_FOLDERS[extension]
            return "[Content_Types].xml" in names and any(name.startswith(folder) for name in names)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError, EOFError):
        return False
    finally:
        uploaded_file.seek(0)


def evidence_check_file(uploaded_file) -> CheckedFile:
    """Every check on an uploaded file, before anything is stored; raises EvidenceRefused with a French message."""
    max_size = settings.EVIDENCE_MAX_UPLOAD_SIZE
    name = sanitize_filename(getattr(uploaded_file, "name", ""))
    extension = extension_of(name)
    if extension not in EXTENSION_TYPES:
        kind = f"« .{extension} »" if extension else "sans extension"
        raise EvidenceRefused(
            f"Le fichier « {name} » n'est pas accepté (type {kind}). Formats acceptés : {ACCEPTED_FORMATS_LABEL}."
        )
    announced = getattr(uploaded_file, "size", None)
    if announced is not None and announced > max_size:
        raise EvidenceRefused(_too_large_message(name, max_size))
    size, sha256, head = _stream(uploaded_file, max_size, name)
    if size == 0:
        raise EvidenceRefused(f"Le fichier « {name} » est vide : déposez le document complet.")
    content_type = magic.from_buffer(head, mime=True)
    if content_type in MARKUP_TYPES or (extension in TEXT_EXTENSIONS and _looks_like_markup(head)):
        raise EvidenceRefused(
            f"Le fichier « {name} » contient du HTML ou du SVG ({type_label(content_type)}) : ce contenu est "
            "refusé quelle que soit son extension, car il peut exécuter des scripts."
        )
    accepted = EXTENSION_TYPES[extension]
    if content_type not in accepted:
        if (
            extension in ZIP_CONTAINER_EXTENSIONS
            and content_type in GENERIC_CONTAINER_TYPES
            and _container_matches(uploaded_file, extension)
        ):
            content_type = next(iter(accepted))
        else:
            raise EvidenceRefused(
                f"Le contenu du fichier « {name} » ({type_label(content_type)}) ne correspond pas à son extension "
                f"« .{extension} ». Enregistrez le document dans un format accepté ({ACCEPTED_FORMATS_LABEL})."
            )
    elif extension in ZIP_CONTAINER_EXTENSIONS and not _container_matches(uploaded_file, extension):
        raise EvidenceRefused(f"Le fichier « {name} » est endommagé : il ne s'ouvre pas comme un document « .{extension} ».")
    if extension == "csv":
        content_type = "text/csv"
    # Active content, zip bombs, macros, external links (`file_safety`), then the virus scan: an infected file is
    # refused here; one the daemon could not scan at once waits for the background scan.
    check_content(uploaded_file, name=name, extension=extension)
    scan = scan_upload(uploaded_file, name=name, deferrable=True)
    return CheckedFile(name=name, size=size, sha256=sha256, content_type=content_type, scan=scan)


# --------------------------------------------------------------------------------------------- services

LOCKED_MESSAGE = (
    "Cette valeur est déclarée : elle est verrouillée et ses pièces justificatives ne peuvent plus être modifiées. "
    "Pour ajouter ou retirer une pièce, corrigez la valeur (bouton « Corriger ») : la correction reprend les pièces "
    "existantes et accepte les nouvelles."
)
READ_ONLY_MESSAGE = (
    "Seuls les utilisateurs de l'établissement (et la direction du GHT support) déposent ou suppriment ses pièces "
    "justificatives ; l'ARS et la DGOS les consultent."
)


def _locked_value(value) -> IndicatorValue:
    return (
        IndicatorValue.objects.select_for_update(of=("self",))
        .select_related("establishment", "indicator")
        .get(pk=value.pk)
    )


def _check_may_write(by, value):
    if not permissions.can_view_establishment(by, value.establishment):
        raise PermissionRefused("Action non autorisée.")
    if not permissions.can_enter_indicator_values(by, value.establishment):
        raise PermissionRefused(READ_ONLY_MESSAGE)
    if value.status != ValueStatus.DRAFT:
        raise ApplicationError(LOCKED_MESSAGE)


def refuse_duplicate(documents, checked, where: str = "") -> None:
    """The same content (SHA-256) may not be deposited twice among live `documents`."""
    duplicate = documents.filter(sha256=checked.sha256, deleted_at__isnull=True).first()
    if duplicate is not None:
        raise EvidenceRefused(
            f"Le fichier « {checked.name} » est déjà déposé{where} (« {duplicate.original_name} », le "
            f"{timezone.localtime(duplicate.uploaded_at):%d/%m/%Y à %H:%M})."
        )


def store_uploaded_document(
    document, *, uploaded_file, checked, by, action: str, owner: tuple, scan_task: str, scan_argument: str
):
    """Save a checked upload as a private document row (Evidence or any model with the same file fields), write
    its audit record, and send its virus scan after commit when a scanner is configured and the file was not already
    found clean at upload ("not scanned" without a scanner).

    `owner` is (field name, primary key) of what the document belongs to, for the audit record. The scan is the task
    registered as `scan_task`, sent by its name (`hopen.tasking`) with the document's id as `scan_argument`.
    """
    scanned = checked.scan is not None
    scan = scanner_configured() and not scanned
    document.original_name = checked.name
    document.size = checked.size
    document.content_type = checked.content_type
    document.sha256 = checked.sha256
    document.uploaded_by = by
    document.uploaded_at = timezone.now()
    if scanned:
        document.scan_status, document.scan_detail = ScanStatus.CLEAN, checked.scan.detail
        document.scanned_at = timezone.now()
    else:
        document.scan_status = ScanStatus.PENDING if scan else ScanStatus.NOT_SCANNED
    uploaded_file.seek(0)
    # The storage name comes from `evidence_storage_key` (random); the user's name is only a label.
    document.file.save(checked.name, uploaded_file, save=False)
    try:
        document.save()
        audit_record(
            actor=by,
            action=action,
            target=document,
            changes={
                owner[0]: [None, owner[1]],
                "original_name": [None, document.original_name],
                "size": [None, document.size],
                "content_type": [None, document.content_type],
                "sha256": [None, document.sha256],
                "scan_status": [None, document.scan_status],
                **({"scan_detail": [None, document.scan_detail]} if scanned else {}),
                "file": [None, document.file.name],
            },
        )
    except BaseException:
        document.file.storage.delete(document.file.name)
        raise
    if scan:
        # A broker outage must not turn a committed upload into an error page (`enqueue_on_commit` is robust): the
        # file stays pending (never downloadable) until a scan records its verdict.
        enqueue_on_commit(scan_task, **{scan_argument: document.pk})
    return document


@transaction.atomic
def evidence_upload(*, value, uploaded_file, by) -> Evidence:
    """Attach a file to a draft value. Scanned after commit when a scanner is configured, else "not scanned"."""
    value = _locked_value(value)
    _check_may_write(by, value)
    checked = evidence_check_file(uploaded_file)
    refuse_duplicate(value.documents.all(), checked, " pour cette valeur")
    return store_uploaded_document(
        Evidence(value=value), uploaded_file=uploaded_file, checked=checked, by=by, action="evidence.upload",
        owner=("value", value.pk), scan_task="indicators.tasks.scan_evidence", scan_argument="evidence_id",
    )


@transaction.atomic
def evidence_delete(*, evidence, by) -> Evidence:
    """Hide a document of a draft value. The row and the file stay, for the audit trail. (A declared value's documents
    are locked: the attainment state counts a draft's documents when it is declared.)"""
    value = _locked_value(evidence.value)
    _check_may_write(by, value)
    evidence = Evidence.objects.select_for_update(of=("self",)).get(pk=evidence.pk)
    if evidence.deleted_at is not None:
        raise ApplicationError(f"La pièce « {evidence.original_name} » a déjà été supprimée.")
    evidence.deleted_at = timezone.now()
    evidence.deleted_by = by
    evidence.save(update_fields=["deleted_at", "deleted_by"])
    audit_record(
        actor=by,
        action="evidence.delete",
        target=evidence,
        changes={"deleted_at": [None, evidence.deleted_at], "deleted_by": [None, by.pk]},
    )
    return evidence


SCAN_RESULT_STATUSES = (ScanStatus.CLEAN, ScanStatus.INFECTED, ScanStatus.NOT_SCANNED)


@transaction.atomic
def evidence_record_scan(*, evidence, status, detail="") -> Evidence:
    """Record the antivirus verdict (a system write: no user). An infected file is blocked for good."""
    if status not in SCAN_RESULT_STATUSES:
        raise ValueError(f"Statut d'analyse inattendu : {status!r}")
    # The value is locked first (as the other writes do): a verdict racing the value's declaration is then counted by
    # one refresh or the other.
    list(IndicatorValue.objects.select_for_update(of=("self",)).filter(documents=evidence.pk).values_list("pk"))
    evidence = (
        Evidence.objects.select_for_update(of=("self",))
        .select_related("uploaded_by", "value__indicator__catalogue")
        .get(pk=evidence.pk)
    )
    before = [evidence.scan_status, evidence.scan_detail]
    evidence.scan_status = status
    evidence.scan_detail = (detail or "")[:255]
    evidence.scanned_at = timezone.now()
    evidence.save(update_fields=["scan_status", "scan_detail", "scanned_at"])
    audit_record(
        actor=None,
        action="evidence.scan",
        target=evidence,
        changes={"scan_status": [before[0], status], "scan_detail": [before[1], evidence.scan_detail]},
    )
    if evidence.value.status == ValueStatus.DECLARED:
        # An infected file no longer justifies its value (§5.3.1): the live document counts of the state follow (a
        # draft's documents enter the state with its declaration).
        refresh_attainment(
            establishment_ids=[evidence.value.establishment_id],
            programme_ids=[evidence.value.indicator.catalogue.programme_id],
        )
    if status == ScanStatus.INFECTED:
        logger.warning("Pièce justificative %s infectée : %s", evidence.pk, evidence.scan_detail)
        email_after_commit(
            subject="HOP'EN — pièce justificative bloquée par l'antivirus",
            body=(
                f"Le fichier « {evidence.original_name} » que vous avez déposé le "
                f"{timezone.localtime(evidence.uploaded_at):%d/%m/%Y à %H:%M} a été détecté comme infecté "
                f"({evidence.scan_detail}). Il est bloqué et ne peut pas être téléchargé. "
                "Déposez une version saine du document."
            ),
            recipients=[evidence.uploaded_by.email],
        )
    return evidence


# ---------------------------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class DocumentListing:
    visible: list
    deleted_count: int


def documents_prefetch(lookup="documents") -> Prefetch:
    """For pages listing several values: `IndicatorValue.objects.prefetch_related(documents_prefetch())`."""
    return Prefetch(lookup, queryset=Evidence.objects.select_related("uploaded_by").order_by("uploaded_at", "id"))


def documents_listing(value) -> DocumentListing:
    """The documents shown for a value (not deleted) and how many were deleted; uses the prefetch if any."""
    prefetched = getattr(value, "_prefetched_objects_cache", {}).get("documents")
    if prefetched is not None:
        documents = list(prefetched)
    elif value.pk is None:
        documents = []
    else:
        documents = list(value.documents.select_related("uploaded_by").order_by("uploaded_at", "id"))
    visible = [document for document in documents if document.deleted_at is None]
    return DocumentListing(visible=visible, deleted_count=len(documents) - len(visible))


def evidence_as_dict(evidence) -> dict:
    uploader = evidence.uploaded_by
    return {
        "id": evidence.pk,
        "name": evidence.original_name,
        "size": evidence.size,
        "size_display": format_size(evidence.size),
        "content_type": evidence.content_type,
        "sha256": evidence.sha256,
        "uploaded_at": evidence.uploaded_at.isoformat(),
        "uploaded_by": (uploader.get_full_name() or uploader.email) if uploader else "",
        "scan_status": evidence.scan_status,
        "scan_status_display": evidence.get_scan_status_display(),
        "downloadable": evidence.is_downloadable,
    }
