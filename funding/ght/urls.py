"""Pages of the GHT governance (included by `funding.urls`, namespace « funding »)."""

from django.urls import path

from . import views

urlpatterns = [
    path("ght/<str:code>/gouvernance/", views.governance, name="ght_governance"),
    path("ght/<str:code>/gouvernance/sdsi/", views.master_plan_upload, name="ght_master_plan_upload"),
    path("ght/<str:code>/gouvernance/sdsi/<int:document_id>/validation/", views.master_plan_validation,
         name="ght_master_plan_validation"),
    path("ght/<str:code>/gouvernance/sdsi/<int:document_id>/suppression/", views.master_plan_delete,
         name="ght_master_plan_delete"),
    path("ght/<str:code>/gouvernance/dsi/", views.cio_name, name="ght_cio_name"),
    path("ght/<str:code>/gouvernance/dsi/validation/", views.cio_validate, name="ght_cio_validate"),
    path("ght/<str:code>/gouvernance/valeurs/declarer/", views.values_declare_all, name="ght_values_declare_all"),
    path("ght/<str:code>/gouvernance/valeurs/<str:indicator_code>/", views.value_save, name="ght_value_save"),
    path("ght/<str:code>/gouvernance/versions/<int:value_id>/declarer/", views.value_declare, name="ght_value_declare"),
    path("ght/<str:code>/gouvernance/versions/<int:value_id>/corriger/", views.value_correct, name="ght_value_correct"),
    path("ght/<str:code>/gouvernance/versions/<int:value_id>/pieces/", views.value_document_upload,
         name="ght_value_document_upload"),
    path("ght/<str:code>/gouvernance/<str:kind>/<int:document_id>/telecharger/", views.document_download,
         name="ght_document_download"),
]
