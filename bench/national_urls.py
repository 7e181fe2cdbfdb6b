"""The project's URLs plus `/banc/vide/`: an authenticated view that does nothing, through the whole middleware
stack (session, user, programme, CSP, axes…) — the throughput every page is compared with under load."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.urls import path

from hopen.urls import urlpatterns as project_urlpatterns


@login_required
def nothing(request):
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [path("banc/vide/", nothing, name="bench_nothing"), *project_urlpatterns]
