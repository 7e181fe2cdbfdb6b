"""Pages of the referential imports held by `indicators` (included in the "indicators" namespace)."""

from django.urls import path, re_path

from . import views

urlpatterns = [
    path("referentiels/", views.referentials_home, name="referentials_home"),
    re_path(
        r"^referentiels/resultats-anterieurs/modele\.(?P<fmt>csv|xlsx)$",
        views.prior_results_template,
        name="prior_results_template",
    ),
    path("referentiels/resultats-anterieurs/", views.prior_results_import, name="prior_results_import"),
]

api_urlpatterns = [
    path("prior-results/import/", views.PriorResultsImportApi.as_view(), name="api_prior_results_import"),
]
