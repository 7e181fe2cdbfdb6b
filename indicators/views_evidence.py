"""Pièces justificatives: upload (plain form or XMLHttpRequest with progress), download, delete.

Thin views: the permission policy decides who sees (404 outside the scope), the services decide who writes
(403 for the read-only roles) and what is accepted (a clear French message otherwise).

A document that is deleted answers 404 (for the users it no longer exists). A document still being
scanned, or found infected, answers **409 Conflict**: it exists and the user may see it listed with its
status, so 404 would be untrue and 403 would wrongly suggest a missing right; what forbids the download
is the file's current state, which is what 409 says.
"""

import logging
import unicodedata
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template import engines
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST, require_safe

from hopen import permissions
from hopen.exceptions import ApplicationError, PermissionRefused

from .evidence import (
    LOCKED_MESSAGE,
    READ_ONLY_MESSAGE,
    evidence_as_dict,
    evidence_delete,
    evidence_upload,
    format_size,
)
from .models import Evidence, IndicatorValue, ScanStatus, ValueStatus

logger = logging.getLogger(__name__)

UPLOAD_FIELD = "file"

MESSAGE_PAGE = """{% extends "base.html" %}
{% block page_title %}{{ title }}{% endblock %}
{% block main %}
<div class="fr-my-4w">
  <h1 class="fr-h3">{{ title }}</h1>
  <div class="fr-alert fr-alert--{{ level }} fr-mb-3w" role="alert"><p>{{ message }}</p></div>
  {% if back_url %}<p><a class="fr-link fr-icon-arrow-left-line fr-link--icon-left" href="{{ back_url }}">Retour à l'indicateur</a></p>{% endif %}
</div>
{% endblock %}"""


class EvidenceSizeLimitHandler(FileUploadHandler):
    """Stops receiving a file as soon as it passes the maximum size: nothing oversize is spooled to disk.

    The skipped files are remembered, so the view can say which ones were refused."""

    def __init__(self, request=None, max_size=None):
        super().__init__(request)
        self.max_size = max_size
        self.refused = []
        self._received = 0

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self._received = 0

    def receive_data_chunk(self, raw_data, start):
        self._received += len(raw_data)
        if self._received > self.max_size:
            self.refused.append(self.file_name)
            raise SkipFile()
        return raw_data

    def file_complete(self, file_size):
        return None


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _indicator_url(value) -> str:
    """The indicator page of the value, on the value's programme (its catalogue's), whatever the one chosen."""
    try:
        url = reverse(
            "indicators:indicator_detail",
            kwargs={"finess": value.establishment.finess, "code": value.indicator.code},
        )
        url = f"{url}?programme={value.indicator.catalogue.programme.code}"
    except NoReverseMatch:  # pragma: no cover - the route is part of the app's contract
        url = reverse("establishment_detail", kwargs={"finess": value.establishment.finess})
    return f"{url}#pieces-justificatives-{value.pk}"


def _next_url(request, value) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return _indicator_url(value)


def _message_page(request, *, status, title, message, level="error", back_url=""):
    template = engines["django"].from_string(MESSAGE_PAGE)
    context = {"title": title, "message": message, "level": level, "back_url": back_url}
    return HttpResponse(template.render(context, request), status=status)


def _refuse(request, value, message, status):
    if _wants_json(request):
        return JsonResponse({"detail": message, "errors": [message]}, status=status)
    return _message_page(
        request, status=status, title="Action non autorisée", message=message, back_url=_indicator_url(value)
    )


def _readable_value(request, value_id) -> IndicatorValue:
    value = get_object_or_404(
        IndicatorValue.objects.select_related("establishment", "indicator__catalogue__programme"), pk=value_id
    )
    if not permissions.can_view_establishment(request.user, value.establishment):
        raise Http404("Valeur introuvable.")
    return value


def _readable_evidence(request, evidence_id) -> Evidence:
    evidence = get_object_or_404(
        Evidence.objects.select_related("value__establishment", "value__indicator__catalogue__programme", "uploaded_by"),
        pk=evidence_id,
    )
    if not permissions.can_view_establishment(request.user, evidence.value.establishment):
        raise Http404("Pièce justificative introuvable.")
    return evidence


def _may_upload(user, value) -> bool:
    return value.status == ValueStatus.DRAFT and permissions.can_enter_indicator_values(user, value.establishment)


def _section_html(request, value, *, errors=(), success=""):
    """The refreshed section sent to XMLHttpRequest posts, with the heading level of the page that holds it."""
    level = request.POST.get("documents_heading_level", "")
    return render_to_string(
        "indicators/_documents.html",
        {
            "value": value,
            "can_upload": _may_upload(request.user, value),
            "upload_errors": list(errors),
            "upload_success": success,
            "documents_heading_level": int(level) if level in {"2", "3", "4"} else None,
        },
        request=request,
    )


