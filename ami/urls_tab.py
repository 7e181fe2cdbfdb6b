"""Pages of the establishment's AMI tab (annex 5), and the GHT support queue (namespace "ami")."""

from django.urls import path

from .tab import attachments, menu, support, views

urlpatterns = [
    path("ami/", menu.home, name="home"),
    path("etablissements/<str:finess>/ami/", views.tab, name="tab"),
    path(
        "etablissements/<str:finess>/ami/pieces/<int:attachment_id>/",
        attachments.attachment_download,
        name="attachment_download",
    ),
    path("ami/validations-ght/", support.support_queue, name="support_queue"),
]
