"""The project reviews of a dossier (annex 4 §3)."""

from django.urls import path

from . import views

urlpatterns = [
    path("dossiers/<str:reference>/revues/", views.dossier_reviews_page, name="dossier_reviews"),
    path("dossiers/<str:reference>/revues/nouvelle/", views.review_create, name="review_create"),
]
