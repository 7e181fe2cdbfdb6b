"""The complementary documents on the AMI tab: upload, delete (tab actions) and download (served only through the
permission policy, never while pending or infected).
"""

import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import redirect
from django.views.decorators.http import require_safe

from hopen import permissions
from hopen.exceptions import ApplicationError, PermissionRefused
from indicators.evidence import format_size
from indicators.models import ScanStatus
from indicators.views_evidence import attachment_disposition

from .. import services
from ..attachments import attachment_delete, attachment_upload, is_downloadable, readable_attachment
from .context import Calendar, refuse_readers, render_tab, tab_url

logger = logging.getLogger(__name__)


UPLOAD_FIELD = "file"


def upload(request, establishment, calendar, handler):
    refuse_readers(request, establishment)
    files = request.FILES.getlist(UPLOAD_FIELD)
    errors = [
        f"Le fichier « {name} » dépasse la taille maximale autorisée ({format_size(settings.EVIDENCE_MAX_UPLOAD_SIZE)})."
        for name in handler.refused
    ]
    if not files and not errors:
        errors.append("Choisissez au moins un fichier à déposer.")
    stored = []
    if files:
        pre_candidature = services.pre_candidature_of(establishment, calendar.programme)
        for uploaded_file in files:
            try:
                stored.append(attachment_upload(pre_candidature=pre_candidature, uploaded_file=uploaded_file, by=request.user))
            except PermissionRefused:
                raise
            except ApplicationError as exc:
                errors.append(exc.message)
    if stored:
        names = ", ".join(f"« {a.original_name} »" for a in stored)
        text = f"Pièce complémentaire déposée : {names}." if len(stored) == 1 else f"{len(stored)} pièces déposées : {names}."
        if any(a.scan_status == ScanStatus.PENDING for a in stored):
            text += " L'analyse antivirus est en cours : le téléchargement sera possible dès qu'elle sera terminée."
        messages.success(request, text)
    if errors:
        return render_tab(request, establishment, calendar, status=400, upload_errors=errors)
    return redirect(tab_url(establishment, "pieces-complementaires"))


def delete_attachment(request, establishment, calendar, handler):
    refuse_readers(request, establishment)
    attachment_id = request.POST.get("attachment", "").strip()
    attachment = readable_attachment(request.user, int(attachment_id), establishment.finess) if attachment_id.isdigit() else None
    if attachment is None:
        raise Http404("Pièce complémentaire introuvable.")
    try:
        attachment_delete(attachment=attachment, by=request.user)
    except PermissionRefused:
        raise
    except ApplicationError as exc:
        return render_tab(request, establishment, calendar, status=409, upload_errors=[exc.message])
    messages.success(
        request,
        f"La pièce « {attachment.original_name} » a été supprimée de la liste ; elle reste conservée pour la piste d'audit.",
    )
    return redirect(tab_url(establishment, "pieces-complementaires"))


# --- Attachment download -------------------------------------------------------------------------------------------


@require_safe
@login_required
def attachment_download(request, finess, attachment_id):
    """Served only through the permission policy; pending or infected files are not served (409)."""
    establishment = permissions.get_establishment_for_reading(request.user, finess)
    attachment = readable_attachment(request.user, attachment_id, establishment.finess)
    if attachment is None or attachment.deleted_at is not None:
        raise Http404("Pièce complémentaire introuvable.")
    if not is_downloadable(attachment):
        message = (
            f"Le fichier « {attachment.original_name} » est en cours d'analyse antivirus : il sera téléchargeable dès "
            "que l'analyse sera terminée."
            if attachment.awaits_scan
            else f"Le fichier « {attachment.original_name} » a été détecté comme infecté : il est bloqué."
        )
        return render_tab(request, establishment, Calendar(request.programme), status=409, upload_errors=[message])
    try:
        stored = attachment.file.storage.open(attachment.file.name, "rb")
    except FileNotFoundError:
        logger.error("Pièce AMI %s : fichier %s absent du stockage", attachment.pk, attachment.file.name)
        raise Http404("Le fichier de cette pièce est introuvable ; signalez-le à l'administrateur.")
    response = FileResponse(stored, content_type=attachment.content_type or "application/octet-stream")
    response["Content-Disposition"] = attachment_disposition(attachment.original_name)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
