"""The « AMI » menu entry: the role's page (the notifications page is `hopen.views_notifications`)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_safe

from hopen import permissions


@require_safe
@login_required
def home(request):
    """The « AMI » menu entry: the role's page (own tab, support queue, ARS list)."""
    scope = permissions.scope_of(request.user)
    if scope.national or scope.region_ids:
        try:
            return redirect(reverse("ami:ars_list"))
        except NoReverseMatch:
            return redirect("establishment_list")
    if scope.ght_ids:
        return redirect("ami:support_queue")
    finesses = list(
        permissions.establishments_readable_by(request.user).filter(pk__in=scope.establishment_ids).values_list("finess", flat=True)[:2]
    )
    if len(finesses) == 1:
        return redirect("ami:tab", finess=finesses[0])
    return redirect("home")