def _answer(request, value, *, errors, success, documents=(), created=False):
    """JSON for XMLHttpRequest posts (with the refreshed section), else messages and a redirect."""
    if _wants_json(request):
        status = 400 if errors else (201 if created else 200)
        return JsonResponse(
            {
                "message": success,
                "errors": list(errors),
                "documents": [evidence_as_dict(document) for document in documents],
                "html": _section_html(request, value, errors=errors, success=success),
                "redirect": _next_url(request, value),
            },
            status=status,
        )
    if success:
        messages.success(request, success)
    for error in errors:
        messages.error(request, error)
    return redirect(_next_url(request, value))


def _upload_success_message(stored) -> str:
    if not stored:
        return ""
    names = ", ".join(f"« {document.original_name} »" for document in stored)
    if len(stored) == 1:
        text = f"Pièce justificative déposée : {names}."
    else:
        text = f"{len(stored)} pièces justificatives déposées : {names}."
    if any(document.scan_status == ScanStatus.PENDING for document in stored):
        text += " L'analyse antivirus est en cours : le téléchargement sera possible dès qu'elle sera terminée."
    return text


@csrf_exempt  # the CSRF check is done below, after the size-limiting upload handler is in place
@require_POST
@login_required
def evidence_upload_view(request, value_id):
    handler = EvidenceSizeLimitHandler(request, settings.EVIDENCE_MAX_UPLOAD_SIZE)
    request.upload_handlers.insert(0, handler)
    return _evidence_upload(request, value_id, handler)


@csrf_protect
def _evidence_upload(request, value_id, handler):
    value = _readable_value(request, value_id)
    if not permissions.can_enter_indicator_values(request.user, value.establishment):
        return _refuse(request, value, READ_ONLY_MESSAGE, 403)
    if value.status != ValueStatus.DRAFT:
        return _answer(request, value, errors=[LOCKED_MESSAGE], success="")
    files = request.FILES.getlist(UPLOAD_FIELD)
    errors = [
        f"Le fichier « {name} » dépasse la taille maximale autorisée ({format_size(settings.EVIDENCE_MAX_UPLOAD_SIZE)})."
        for name in handler.refused
    ]
    if not files and not errors:
        errors.append("Choisissez au moins un fichier à déposer.")
    stored = []
    for uploaded_file in files:
        try:
            stored.append(evidence_upload(value=value, uploaded_file=uploaded_file, by=request.user))
        except PermissionRefused as exc:
            return _refuse(request, value, exc.message, 403)
        except ApplicationError as exc:
            errors.append(exc.message)
    return _answer(
        request, value, errors=errors, success=_upload_success_message(stored), documents=stored, created=bool(stored)
    )


def attachment_disposition(name: str) -> str:
    """`attachment` with an ASCII fallback name and the exact UTF-8 name (RFC 6266 / RFC 5987)."""
    fallback = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    fallback = "".join(c if c.isalnum() or c in "._-() " else "_" for c in fallback).strip() or "document"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


@require_safe
@login_required
def evidence_download(request, evidence_id):
    evidence = _readable_evidence(request, evidence_id)
    back_url = _indicator_url(evidence.value)
    if evidence.deleted_at is not None:
        raise Http404("Cette pièce justificative a été supprimée.")
    if evidence.awaits_scan:
        return _message_page(
            request,
            status=409,
            title="Analyse antivirus en cours",
            level="info",
            message=f"Le fichier « {evidence.original_name} » est en cours d'analyse antivirus : il sera téléchargeable "
            "dès que l'analyse sera terminée. Réessayez dans quelques minutes.",
            back_url=back_url,
        )
    if evidence.scan_status == ScanStatus.INFECTED:
        return _message_page(
            request,
            status=409,
            title="Fichier bloqué par l'antivirus",
            message=f"Le fichier « {evidence.original_name} » a été détecté comme infecté ({evidence.scan_detail}) : "
            "il est bloqué et ne peut pas être téléchargé. L'établissement doit déposer une version saine.",
            back_url=back_url,
        )
    if not evidence.is_downloadable:  # pragma: no cover - any future status stays closed by default
        return _message_page(
            request, status=409, title="Téléchargement impossible",
            message=f"Le fichier « {evidence.original_name} » n'est pas téléchargeable.", back_url=back_url,
        )
    try:
        stored = evidence.file.storage.open(evidence.file.name, "rb")
    except FileNotFoundError:
        logger.error("Pièce justificative %s : fichier %s absent du stockage", evidence.pk, evidence.file.name)
        raise Http404("Le fichier de cette pièce justificative est introuvable ; signalez-le à l'administrateur.")
    response = FileResponse(stored, content_type=evidence.content_type or "application/octet-stream")
    response["Content-Disposition"] = attachment_disposition(evidence.original_name)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@require_POST
@login_required
def evidence_delete_view(request, evidence_id):
    evidence = _readable_evidence(request, evidence_id)
    value = evidence.value
    try:
        evidence_delete(evidence=evidence, by=request.user)
    except PermissionRefused as exc:
        return _refuse(request, value, exc.message, 403)
    except ApplicationError as exc:
        return _answer(request, value, errors=[exc.message], success="")
    return _answer(
        request,
        value,
        errors=[],
        success=f"La pièce « {evidence.original_name} » a été supprimée de la liste ; elle reste conservée pour la "
        "piste d'audit.",
    )
