from django.urls import path, re_path

from . import views_bulk

# Not under "etablissements/<finess>/indicateurs/…": that prefix belongs to the indicator pages (indicators/urls.py).
urlpatterns = [
    re_path(
        r"^etablissements/(?P<finess>[0-9A-Za-z]+)/saisie-en-masse/modele\.(?P<fmt>csv|xlsx)$",
        views_bulk.bulk_template,
        name="bulk_template",
    ),
    path("etablissements/<str:finess>/saisie-en-masse/", views_bulk.bulk_import, name="bulk_import"),
]
