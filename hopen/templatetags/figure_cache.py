"""`{% cached_figures "name" part… %}…{% endcached_figures %}`: a section of a page rendered once per write version.

The rendered HTML goes through `hopen.figure_cache.cached_figures` (fail-open, bounded life), keyed by the name, the
request's write version (`hopen.write_version.request_write_version`) and the parts given (a part that is a list or
a tuple counts as its items). The section must depend on nothing but those parts and the data at that version: the
scope and the programme, never the user, the query string or a per-request token (pagination, CSRF, forms, nonces
stay outside).
"""

from django import template
from django.conf import settings
from django.utils.safestring import mark_safe

from hopen.figure_cache import cached_figures
from hopen.write_version import request_write_version

from .keyed_sections import KeyedSectionNode, parse_keyed_section

register = template.Library()


class CachedFiguresNode(KeyedSectionNode):
    def render(self, context):
        if not getattr(settings, "FIGURE_CACHE_ENABLED", True):
            return self.nodelist.render(context)  # no cache: no write version to read either
        name, parts = self.key(context)
        return mark_safe(cached_figures(  # noqa: S308 — HTML the template engine escaped when it rendered it
            name, list(parts), lambda: str(self.nodelist.render(context)),
            version=request_write_version(context["request"]),
        ))


@register.tag("cached_figures")
def do_cached_figures(parser, token):
    return parse_keyed_section(
        parser, token, CachedFiguresNode, min_parts=1, message="un nom et au moins une partie de clé (la portée)."
    )
