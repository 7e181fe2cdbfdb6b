"""Dossier pages (namespace "funding"): the list, a new dossier, one dossier with its actions."""

from django.urls import path

from . import views, views_export

urlpatterns = [
    path("dossiers/", views.dossier_list, name="dossier_list"),
    path("dossiers/nouveau/", views.dossier_create, name="dossier_create"),
    path("dossiers/export/", views_export.dossiers_export_view, name="dossiers_export"),
    path("dossiers/<str:reference>/", views.dossier_detail, name="dossier_detail"),
]
