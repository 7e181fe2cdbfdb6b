"""The GHT governance page (`/ght/<code>/gouvernance/`) and its actions — thin views.

The GHT outside the user's scope answers 404 (`hopen.permissions.get_ght_for_reading`); a POST by a reader (member,
ARS, DGOS) answers 403 before its input is read; the services decide the rest and their French message is shown.
Documents are served only through `document_download` (attachment, nosniff, sandbox), never from a served folder.
"""

import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from hopen import permissions
from hopen.exceptions import ApplicationError, PermissionRefused
from indicators.evidence import format_size
from indicators.models import CatalogueVersion, Indicator, ScanStatus
from indicators.selectors import current_catalogue
from indicators.views_evidence import attachment_disposition

from . import services, values
from .forms import CioForm, CorrectionForm, GhtValueForm, MasterPlanForm, MasterPlanValidationForm
from .models import GhtIndicatorValue, GhtMasterPlan, GhtValueDocument
from .selectors import declined_indicators, governance_page

logger = logging.getLogger(__name__)


def _page_url(ght, anchor="") -> str:
    url = reverse("funding:ght_governance", kwargs={"code": ght.code})
    return f"{url}#{anchor}" if anchor else url


def _ght_for_writing(request, code, *, validate=False):
    """The GHT (404 outside the scope), or 403 for a reader — before the request's input is read."""
    ght = permissions.get_ght_for_reading(request.user, code)
    allowed = (permissions.can_validate_ght_governance if validate else permissions.can_enter_ght_governance)
    if not allowed(request.user, ght):
        raise PermissionDenied(services.DIRECTOR_ONLY_MESSAGE if validate else services.READ_ONLY_MESSAGE)
    return ght


def _run(request, ght, anchor, action, success):
    """Run a service; its French message becomes a page message; redirect to the page."""
    try:
        result = action()
    except PermissionRefused as exc:
        raise PermissionDenied(exc.message) from exc
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, success(result) if callable(success) else success)
    return redirect(_page_url(ght, anchor))


def _form_errors(form) -> str:
    return " ".join(str(error) for errors in form.errors.values() for error in errors)


@require_safe
@login_required
def governance(request, code):
    ght = permissions.get_ght_for_reading(request.user, code)
    try:
        page = governance_page(ght, programme=request.programme)
    except CatalogueVersion.DoesNotExist:
        raise Http404("Le catalogue d'indicateurs du programme n'est pas chargé.")
    return render(request, "funding/ght/governance.html", {
        "ght": ght,
        "page": page,
        "can_enter": permissions.can_enter_ght_governance(request.user, ght),
        "can_validate": permissions.can_validate_ght_governance(request.user, ght),
        "master_plan_form": MasterPlanForm(),
        "cio_form": CioForm(initial={"name": getattr(page.governance, "cio_name", ""),
                                     "email": getattr(page.governance, "cio_email", "")}),
        "max_size": format_size(settings.EVIDENCE_MAX_UPLOAD_SIZE),
    })


# --- SDSI -----------------------------------------------------------------------------------------------------------


@require_POST
@login_required
def master_plan_upload(request, code):
    ght = _ght_for_writing(request, code)
    form = MasterPlanForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return redirect(_page_url(ght, "sdsi"))
    return _run(
        request, ght, "sdsi",
        lambda: services.master_plan_upload(ght=ght, uploaded_file=form.cleaned_data["file"], by=request.user,
                                            validated_on=form.cleaned_data["validated_on"]),
        lambda document: f"Schéma directeur déposé : « {document.original_name} »."
        + (" L'analyse antivirus est en cours." if document.scan_status == ScanStatus.PENDING else ""),
    )


@require_POST
@login_required
def master_plan_validation(request, code, document_id):
    ght = _ght_for_writing(request, code)
    document = get_object_or_404(GhtMasterPlan, pk=document_id, ght=ght)
    form = MasterPlanValidationForm(request.POST)
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return redirect(_page_url(ght, "sdsi"))
    return _run(
        request, ght, "sdsi",
        lambda: services.master_plan_record_validation(document=document, validated_on=form.cleaned_data["validated_on"],
                                                       by=request.user),
        "Date de validation du schéma directeur enregistrée.",
    )


@require_POST
@login_required
def master_plan_delete(request, code, document_id):
    ght = _ght_for_writing(request, code)
    document = get_object_or_404(GhtMasterPlan, pk=document_id, ght=ght)
    return _run(request, ght, "sdsi", lambda: services.master_plan_delete(document=document, by=request.user),
                "Le document a été retiré ; il reste conservé pour la piste d'audit.")


# --- CIO ------------------------------------------------------------------------------------------------------------


@require_POST
@login_required
def cio_name(request, code):
    ght = _ght_for_writing(request, code)
    form = CioForm(request.POST)
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return redirect(_page_url(ght, "dsi"))
    return _run(
        request, ght, "dsi",
        lambda: services.cio_name(ght=ght, name=form.cleaned_data["name"], email=form.cleaned_data["email"],
                                  by=request.user),
        "DSI de GHT enregistré ; il doit être validé par le directeur de l'établissement support.",
    )


