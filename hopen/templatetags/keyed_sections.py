"""What `{% cached_figures %}` (figure_cache.py) and `{% rendered_once %}` (layout.py) share: a block tag
`{% tag "name" part… %}…{% endtag %}` whose section is stored under its name and key parts (a part that is a list or
a tuple counts as its items)."""

from django import template


class KeyedSectionNode(template.Node):
    def __init__(self, nodelist, name, parts):
        self.nodelist, self.name, self.parts = nodelist, name, parts

    def key(self, context) -> tuple:
        """(name, parts) resolved in `context`."""
        parts = []
        for part in self.parts:
            value = part.resolve(context)
            parts.extend(value if isinstance(value, (list, tuple)) else [value])
        return self.name.resolve(context), tuple(parts)


def parse_keyed_section(parser, token, node_class, *, min_parts: int, message: str):
    bits = token.split_contents()
    if len(bits) < 2 + min_parts:
        raise template.TemplateSyntaxError(f"{bits[0]} : {message}")
    nodelist = parser.parse((f"end{bits[0]}",))
    parser.delete_first_token()
    return node_class(nodelist, parser.compile_filter(bits[1]), [parser.compile_filter(b) for b in bits[2:]])
