"""The ARS side of the AMI: the region's pre-candidatures, one pre-candidature, the programming, the exports."""

from django.urls import path

from . import views_ars

urlpatterns = [
    path("ami/region/", views_ars.ars_list, name="ars_list"),
    path("ami/region/export/", views_ars.export, name="export"),
    path("ami/pre-candidatures/<int:pk>/", views_ars.ars_detail, name="ars_detail"),
    path("ami/programmation/", views_ars.programming_page, name="programming"),
    path("ami/programmation/export/", views_ars.programming_export, name="programming_export"),
]
