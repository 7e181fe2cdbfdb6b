"""Complementary documents of a pre-candidature (« Éléments complémentaires », e.g. the GHT master plan).

The ARS asked for them (004, « Dossier AMI »; instruction §5.3.2: « Les ARS […] peuvent exiger des documents
complémentaires aux éléments demandés dans le cadre du module de pré-candidature »). They follow the upload rules
of the justificatory documents — the checks of `indicators.evidence` (type sniffed from the content and matched
to the extension, HTML/SVG refused, size limit, sanitised name), private storage under a random key, SHA-256,
virus scan after commit when a scanner is configured, soft delete — and each write leaves its audit record.

Decisions:
- Only the establishment's own roles add or remove documents (annex 5: « modifiables uniquement par lui »);
  the ARS, DGOS and the GHT support director read them.
- A document may be added at any time, also after filing: the ARS may ask for more (§5.3.2). A document is
  removed only while the pre-candidature is in preparation: once validated, what was filed stays visible.
"""

import logging
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from hopen import permissions
from hopen.audit import audit_record
from hopen.exceptions import ApplicationError, PermissionRefused
from indicators.evidence import evidence_check_file, refuse_duplicate, store_uploaded_document
from indicators.models import ScanStatus, scan_allows_download

from .models import FilingStatus, PreCandidature, PreCandidatureAttachment

logger = logging.getLogger(__name__)

READ_ONLY_MESSAGE = (
    "Seuls les utilisateurs de l'établissement déposent ou suppriment les pièces complémentaires de sa "
    "pré-candidature ; l'ARS, la DGOS et l'établissement support les consultent."
)
LOCKED_MESSAGE = (
    "La pré-candidature est validée : les pièces déposées ne peuvent plus être supprimées (vous pouvez encore en "
    "ajouter si l'ARS le demande)."
)


def is_downloadable(attachment) -> bool:
    return attachment.deleted_at is None and scan_allows_download(attachment.scan_status)


def _check_may_write(by, pre_candidature):
    establishment = pre_candidature.establishment
    if not permissions.can_view_establishment(by, establishment):
        raise PermissionRefused("Action non autorisée.")
    if not permissions.can_enter_establishment_data(by, establishment):
        raise PermissionRefused(READ_ONLY_MESSAGE)


@transaction.atomic
def attachment_upload(*, pre_candidature: PreCandidature, uploaded_file, by) -> PreCandidatureAttachment:
    """Store a checked file as a complementary document; scanned after commit when a scanner is configured."""
    pre_candidature = PreCandidature.objects.select_for_update(of=("self",)).select_related("establishment").get(
        pk=pre_candidature.pk
    )
    _check_may_write(by, pre_candidature)
    checked = evidence_check_file(uploaded_file)
    refuse_duplicate(pre_candidature.attachments.all(), checked)
    return store_uploaded_document(
        PreCandidatureAttachment(pre_candidature=pre_candidature), uploaded_file=uploaded_file, checked=checked,
        by=by, action="pre_candidature.attachment_upload", owner=("pre_candidature", pre_candidature.pk),
        scan_task="ami.attachments.scan_attachment", scan_argument="attachment_id",
    )


@transaction.atomic
def attachment_delete(*, attachment: PreCandidatureAttachment, by) -> PreCandidatureAttachment:
    """Hide a document of a pre-candidature in preparation; the row and the file stay for the audit trail."""
    pre_candidature = PreCandidature.objects.select_for_update(of=("self",)).select_related("establishment").get(
        pk=attachment.pre_candidature_id
    )
    _check_may_write(by, pre_candidature)
    if pre_candidature.status != FilingStatus.DRAFT:
        raise ApplicationError(LOCKED_MESSAGE)
    attachment = PreCandidatureAttachment.objects.select_for_update().get(pk=attachment.pk)
    if attachment.deleted_at is not None:
        raise ApplicationError(f"La pièce « {attachment.original_name} » a déjà été supprimée.")
    attachment.deleted_at = timezone.now()
    attachment.deleted_by = by
    attachment.save(update_fields=["deleted_at", "deleted_by"])
    audit_record(
        actor=by,
        action="pre_candidature.attachment_delete",
        target=attachment,
        changes={"deleted_at": [None, attachment.deleted_at], "deleted_by": [None, by.pk]},
    )
    return attachment


@transaction.atomic
def attachment_record_scan(*, attachment: PreCandidatureAttachment, status: str, detail: str = "") -> PreCandidatureAttachment:
    """Record the antivirus verdict (a system write). An infected file is never served."""
    if status not in (ScanStatus.CLEAN, ScanStatus.INFECTED, ScanStatus.NOT_SCANNED):
        raise ValueError(f"Statut d'analyse inattendu : {status!r}")
    attachment = PreCandidatureAttachment.objects.select_for_update().get(pk=attachment.pk)
    before = [attachment.scan_status, attachment.scan_detail]
    attachment.scan_status = status
    attachment.scan_detail = (detail or "")[:255]
    attachment.scanned_at = timezone.now()
    attachment.save(update_fields=["scan_status", "scan_detail", "scanned_at"])
    audit_record(
        actor=None,
        action="pre_candidature.attachment_scan",
        target=attachment,
        changes={"scan_status": [before[0], status], "scan_detail": [before[1], attachment.scan_detail]},
    )
    if status == ScanStatus.INFECTED:
        logger.warning("Pièce complémentaire AMI %s infectée : %s", attachment.pk, detail)
    return attachment


# ---------------------------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class AttachmentListing:
    visible: list
    deleted_count: int


def attachments_listing(pre_candidature) -> AttachmentListing:
    """The documents shown (not deleted, oldest first) and how many were deleted — one query."""
    if pre_candidature is None or pre_candidature.pk is None:
        return AttachmentListing([], 0)
    documents = list(
        PreCandidatureAttachment.objects.filter(pre_candidature=pre_candidature)
        .select_related("uploaded_by")
        .order_by("uploaded_at", "id")
    )
    visible = [document for document in documents if document.deleted_at is None]
    for document in visible:
        document.downloadable = is_downloadable(document)
    return AttachmentListing(visible, len(documents) - len(visible))


def readable_attachment(user, attachment_id, finess) -> PreCandidatureAttachment | None:
    """The attachment if it belongs to that establishment and the user may read it; None otherwise (→ 404)."""
    attachment = (
        PreCandidatureAttachment.objects.select_related("pre_candidature__establishment", "uploaded_by")
        .filter(pk=attachment_id, pre_candidature__establishment__finess=str(finess).upper())
        .first()
    )
    if attachment is None or not permissions.can_view_establishment(user, attachment.pre_candidature.establishment):
        return None
    return attachment
