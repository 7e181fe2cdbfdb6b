"""The user's notifications page: unread ones marked, read one by one or all at once (POST, audited)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from . import notifications as inbox

PER_PAGE = 30
UNREAD_FILTER = "non-lues"


@require_safe
@login_required
def notifications(request):
    """The user's notifications, newest first; reading the page changes nothing (GET is safe)."""
    unread_only = request.GET.get("etat") == UNREAD_FILTER
    page = Paginator(inbox.notifications_of(request.user, unread_only=unread_only), PER_PAGE).get_page(
        request.GET.get("page")
    )
    items = list(page.object_list)
    for item in items:
        item.is_new = item.read_at is None
        item.safe_link = inbox.safe_link(item.link)
    return render(request, "hopen/notifications.html", {
        "page": page, "items": items, "unread_only": unread_only, "unread_filter": UNREAD_FILTER,
    })


@require_POST
@login_required
def notification_read(request, pk):
    """Mark one notification read (another user's answers 404); then follow its link if asked (« Ouvrir »)."""
    notification = inbox.notification_mark_read(notification_id=pk, by=request.user)
    link = inbox.safe_link(notification.link)
    if request.POST.get("ouvrir") and link:
        return redirect(link)
    return redirect("notifications")


@require_POST
@login_required
def notifications_read_all(request):
    count = inbox.notifications_mark_all_read(by=request.user)
    if count:
        messages.success(request, f"{count} notification{'s' if count > 1 else ''} marquée{'s' if count > 1 else ''} comme lue{'s' if count > 1 else ''}.")
    return redirect("notifications")
