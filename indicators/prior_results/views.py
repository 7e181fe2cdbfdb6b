"""The prior-results import page and API: thin wrappers around `indicators.referential_import`."""

from django.contrib.auth.decorators import login_required
from django.views.decorators.http import require_GET, require_http_methods

from indicators.referential_import import pages
from indicators.referential_import.api import ReferentialImportApi, import_schema

from .spec import PRIOR_RESULTS


@login_required
@require_GET
def referentials_home(request):
    return pages.home(request)


@login_required
@require_GET
def prior_results_template(request, fmt):
    return pages.template_download(request, PRIOR_RESULTS, fmt)


@login_required
@require_http_methods(["GET", "POST"])
def prior_results_import(request):
    return pages.import_page(
        request, PRIOR_RESULTS, url_name="indicators:prior_results_import",
        template_url_name="indicators:prior_results_template",
    )


class PriorResultsImportApi(ReferentialImportApi):
    spec = PRIOR_RESULTS

    @import_schema(
        operation_id="prior_results_import",
        summary="Import des résultats des programmes antérieurs (Hôpital numérique, §5.3.1)",
        description=(
            "Fichier CSV ou XLSX, une ligne par établissement et résultat, en-tête "
            "`finess;programme;result;domain;achieved;achieved_on;amount;source`. `dry_run=true` (par défaut) : "
            "vérification seule, chaque ligne en erreur avec son numéro et son motif ; `dry_run=false` : écriture "
            "tout ou rien, tracée dans la piste d'audit ; un nouvel import du même fichier ne change rien. "
            "Réservé à la DGOS et à l'administrateur de la plateforme."
        ),
    )
    def post(self, request):
        return super().post(request)
