"""Import of the RELIMS software-vendor referential (DGOS) with each vendor's QHN engagement (§5.3.1): the dossier
form and API pick a project's vendors per domain among `SoftwareVendor` rows, which only this import (or the Django
admin) fills.

File: `name;relims_reference;qhn_engaged;source`, one line per vendor, through the engine of
`indicators.referential_import` (same experience as the prior results: template, dry run, all-or-nothing
confirmation, audit, idempotent re-import; page and `POST /api/v1/software-vendors/import/`).

Decisions: a vendor is identified by its exact name (`SoftwareVendor.name` is unique; inner spaces collapsed), so a
re-import updates its RELIMS reference and QHN engagement; an empty `relims_reference` means « not referenced in
RELIMS ». The model has no field for `source`: it is checked (200 characters at most) and kept in the audit record
of each row the import writes. A vendor absent from the file is left as it is.
"""

import re

from django.contrib.auth.decorators import login_required
from django.urls import path, re_path
from django.views.decorators.http import require_GET, require_http_methods

from indicators.bulk.parsing import BOOLEAN_OF_TEXT, normalized_word
from indicators.referential_import import pages
from indicators.referential_import.api import ReferentialImportApi, import_schema
from indicators.referential_import.engine import ReferentialSpec

from .models import SoftwareVendor


class SoftwareVendorSpec(ReferentialSpec):
    code = "software_vendors"
    title = "Éditeurs de logiciels (RELIMS) et engagement QHN"
    model = SoftwareVendor
    columns = ("name", "relims_reference", "qhn_engaged", "source")
    required_columns = ("name", "qhn_engaged")
    unique_fields = ("name",)
    fields = ("relims_reference", "qhn_engaged")
    audit_only = ("source",)
    field_labels = {"relims_reference": "référence RELIMS", "qhn_engaged": "engagé QHN", "source": "source"}
    max_rows = 20_000
    audit_action = "software_vendor.import"
    file_stem = "editeurs-relims"
    sheet_title = "Éditeurs"
    help_lines = (
        "Une ligne par éditeur ; la première ligne (noms des colonnes) ne se modifie pas.",
        "name : raison sociale de l'éditeur (200 caractères au plus) ; un éditeur existant est reconnu à son nom.",
        "relims_reference : référence de l'éditeur dans le référentiel RELIMS (vide si l'éditeur n'y est pas "
        "référencé, 40 caractères au plus).",
        "qhn_engaged : oui si l'éditeur est engagé dans la démarche QHN, non sinon.",
        "source : par exemple « export RELIMS du 15/01/2019 » (facultatif, conservé dans la piste d'audit).",
        "Un nouvel import du même fichier ne change rien ; un éditeur absent du fichier n'est pas supprimé.",
    )

    def check(self, cells, context):
        messages = []
        name = re.sub(r"\s+", " ", cells.get("name", "")).strip()
        if not name:
            messages.append("name : colonne vide")
        elif len(name) > 200:
            messages.append(f"name : {len(name)} caractères, 200 au plus")
        reference = cells.get("relims_reference", "").strip()
        if len(reference) > 40:
            messages.append(f"relims_reference « {reference[:40]}… » : 40 caractères au plus")
        engaged_text = cells.get("qhn_engaged", "")
        engaged = BOOLEAN_OF_TEXT.get(normalized_word(engaged_text))
        if engaged is None:
            messages.append(
                f"qhn_engaged « {engaged_text} » : répondez oui ou non" if engaged_text.strip()
                else "qhn_engaged : colonne vide"
            )
        source = cells.get("source", "").strip()
        if len(source) > 200:
            messages.append(f"source : {len(source)} caractères, 200 au plus")
        if messages:
            return None, {}, messages
        values = {"name": name, "relims_reference": reference, "qhn_engaged": engaged, "source": source}
        return (name,), values, messages

    def existing(self, keys, context):
        if not keys:
            return {}
        return {(vendor.name,): vendor for vendor in SoftwareVendor.objects.filter(name__in=[key[0] for key in keys])}

    def label(self, cells):
        return cells.get("name", "")


SOFTWARE_VENDORS = SoftwareVendorSpec()


@login_required
@require_GET
def vendors_template(request, fmt):
    return pages.template_download(request, SOFTWARE_VENDORS, fmt)


@login_required
@require_http_methods(["GET", "POST"])
def vendors_import(request):
    pages.require_importer(request.user)
    return pages.import_page(
        request, SOFTWARE_VENDORS, url_name="funding:vendors_import", template_url_name="funding:vendors_template",
        extra={"vendor_count": SoftwareVendor.objects.count()},
    )


class SoftwareVendorsImportApi(ReferentialImportApi):
    spec = SOFTWARE_VENDORS

    @import_schema(
        operation_id="software_vendors_import",
        summary="Import du référentiel des éditeurs RELIMS et de leur engagement QHN (§5.3.1)",
        description=(
            "Fichier CSV ou XLSX, une ligne par éditeur, en-tête `name;relims_reference;qhn_engaged;source`. "
            "`dry_run=true` (par défaut) : vérification seule ; `dry_run=false` : écriture tout ou rien, tracée "
            "dans la piste d'audit ; un nouvel import du même fichier ne change rien. Réservé à la DGOS et à "
            "l'administrateur de la plateforme."
        ),
    )
    def post(self, request):
        return super().post(request)


# Pages, included by funding/urls.py in the "funding" namespace; API, concatenated by funding/api_urls.py.
urlpatterns = [
    re_path(r"^referentiels/editeurs/modele\.(?P<fmt>csv|xlsx)$", vendors_template, name="vendors_template"),
    path("referentiels/editeurs/", vendors_import, name="vendors_import"),
]
api_urlpatterns = [
    path("software-vendors/import/", SoftwareVendorsImportApi.as_view(), name="api_software_vendors_import"),
]
