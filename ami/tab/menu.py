"""The « AMI » menu entry (the role's page) and the user's notifications."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_safe

from hopen import permissions
from hopen.models import Notification


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


NOTIFICATIONS_PER_PAGE = 30


@require_safe
@login_required
def notifications(request):
    """The user's notifications, newest first; those shown are marked read (they stay listed)."""
    page = Paginator(
        Notification.objects.filter(recipient=request.user).order_by("-created_at", "-id"), NOTIFICATIONS_PER_PAGE
    ).get_page(request.GET.get("page"))
    items = list(page.object_list)
    unread_ids = [n.pk for n in items if n.read_at is None]
    for item in items:
        item.is_new = item.read_at is None
        item.safe_link = item.link if item.link.startswith("/") and not item.link.startswith("//") else ""
    if unread_ids:
        Notification.objects.filter(pk__in=unread_ids, recipient=request.user, read_at__isnull=True).update(
            read_at=timezone.now()
        )
    return render(request, "hopen/notifications.html", {"page": page, "items": items, "unread_shown": len(unread_ids)})
