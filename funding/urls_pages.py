"""Funding pages (included at the site root under the "funding" namespace)."""

from django.urls import path

from . import views

urlpatterns = [
    path("etablissements/<str:finess>/financement/", views.estimate_establishment, name="estimate_establishment"),
    path("financement/calculateur/", views.calculator, name="calculator"),
    path("financement/repartition-regionale/", views.regional_shares, name="regional_shares"),
]
