"""Pages of the establishment's AMI tab (annex 5), the GHT support queue and the notifications (namespace "ami")."""

from django.urls import path

from . import views_tab

urlpatterns = [
    path("ami/", views_tab.home, name="home"),
    path("etablissements/<str:finess>/ami/", views_tab.tab, name="tab"),
    path(
        "etablissements/<str:finess>/ami/pieces/<int:attachment_id>/",
        views_tab.attachment_download,
        name="attachment_download",
    ),
    path("ami/validations-ght/", views_tab.support_queue, name="support_queue"),
    path("notifications/", views_tab.notifications, name="notifications"),
]
