"""Dossier pages (namespace "funding"): the list, a new dossier, one dossier with its actions."""

from django.urls import path

from . import views_dossiers

urlpatterns = [
    path("dossiers/", views_dossiers.dossier_list, name="dossier_list"),
    path("dossiers/nouveau/", views_dossiers.dossier_create, name="dossier_create"),
    path("dossiers/<str:reference>/", views_dossiers.dossier_detail, name="dossier_detail"),
]
