"""The DSFR site configuration (`dsfr.models.DsfrConfig`: title, notice banner, mourning, footer) read once per
process and minute instead of once per page.

django-dsfr's own context processor (`dsfr.context_processors.site_config`) queries the configuration on every
rendered page — one of the few statements every logged-in page pays whatever it shows (issue 17: the fixed cost of a
page is what the small national pages spend beyond their SQL limit). The configuration is edited a few times a year
in the admin. Here it is kept per language in the process:

- a save or a deletion in this process empties the store at once (signals below): the admin who edits the banner
  sees it at the next page;
- another process (the other gunicorn workers) sees the change within MAX_AGE seconds at most;
- the layout sections rendered once per process (`hopen.layout_cache`: the footer shows the configuration) are
  emptied whenever the configuration is read again;
- tests empty the store before each test (tests/conftest.py), since a rolled-back test may leave it holding a
  configuration that no longer exists.

Same lookup as django-dsfr's: the configuration of the active language, else the first one.
"""

import threading
import time

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils.translation import get_language
from dsfr.models import DsfrConfig

from . import layout_cache

MAX_AGE = 60  # seconds an edit made in another process may take to show
_store: dict = {}
_lock = threading.Lock()


def current_site_config(*, now=time.monotonic):
    """The DsfrConfig of the active language (else the first one; None when there is none)."""
    language = get_language()
    moment = now()
    stored = _store.get(language)
    if stored is not None and moment - stored[0] < MAX_AGE:
        return stored[1]
    config = DsfrConfig.objects.filter(language=language).first() or DsfrConfig.objects.first()
    with _lock:
        _store[language] = (moment, config)
    layout_cache.clear()  # the footer reads the configuration: rendered again from this one
    return config


def clear() -> None:
    with _lock:
        _store.clear()
    layout_cache.clear()


def site_config(request):
    """Context processor replacing `dsfr.context_processors.site_config` (same `SITE_CONFIG` variable)."""
    return {"SITE_CONFIG": current_site_config()}


@receiver(post_save, sender=DsfrConfig, dispatch_uid="hopen-site-config-saved")
@receiver(post_delete, sender=DsfrConfig, dispatch_uid="hopen-site-config-deleted")
def _forget(**kwargs):
    clear()
