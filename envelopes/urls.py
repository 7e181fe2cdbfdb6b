from django.urls import path

from . import views

app_name = "envelopes"

urlpatterns = [
    path("enveloppes/", views.home, name="home"),
    path("enveloppes/redeploiement/", views.redeployment, name="redeployment"),
    path("enveloppes/grand-livre/export/", views.ledger_export_all, name="ledger_export"),
    path("enveloppes/<str:region_code>/", views.detail, name="detail"),
    path("enveloppes/<str:region_code>/grand-livre/export/", views.ledger_export_region, name="ledger_export_region"),
]
