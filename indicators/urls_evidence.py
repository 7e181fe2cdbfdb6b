from django.urls import path

from . import views_evidence

urlpatterns = [
    path(
        "indicateurs/valeurs/<int:value_id>/pieces-justificatives/",
        views_evidence.evidence_upload_view,
        name="evidence_upload",
    ),
    path(
        "pieces-justificatives/<int:evidence_id>/telecharger/",
        views_evidence.evidence_download,
        name="evidence_download",
    ),
    path(
        "pieces-justificatives/<int:evidence_id>/supprimer/",
        views_evidence.evidence_delete_view,
        name="evidence_delete",
    ),
]
