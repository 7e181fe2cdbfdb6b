"""The ARS's and DGOS's funding dashboard (annex 4 §3)."""

from django.urls import path

from . import views

urlpatterns = [
    path("pilotage/", views.dashboard_home, name="dashboard"),
    path("pilotage/<str:region_code>/", views.dashboard_region, name="dashboard_region"),
]
