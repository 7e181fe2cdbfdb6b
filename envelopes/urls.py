from django.urls import path

from . import views

app_name = "envelopes"

urlpatterns = [
    path("enveloppes/", views.home, name="home"),
    path("enveloppes/redeploiement/", views.redeployment, name="redeployment"),
    path("enveloppes/<str:region_code>/", views.detail, name="detail"),
]
