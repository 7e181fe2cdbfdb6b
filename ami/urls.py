from django.urls import include, path

app_name = "ami"

urlpatterns = [path("", include("ami.urls_tab")), path("", include("ami.urls_ars"))]
