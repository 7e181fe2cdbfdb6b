"""The pages of a referential import: the « Référentiels » home, the template, the upload page (dry run, then
confirmation).

The permission policy (`can_import_referentials`: DGOS officer or platform administrator) is asked first: any other
user gets 403 before the file is read. Between the dry run and the confirmation the uploaded file stays server-side
— in the cache (Redis) under a key of the user, the referential and the file's SHA-256, for an hour — and the session
keeps only that digest and the file name: a 60,000-line file would not fit in a session saved on every request. The
confirmation form carries only the digest; the file is read and checked again against the database as it is then,
before everything is written in one transaction. A new dry run replaces the pending file.
"""

import hashlib
import io

import openpyxl
from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.crypto import constant_time_compare
from openpyxl.styles import Font

from hopen import permissions
from hopen.exceptions import ApplicationError
from indicators.bulk import parsing

from . import engine

PENDING_SECONDS = 60 * 60
SHOWN_CHANGES = 2_000  # rows of the « what would change » table; the counts always cover the whole file
TEMPLATE = "referentials/import.html"
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


class UploadForm(forms.Form):
    fichier = forms.FileField(
        label="Fichier complété",
        error_messages={"required": "Choisissez le fichier à déposer.", "empty": "Le fichier est vide."},
    )


def require_importer(user):
    if not permissions.can_import_referentials(user):
        raise PermissionDenied("L'import des référentiels est réservé à la DGOS et à l'administrateur de la plateforme.")


def home(request):
    require_importer(request.user)
    return render(request, "referentials/home.html", {})


def template_download(request, spec: engine.ReferentialSpec, fmt: str):
    """The empty template: exactly the header of the spec (CSV with BOM and « ; », or XLSX with a help sheet)."""
    require_importer(request.user)
    content = template_csv(spec) if fmt == "csv" else template_xlsx(spec)
    response = HttpResponse(content, content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="{spec.file_stem}-modele.{fmt}"'
    response["Cache-Control"] = "private, no-store"
    return response


def template_csv(spec) -> bytes:
    return ("\ufeff" + ";".join(spec.columns) + "\r\n").encode("utf-8")


def template_xlsx(spec) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = spec.sheet_title
    sheet.append(list(spec.columns))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    help_sheet = workbook.create_sheet("Mode d'emploi")
    for text in [spec.title, "", *spec.help_lines]:
        help_sheet.append([text])
    help_sheet["A1"].font = Font(bold=True)
    help_sheet.column_dimensions["A"].width = 120
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def import_page(request, spec: engine.ReferentialSpec, *, url_name: str, template_url_name: str, extra=None):
    """GET: the page; POST action=verifier: the dry run; POST action=confirmer: the write."""
    require_importer(request.user)
    context = {
        "spec": spec,
        "url": reverse(url_name),
        "template_csv_url": reverse(template_url_name, kwargs={"fmt": "csv"}),
        "template_xlsx_url": reverse(template_url_name, kwargs={"fmt": "xlsx"}),
        "header": ";".join(spec.columns),
        "max_size": parsing.size_label(_max_size()),
        "max_rows": spec.max_rows,
        "form": UploadForm(),
        **(extra or {}),
    }
    if request.method == "POST" and request.POST.get("action") == "confirmer":
        return _confirm(request, spec, context)
    if request.method == "POST":
        return _dry_run(request, spec, context)
    return render(request, TEMPLATE, context)


def _session_key(spec):
    return f"referential_import:{spec.code}"


def _cache_key(request, spec, digest):
    return f"referential-import:{spec.code}:{request.user.pk}:{digest}"


def _max_size():
    return settings.EVIDENCE_MAX_UPLOAD_SIZE


def _dry_run(request, spec, context):
    form = UploadForm(request.POST, request.FILES)
    context["form"] = form
    request.session.pop(_session_key(spec), None)
    if not form.is_valid():
        return render(request, TEMPLATE, context, status=400)
    upload = form.cleaned_data["fichier"]
    if upload.size > _max_size():
        form.add_error("fichier", f"Le fichier dépasse la taille maximale autorisée ({context['max_size']}).")
        return render(request, TEMPLATE, context, status=400)
    content = upload.read()
    try:
        with engine.without_cyclic_gc():
            plan = engine.plan_import(spec, engine.read_lines(spec, content, upload.name))
    except ApplicationError as exc:
        form.add_error("fichier", exc.message)
        return render(request, TEMPLATE, context, status=400)
    digest = hashlib.sha256(content).hexdigest()
    if plan.is_valid and plan.writes:
        cache.set(_cache_key(request, spec, digest), content, PENDING_SECONDS)
        request.session[_session_key(spec)] = {"sha256": digest, "filename": upload.name[:255]}
    context.update(_plan_context(spec, plan), sha256=digest, filename=upload.name, form=UploadForm())
    return render(request, TEMPLATE, context)


def _confirm(request, spec, context):
    pending = request.session.get(_session_key(spec)) or {}
    digest = request.POST.get("sha256", "")
    content = None
    if pending.get("sha256") and constant_time_compare(pending["sha256"], digest):
        content = cache.get(_cache_key(request, spec, digest))
    if content is None:
        messages.error(request, "Cette vérification a expiré ou a été remplacée par une autre : déposez de nouveau le fichier.")
        return redirect(context["url"])
    request.session.pop(_session_key(spec), None)
    cache.delete(_cache_key(request, spec, digest))
    filename = pending.get("filename", "")
    plan = None
    # Checked again: the database may have changed since the dry run (an establishment removed, another import).
    try:
        with engine.without_cyclic_gc():
            plan = engine.plan_import(spec, engine.read_lines(spec, content, filename))
            if not plan.is_valid:
                raise ApplicationError("Le fichier n'est plus valide depuis sa vérification : rien n'a été enregistré.")
            engine.apply_import(spec, plan, by=request.user, filename=filename, sha256=digest)
    except ApplicationError as exc:
        context.update(apply_error=exc.message, sha256=digest, filename=filename, confirmed=True)
        if plan is not None:
            context.update(_plan_context(spec, plan))
        return render(request, TEMPLATE, context, status=409)
    messages.success(request, f"Import enregistré ({filename}) : {plan.summary}.")
    return redirect(context["url"])


def _plan_context(spec, plan):
    writes = plan.writes
    rows = [
        {
            "line": change.line,
            "label": change.label,
            "action": change.action,
            "action_label": change.action_label,
            "differences": [
                (spec.field_labels.get(name, name), spec.display(name, old), spec.display(name, new))
                for name, old, new in change.differences
            ],
            "after": ", ".join(
                f"{spec.field_labels.get(name, name)} : {spec.display(name, change.values.get(name))}"
                for name in spec.fields
            ),
        }
        for change in writes[:SHOWN_CHANGES]
    ]
    return {"plan": plan, "rows": rows, "hidden_writes": max(len(writes) - SHOWN_CHANGES, 0)}
