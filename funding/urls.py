"""Funding pages (included at the site root under the "funding" namespace): the estimate pages, then each part's."""

from django.urls import include, path

from . import views

app_name = "funding"

urlpatterns = [
    path("etablissements/<str:finess>/financement/", views.estimate_establishment, name="estimate_establishment"),
    path("financement/calculateur/", views.calculator, name="calculator"),
    path("financement/repartition-regionale/", views.regional_shares, name="regional_shares"),
    path("", include("funding.dossiers.urls")),
    path("", include("funding.letters.urls")),
    path("", include("funding.dashboard.urls")),
    path("", include("funding.reviews.urls")),
    path("", include("funding.ght.urls")),
    path("", include("funding.eligibility.vendors_import")),
]
