"""`{% load money %}`: amounts in French in the pages, the same text as the letters (`hopen.formatting`)."""

from django import template

from hopen.formatting import french_euros

register = template.Library()


@register.filter
def euros(amount, decimals=2):
    """« 1 234 567,89 € » (`{{ amount|euros }}`; `{{ amount|euros:0 }}` for « 40 000 € »); empty for None."""
    if amount is None or amount == "":
        return ""
    return french_euros(amount, int(decimals))
