from django.urls import path

from . import views

app_name = "audits"

urlpatterns = [
    path("controles/", views.audit_list, name="audits"),
    path("controles/campagnes/", views.campaigns, name="campaigns"),
    path("controles/campagnes/<int:pk>/", views.campaign, name="campaign"),
    path("controles/<int:pk>/", views.audit_detail, name="audit"),
    path("controles/<int:pk>/constats/", views.audit_findings, name="findings"),
    path("controles/<int:pk>/envoi/", views.audit_send, name="send"),
    path("controles/<int:pk>/reponse/", views.audit_respond, name="respond"),
    path("controles/<int:pk>/decision/", views.audit_decide, name="decide"),
    path("controles/<int:pk>/courriers/<int:letter_id>/", views.letter_download, name="letter_download"),
    path("controles/<int:pk>/pieces/<int:document_id>/", views.response_document_download, name="response_document_download"),
]