@require_POST
@login_required
def cio_validate(request, code):
    ght = _ght_for_writing(request, code, validate=True)
    return _run(request, ght, "dsi", lambda: services.cio_validate(ght=ght, by=request.user), "DSI de GHT validé.")


# --- GHT-level values -----------------------------------------------------------------------------------------------


def _indicator(request, indicator_code) -> Indicator:
    catalogue = current_catalogue(request.programme)
    for indicator in declined_indicators(catalogue.indicators.all()):
        if indicator.code == indicator_code:
            return indicator
    raise Http404("Indicateur sans déclinaison GHT dans le catalogue en vigueur.")


def _value(ght, value_id) -> GhtIndicatorValue:
    return get_object_or_404(GhtIndicatorValue.objects.select_related("ght", "indicator"), pk=value_id, ght=ght)


@require_POST
@login_required
def value_save(request, code, indicator_code):
    ght = _ght_for_writing(request, code)
    indicator = _indicator(request, indicator_code)
    form = GhtValueForm(request.POST)
    anchor = f"valeur-{indicator.code}"
    if not form.is_valid():
        messages.error(request, f"{indicator.code} : {_form_errors(form)}")
        return redirect(_page_url(ght, anchor))
    return _run(request, ght, anchor, lambda: values.ght_value_save(ght=ght, indicator=indicator, by=request.user,
                                                                     **form.cleaned_data),
                f"{indicator.code} : brouillon enregistré.")


@require_POST
@login_required
def value_declare(request, code, value_id):
    ght = _ght_for_writing(request, code, validate=True)
    value = _value(ght, value_id)
    return _run(request, ght, f"valeur-{value.indicator.code}",
                lambda: values.ght_value_declare(value=value, by=request.user), f"{value.indicator.code} : valeur déclarée.")


@require_POST
@login_required
def values_declare_all(request, code):
    ght = _ght_for_writing(request, code, validate=True)
    indicators = current_catalogue(request.programme).indicators.all()
    return _run(request, ght, "valeurs", lambda: values.ght_values_declare_all(ght=ght, indicators=indicators,
                                                                                by=request.user),
                lambda drafts: f"{len(drafts)} valeur{'s' if len(drafts) > 1 else ''} GHT déclarée"
                f"{'s' if len(drafts) > 1 else ''}.")


@require_POST
@login_required
def value_correct(request, code, value_id):
    ght = _ght_for_writing(request, code)
    value = _value(ght, value_id)
    form = CorrectionForm(request.POST)
    anchor = f"valeur-{value.indicator.code}"
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return redirect(_page_url(ght, anchor))
    return _run(request, ght, anchor,
                lambda: values.ght_value_correct(value=value, reason=form.cleaned_data["reason"], by=request.user),
                f"{value.indicator.code} : correction ouverte (nouveau brouillon).")


@require_POST
@login_required
def value_document_upload(request, code, value_id):
    ght = _ght_for_writing(request, code)
    value = _value(ght, value_id)
    uploaded = request.FILES.get("file")
    anchor = f"valeur-{value.indicator.code}"
    if uploaded is None:
        messages.error(request, "Choisissez un fichier à déposer.")
        return redirect(_page_url(ght, anchor))
    return _run(request, ght, anchor,
                lambda: values.ght_value_document_upload(value=value, uploaded_file=uploaded, by=request.user),
                lambda document: f"Pièce justificative déposée : « {document.original_name} ».")


# --- Downloads ------------------------------------------------------------------------------------------------------


@require_safe
@login_required
def document_download(request, code, kind, document_id):
    """An SDSI (`kind` "sdsi") or a GHT value document ("piece"), to whoever may read the GHT."""
    ght = permissions.get_ght_for_reading(request.user, code)
    if kind == "sdsi":
        document = get_object_or_404(GhtMasterPlan, pk=document_id, ght=ght)
    elif kind == "piece":
        document = get_object_or_404(GhtValueDocument, pk=document_id, value__ght=ght)
    else:
        raise Http404("Document introuvable.")
    if document.deleted_at is not None:
        raise Http404("Ce document a été supprimé.")
    if not document.is_downloadable:
        state = ("est en cours d'analyse antivirus" if document.awaits_scan
                 else "a été bloqué par l'antivirus")
        messages.warning(request, f"Le fichier « {document.original_name} » {state} : il n'est pas téléchargeable.")
        response = redirect(_page_url(ght, "sdsi" if kind == "sdsi" else "valeurs"))
        response.status_code = 303
        return response
    try:
        stored = document.file.storage.open(document.file.name, "rb")
    except FileNotFoundError:
        logger.error("Document GHT %s : fichier %s absent du stockage", document.pk, document.file.name)
        raise Http404("Le fichier est introuvable ; signalez-le à l'administrateur.")
    response = FileResponse(stored, content_type=document.content_type or "application/octet-stream")
    response["Content-Disposition"] = attachment_disposition(document.original_name)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
