"""The national export of the declared indicator values (DGOS: the nation or one region; ARS: its region)."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponseBadRequest
from django.utils.text import slugify
from django.views.decorators.http import require_GET

from hopen.exports import FORMAT_REFUSED
from hopen.national_exports import FormatRefused, export_scope

from .values_export import values_export


@login_required
@require_GET
def values_export_view(request):
    try:
        scope = export_scope(request, "indicator_values", f"valeurs-{slugify(request.programme.code)}")
    except FormatRefused:
        return HttpResponseBadRequest(FORMAT_REFUSED)
    return values_export(scope.fmt, request.programme, scope.region_ids, scope.filename)
