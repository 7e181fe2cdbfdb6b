"""The ARS's and DGOS's funding dashboard and the project reviews of a dossier (annex 4 §3)."""

from django.urls import path

from . import views_dashboard

urlpatterns = [
    path("pilotage/", views_dashboard.dashboard_home, name="dashboard"),
    path("pilotage/<str:region_code>/", views_dashboard.dashboard_region, name="dashboard_region"),
    path("dossiers/<str:reference>/revues/", views_dashboard.dossier_reviews_page, name="dossier_reviews"),
    path("dossiers/<str:reference>/revues/nouvelle/", views_dashboard.review_create, name="review_create"),
]
