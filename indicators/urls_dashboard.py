from django.urls import path

from . import views_dashboard, views_exports

urlpatterns = [
    path("etablissements/<str:finess>/indicateurs/", views_dashboard.dashboard, name="dashboard"),
    path("indicateurs/", views_dashboard.indicators_home, name="home"),
    path("indicateurs/etablissements/", views_dashboard.regional_table, name="regional_table"),
    path("indicateurs/completude/", views_dashboard.completeness, name="completeness"),
    path("indicateurs/completude/export/", views_dashboard.completeness_export_view, name="completeness_export"),
    path("indicateurs/export/valeurs/", views_exports.values_export_view, name="values_export"),
]
