"""`{% rendered_once "name" part… %}…{% endrendered_once %}`: a section of the page layout rendered once per process
and key parts (hopen/layout_cache.py says what may be wrapped and what may not)."""

from django import template
from django.utils.safestring import mark_safe

from hopen.layout_cache import rendered_once

from .keyed_sections import KeyedSectionNode, parse_keyed_section

register = template.Library()


class RenderedOnceNode(KeyedSectionNode):
    def render(self, context):
        name, parts = self.key(context)
        return mark_safe(  # noqa: S308 — HTML the template engine escaped when it rendered it
            rendered_once(name, parts, lambda: str(self.nodelist.render(context)))
        )


@register.tag("rendered_once")
def do_rendered_once(parser, token):
    return parse_keyed_section(parser, token, RenderedOnceNode, min_parts=0, message="un nom de section.")
