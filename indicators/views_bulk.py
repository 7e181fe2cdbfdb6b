"""Bulk entry pages: download the template, upload it back, see the dry-run, confirm.

Out-of-scope establishment → 404 (`get_establishment_for_reading`); a role that may read but not enter (ARS,
DGOS) → 403, for the template as for the import page.

Between the dry-run and the confirmation, the parsed lines (raw text, not validated objects) stay server-side in the
user's session, keyed by the SHA-256 of the uploaded file; the confirmation form carries only that digest. Nothing the
browser sends is trusted as data, the user does not have to choose the file again, and the confirmation checks every
line again against the database as it is then (a value declared meanwhile is refused) before writing all of them in
one transaction. A second dry-run replaces the pending file, so a stale tab cannot confirm a file it did not show.
"""

import hashlib

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.views.decorators.http import require_GET, require_http_methods

from hopen import permissions
from hopen.exceptions import ApplicationError

from .bulk import applying, parsing, planning, template

SESSION_KEY = "indicators_bulk_import"
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


class BulkUploadForm(forms.Form):
    fichier = forms.FileField(
        label="Fichier complété",
        error_messages={"required": "Choisissez le fichier à déposer.", "empty": "Le fichier est vide."},
    )


def _perimeter(request, finess):
    """The page's establishment (404 outside the user's scope) and the establishments its file covers (403 if none)."""
    establishment = permissions.get_establishment_for_reading(request.user, finess)
    establishments = planning.bulk_establishments(request.user, establishment)
    if not establishments:
        raise PermissionDenied("La saisie en masse est réservée aux utilisateurs de l'établissement.")
    return establishment, establishments


@login_required
@require_GET
def bulk_template(request, finess, fmt):
    establishment, establishments = _perimeter(request, finess)
    rows = template.template_rows(establishments=establishments, programme=request.programme)
    if fmt == "csv":
        content = template.template_csv(rows)
    else:
        content = template.template_xlsx(rows, programme_name=request.programme.name)
    response = HttpResponse(content, content_type=CONTENT_TYPES[fmt])
    filename = f"indicateurs-{establishment.finess}-{timezone.localdate():%Y-%m-%d}.{fmt}"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def bulk_import(request, finess):
    establishment, establishments = _perimeter(request, finess)
    context = {
        "establishment": establishment,
        "establishments": establishments,
        "covers_ght": len(establishments) > 1 or establishments[0].pk != establishment.pk,
        "indicator_count": len(planning.current_indicators(request.programme)) if request.method == "GET" else None,
        "max_size": parsing.size_label(settings.EVIDENCE_MAX_UPLOAD_SIZE),
        "programme": request.programme,
    }
    if request.method == "POST" and request.POST.get("action") == "confirmer":
        return _confirm(request, establishment, establishments, context)
    if request.method == "POST":
        return _dry_run(request, establishment, establishments, context)
    context["form"] = BulkUploadForm()
    return render(request, "indicators/bulk_import.html", context)


def _dry_run(request, establishment, establishments, context):
    form = BulkUploadForm(request.POST, request.FILES)
    context["form"] = form
    request.session.pop(SESSION_KEY, None)
    if not form.is_valid():
        return render(request, "indicators/bulk_import.html", context, status=400)
    upload = form.cleaned_data["fichier"]
    if upload.size > settings.EVIDENCE_MAX_UPLOAD_SIZE:
        limit = parsing.size_label(settings.EVIDENCE_MAX_UPLOAD_SIZE)
        form.add_error("fichier", f"Le fichier dépasse la taille maximale autorisée ({limit}).")
        return render(request, "indicators/bulk_import.html", context, status=400)
    content = upload.read()
    try:
        lines = parsing.bulk_parse(content, upload.name)
    except ApplicationError as exc:
        form.add_error("fichier", exc.message)
        return render(request, "indicators/bulk_import.html", context, status=400)
    plan = planning.bulk_plan(
        lines=lines, by=request.user, programme=request.programme, establishments=establishments
    )
    digest = hashlib.sha256(content).hexdigest()
    if plan.is_valid and plan.writes:
        request.session[SESSION_KEY] = {
            "finess": establishment.finess,
            "programme": request.programme.code,
            "sha256": digest,
            "filename": upload.name[:255],
            "lines": [line.as_dict() for line in lines if not line.is_ignored],
        }
    context.update(plan=plan, sha256=digest, filename=upload.name, form=BulkUploadForm())
    return render(request, "indicators/bulk_import.html", context)


def _confirm(request, establishment, establishments, context):
    pending = request.session.get(SESSION_KEY)
    digest = request.POST.get("sha256", "")
    try:
        if (
            pending.get("finess") != establishment.finess
            or pending.get("programme") != request.programme.code
            or not constant_time_compare(pending["sha256"], digest)
        ):
            # A stale tab (another file, or checked against another programme's catalogue): the pending file (if
            # any) stays for its own page.
            raise ValueError("another file")
        lines = [parsing.BulkLine(**line) for line in pending["lines"]]
    except (AttributeError, KeyError, TypeError, ValueError):  # none pending, another file, or an older format
        messages.error(
            request,
            "Cette vérification a expiré ou a été remplacée par une autre : déposez de nouveau le fichier.",
        )
        return redirect("indicators:bulk_import", finess=establishment.finess)
    request.session.pop(SESSION_KEY, None)
    # Checked again: the database may have changed since the dry-run (a value declared, a role withdrawn).
    plan = planning.bulk_plan(
        lines=lines, by=request.user, programme=request.programme, establishments=establishments
    )
    context.update(plan=plan, sha256=digest, filename=pending["filename"], form=BulkUploadForm(), confirmed=True)
    if not plan.is_valid:
        context["apply_error"] = (
            "Le fichier n'est plus valide depuis sa vérification : aucune valeur n'a été enregistrée."
        )
        return render(request, "indicators/bulk_import.html", context, status=409)
    try:
        result = applying.bulk_apply(
            plan=plan, by=request.user, establishment=establishment, filename=pending["filename"], sha256=digest
        )
    except ApplicationError as exc:
        context["apply_error"] = exc.message
        return render(request, "indicators/bulk_import.html", context, status=409)
    messages.success(
        request,
        f"Import enregistré : {result.summary}. Les valeurs restent à déclarer depuis la page de chaque indicateur.",
    )
    return redirect("indicators:bulk_import", finess=establishment.finess)
