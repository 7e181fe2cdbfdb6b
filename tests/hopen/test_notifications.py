"""The notifications (issue 16 item 2): the header's unread count (one query, none when not shown), the page with
read / unread, one or all marked read by POST — audited, scoped to the user (another's answers 404)."""

import re

from django.urls import reverse

from hopen.models import AuditRecord, Notification
from hopen.notifications import UnreadCount
from tests.factories import UserFactory


def text_of(response) -> str:
    return response.content.decode()


def test_the_header_counts_unread_and_the_page_lists_without_marking(client, db):
    me, other = UserFactory(), UserFactory()
    Notification.objects.create(recipient=me, message="Nouvelle pré-candidature déposée : CH Membre.", link="/ami/region/")
    Notification.objects.create(recipient=me, message="Lien douteux", link="javascript:alert(1)")
    Notification.objects.create(recipient=other, message="Pas pour vous")
    client.force_login(me)
    assert "Notifications <span id=\"compteur-notifications\">&nbsp;(2 non lues)</span>" in text_of(client.get(reverse("home")))
    page = text_of(client.get(reverse("notifications")))
    assert 'href="/ami/region/">Nouvelle pré-candidature déposée : CH Membre.</a>' in page
    assert "javascript:" not in page and "Pas pour vous" not in page
    assert page.count('data-read="new"') == 2
    # GET is safe: reading the page marks nothing.
    assert Notification.objects.filter(recipient=me, read_at__isnull=True).count() == 2


def test_mark_one_read_is_audited_and_scoped_to_the_user(client, db):
    me, other = UserFactory(), UserFactory()
    mine = Notification.objects.create(recipient=me, message="Un", link="/dossiers/")
    theirs = Notification.objects.create(recipient=other, message="Deux")
    client.force_login(me)
    assert client.get(reverse("notification_read", args=[mine.pk])).status_code == 405
    assert client.post(reverse("notification_read", args=[theirs.pk])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None

    response = client.post(reverse("notification_read", args=[mine.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("notifications")
    mine.refresh_from_db()
    assert mine.read_at is not None
    record = AuditRecord.objects.get(action="notification.read")
    assert record.actor_id == me.pk and record.object_id == str(mine.pk)
    # Again: nothing changes, nothing is written.
    client.post(reverse("notification_read", args=[mine.pk]))
    assert AuditRecord.objects.filter(action="notification.read").count() == 1
    page = text_of(client.get(reverse("notifications")))
    assert 'data-read="read"' in page and "lue le" in page and "non lue" not in page


def test_open_marks_read_and_follows_only_a_site_link(client, db):
    me = UserFactory()
    safe = Notification.objects.create(recipient=me, message="Un", link="/dossiers/")
    unsafe = Notification.objects.create(recipient=me, message="Deux", link="//evil.example/")
    client.force_login(me)
    assert client.post(reverse("notification_read", args=[safe.pk]), {"ouvrir": "1"})["Location"] == "/dossiers/"
    assert client.post(reverse("notification_read", args=[unsafe.pk]), {"ouvrir": "1"})["Location"] == reverse("notifications")


def test_mark_all_read_touches_only_the_users_notifications(client, db):
    me, other = UserFactory(), UserFactory()
    for i in range(3):
        Notification.objects.create(recipient=me, message=f"N{i}")
    Notification.objects.create(recipient=other, message="Autre")
    client.force_login(me)
    page = text_of(client.get(reverse("notifications") + "?etat=non-lues"))
    assert page.count('data-read="new"') == 3 and 'id="tout-marquer-lu"' in page
    response = client.post(reverse("notifications_read_all"), follow=True)
    assert "3 notifications marquées comme lues." in text_of(response)
    assert not Notification.objects.filter(recipient=me, read_at__isnull=True).exists()
    assert Notification.objects.filter(recipient=other, read_at__isnull=True).count() == 1
    record = AuditRecord.objects.get(action="notification.read_all")
    assert record.changes == {"unread": [3, 0]}
    unread_page = text_of(client.get(reverse("notifications") + "?etat=non-lues"))
    assert "Aucune notification non lue." in unread_page
    assert not re.search(r"compteur-notifications", unread_page)
    client.post(reverse("notifications_read_all"))
    assert AuditRecord.objects.filter(action="notification.read_all").count() == 1


def test_the_unread_counter_costs_one_query_and_none_when_not_shown(db, django_assert_num_queries):
    me = UserFactory()
    Notification.objects.create(recipient=me, message="Un")
    counter = UnreadCount(me)
    with django_assert_num_queries(1):
        assert bool(counter) and int(counter) == 1 and str(counter) == "1" and float(counter) == 1.0
    with django_assert_num_queries(0):
        UnreadCount(me)


def test_anonymous_users_are_sent_to_login(client, db):
    assert client.get(reverse("notifications")).status_code == 302
    assert client.post(reverse("notifications_read_all")).status_code == 302
