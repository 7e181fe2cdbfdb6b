"""What the national exports (indicator values, dossiers with their ledger sums) share: the permission, the scope
(the nation or one region for the national roles, its region for an ARS), the format, the audit record.

Each export is one SELECT formatted and streamed by PostgreSQL (`hopen.exports_copy`): constant memory and one
statement whatever the number of lines (issue 17: peak RSS under 150 MB at ten times the national size).
"""

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied

from . import permissions
from .exports import export_filename, export_format
from .models import Region
from .services import export_record

REFUSED = "Les exports nationaux sont réservés à la DGOS et aux ARS (pour leur région)."


class FormatRefused(Exception):
    pass


@dataclass(frozen=True)
class ExportScope:
    fmt: str
    region_ids: frozenset | None  # None: the nation
    filename: str


def export_scope(request, export: str, prefix: str) -> ExportScope:
    """Permission first (403), then the region filter (404 outside the scope), then the format (FormatRefused);
    records the download on the audit trail."""
    if not permissions.can_export_national_tables(request.user):
        raise PermissionDenied(REFUSED)
    region_ids = permissions.export_region_ids(request.user, request.GET.get("region") or None)
    fmt = export_format(request)
    if fmt is None:
        raise FormatRefused
    codes = []
    if region_ids is not None:
        codes = sorted(Region.objects.filter(pk__in=region_ids).values_list("code", flat=True))
    export_record(export=export, fmt=fmt, region_codes=codes, by=request.user)
    return ExportScope(fmt, region_ids, export_filename(prefix, codes or None))
