from django.contrib.auth.decorators import login_required
from django.http import Http404


@login_required
def indicator_detail(request, finess, code):
    raise Http404("Page en cours de construction.")
