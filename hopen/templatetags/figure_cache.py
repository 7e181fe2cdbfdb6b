"""`{% cached_figures "name" part… %}…{% endcached_figures %}`: a section of a page rendered once per write version.

The rendered HTML goes through `hopen.figure_cache.cached_figures` (fail-open, bounded life), keyed by the name, the
request's write version (`hopen.write_version.request_write_version`) and the parts given (a part that is a list or
a tuple counts as its items). The section must depend on nothing but those parts and the data at that version: the
scope and the programme, never the user, the query string or a per-request token (pagination, CSRF, forms, nonces
stay outside).
"""

from django import template
from django.utils.safestring import mark_safe

from hopen.figure_cache import cached_figures
from hopen.write_version import request_write_version

register = template.Library()


class CachedFiguresNode(template.Node):
    def __init__(self, nodelist, name, parts):
        self.nodelist, self.name, self.parts = nodelist, name, parts

    def render(self, context):
        parts = []
        for part in self.parts:
            value = part.resolve(context)
            parts.extend(value if isinstance(value, (list, tuple)) else [value])
        return mark_safe(cached_figures(  # noqa: S308 — HTML the template engine escaped when it rendered it
            self.name.resolve(context), parts, lambda: str(self.nodelist.render(context)),
            version=request_write_version(context["request"]),
        ))


@register.tag("cached_figures")
def do_cached_figures(parser, token):
    bits = token.split_contents()
    if len(bits) < 3:
        raise template.TemplateSyntaxError(f"{bits[0]} : un nom et au moins une partie de clé (la portée).")
    nodelist = parser.parse(("endcached_figures",))
    parser.delete_first_token()
    return CachedFiguresNode(nodelist, parser.compile_filter(bits[1]), [parser.compile_filter(b) for b in bits[2:]])
