"""The national export of the dossiers with their ledger sums (DGOS: the nation or one region; ARS: its region)."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponseBadRequest
from django.utils.text import slugify
from django.views.decorators.http import require_GET

from hopen.exports import FORMAT_REFUSED
from hopen.national_exports import FormatRefused, export_scope

from .export import dossiers_export


@login_required
@require_GET
def dossiers_export_view(request):
    try:
        scope = export_scope(request, "dossiers", f"dossiers-{slugify(request.programme.code)}")
    except FormatRefused:
        return HttpResponseBadRequest(FORMAT_REFUSED)
    return dossiers_export(scope.fmt, request.programme, scope.region_ids, scope.filename)
