"""The establishment's tab « appel à manifestation d'intérêt » of the request's programme (annex 5): the page and its
actions — save the form, validate (the establishment's director, then the GHT support director, §5.3.2), write in
the thread with the ARS; the documents' actions are in `ami.tab.attachments`.

Thin views: the permission policy finds the establishment (404 outside the user's scope); the services of
`ami.services` and `ami.attachments` decide who writes (403 for the read-only roles: ARS, DGOS) and what is
accepted (a clear French message otherwise, the typed input kept).
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponseNotAllowed
from django.shortcuts import redirect
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from hopen import permissions
from hopen.exceptions import ApplicationError, PermissionRefused
from indicators.views_evidence import EvidenceSizeLimitHandler

from .. import services
from ..forms import CommentForm
from ..models import FilingStatus
from .attachments import delete_attachment, upload
from .context import (
    READ_ONLY_MESSAGE, Calendar, existing_pre_candidature, may_post_on_tab, refuse_readers, render_tab, tab_url,
)


@csrf_exempt  # the CSRF check is done in `_tab_post`, once the size-limiting upload handler is in place
@login_required
def tab(request, finess):
    """Annex 5: « Ecriture » for the establishment's own roles, « Lecture » for its ARS and the DGOS."""
    establishment = permissions.get_establishment_for_reading(request.user, finess)
    if request.method in ("GET", "HEAD"):
        return render_tab(request, establishment, Calendar(request.programme))
    if request.method != "POST":
        return HttpResponseNotAllowed(["GET", "HEAD", "POST"])
    handler = EvidenceSizeLimitHandler(request, settings.EVIDENCE_MAX_UPLOAD_SIZE)
    request.upload_handlers.insert(0, handler)
    return _tab_post(request, establishment, handler)


@csrf_protect
def _tab_post(request, establishment, handler):
    calendar = Calendar(request.programme)
    if not may_post_on_tab(request.user, establishment):
        return render_tab(request, establishment, calendar, status=403, action_error=READ_ONLY_MESSAGE)
    action = request.POST.get("action", "")
    actions = {
        "save": _save,
        "validate": _validate,
        "validate_as_support": _validate_as_support,
        "comment": _comment,
        "upload": upload,
        "delete_attachment": delete_attachment,
    }
    if action not in actions:
        return render_tab(request, establishment, calendar, status=400, action_error="Action inconnue.")
    if not calendar.ready:
        return render_tab(request, establishment, calendar, status=409, action_error=calendar.message)
    try:
        return actions[action](request, establishment, calendar, handler)
    except PermissionRefused as exc:
        return render_tab(request, establishment, calendar, status=403, action_error=exc.message)


def _save(request, establishment, calendar, handler):
    refuse_readers(request, establishment)
    if not calendar.is_open:  # §5.3.2 « Etape 1 »: the service refuses too; the page says why, before any typing
        try:
            services.require_filing_open(calendar.programme, calendar.day, services.SAVE_ACTION)
        except ApplicationError as exc:
            return render_tab(request, establishment, calendar, status=409, action_error=exc.message)
    form = calendar.form(request.POST)
    if form.is_valid():
        try:
            services.pre_candidature_save(
                establishment=establishment, programme=calendar.programme, data=form.pre_candidature_input,
                by=request.user,
            )
        except ValidationError as exc:
            form.apply_errors(exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages})
        except PermissionRefused:
            raise
        except ApplicationError as exc:
            return render_tab(request, establishment, calendar, status=409, form=form, action_error=exc.message)
        else:
            messages.success(request, "Pré-candidature enregistrée.")
            return redirect(tab_url(establishment))
    return render_tab(
        request, establishment, calendar, status=400, form=form,
        action_error="La pré-candidature n'est pas enregistrée : corrigez les champs signalés (votre saisie est conservée).",
    )


def _validate(request, establishment, calendar, handler):
    refuse_readers(request, establishment)
    pre_candidature = services.pre_candidature_of(establishment, calendar.programme)
    try:
        pre_candidature = services.pre_candidature_validate(pre_candidature=pre_candidature, by=request.user)
    except PermissionRefused:
        raise
    except ApplicationError as exc:
        return render_tab(request, establishment, calendar, status=409, action_error=exc.message)
    if pre_candidature.status == FilingStatus.AWAITING_SUPPORT:
        messages.success(
            request,
            "Pré-candidature validée par la direction. Elle attend maintenant la validation de l'établissement support "
            f"du GHT ({establishment.ght.support.name}) pour être déposée.",
        )
    else:
        late = " Elle est enregistrée comme candidature tardive." if pre_candidature.is_late else ""
        messages.success(request, f"Pré-candidature validée et déposée auprès de l'ARS.{late}")
    return redirect(tab_url(establishment))


def _validate_as_support(request, establishment, calendar, handler):
    pre_candidature = existing_pre_candidature(establishment, calendar)
    if pre_candidature.pk is None:
        raise PermissionRefused("Cette pré-candidature n'attend pas la validation de l'établissement support.")
    try:
        services.pre_candidature_validate_as_support(pre_candidature=pre_candidature, by=request.user)
    except PermissionRefused:
        raise
    except ApplicationError as exc:
        return render_tab(request, establishment, calendar, status=409, action_error=exc.message)
    messages.success(request, f"Pré-candidature de {establishment.name} validée par l'établissement support : elle est déposée.")
    return redirect(tab_url(establishment))


def _comment(request, establishment, calendar, handler):
    form = CommentForm(request.POST, auto_id="message-%s")
    if not (permissions.can_enter_establishment_data(request.user, establishment) or services.can_decide(request.user, establishment)):
        raise PermissionRefused("Seuls l'établissement et son ARS échangent sur cette pré-candidature.")
    if form.is_valid():
        pre_candidature = services.pre_candidature_of(establishment, calendar.programme)
        try:
            services.pre_candidature_comment(pre_candidature=pre_candidature, body=form.cleaned_data["body"], by=request.user)
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error("body", message)
        else:
            messages.success(request, "Message envoyé.")
            return redirect(tab_url(establishment, "echanges"))
    return render_tab(
        request, establishment, calendar, status=400, comment_form=form,
        action_error="Le message n'est pas envoyé : " + " ".join(form.errors.get("body", [])),
    )
