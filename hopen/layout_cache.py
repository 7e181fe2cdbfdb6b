"""Sections of the page layout rendered once per process: the footer, the display-settings dialog, the main menu.

Every page renders them again although they depend on a handful of values (issue 17: the fixed cost of a logged-in
page is what the small national pages spend beyond their SQL limit, and what caps the lists' throughput). A section
is stored under its name and the key parts its template passes — everything it reads besides the site configuration
and the process's constants (URL configuration, static files): the language, the menu's permission flags and the
current view — so that two requests with the same parts get the same HTML.

The site configuration is not a key part: the store is emptied whenever `hopen.site_config` reads the configuration
again (at most every minute, and at once after an edit in this process). The store is bounded (MAX_ENTRIES: the
menu has one entry per combination of flags and view actually requested); when full it is emptied, never evicted
piecemeal.

Never wrap anything that depends on the user beyond the parts given, on the query string, on a CSRF token or a CSP
nonce: those stay outside the `{% rendered_once %}` sections (templates/base.html).
"""

import threading

from django.conf import settings
from django.urls import get_script_prefix, get_urlconf
from django.utils.translation import get_language

MAX_ENTRIES = 512
_store: dict = {}
_lock = threading.Lock()


def rendered_once(name: str, parts: tuple, render) -> str:
    """The HTML of section `name` for `parts`: render() the first time, the stored string afterwards."""
    key = (name, get_language(), settings.ROOT_URLCONF, get_urlconf(), get_script_prefix(), *parts)
    html = _store.get(key)
    if html is None:
        html = render()
        with _lock:
            if len(_store) >= MAX_ENTRIES:
                _store.clear()
            _store[key] = html
    return html


def clear() -> None:
    with _lock:
        _store.clear()
