"""`{% load money %}`: numbers in French in the pages, the same text as the letters and charts (`hopen.formatting`).

`euros` amounts, `keur` thousands of euros, `integer` counts, `quantity` measured quantities, `percent`
percentages, `signed` differences, `count` a count with its noun, `svg` SVG geometry (never localised). Every
filter prints nothing for None, so a missing figure stays blank instead of « None ».
"""

from django import template

from hopen import formatting

register = template.Library()


def _missing(value) -> bool:
    return value is None or value == ""


@register.filter
def euros(amount, decimals=2):
    """« 1 234 567,89 € » (`{{ amount|euros }}`; `{{ amount|euros:0 }}` for « 40 000 € »); empty for None."""
    return "" if _missing(amount) else formatting.french_euros(amount, int(decimals))


@register.filter
def keur(amount_keur):
    """« 37 018 k€ » (an amount already in thousands of euros)."""
    return "" if _missing(amount_keur) else formatting.french_keur(amount_keur)


@register.filter
def integer(value):
    """« 166 463 »: a count, never with decimals."""
    return "" if _missing(value) else formatting.french_integer(value)


@register.filter
def quantity(value, max_decimals=2):
    """« 166 463 » or « 1 234,5 »: decimals only when the quantity has some."""
    return "" if _missing(value) else formatting.french_quantity(value, int(max_decimals))


@register.filter
def percent(value, decimals=0):
    """« 90 % » (`{{ share|percent:1 }}` for « 95,5 % »)."""
    return "" if _missing(value) else formatting.french_percent(value, int(decimals))


@register.filter
def signed(value, decimals=2):
    """« +0,13 », « −0,13 »."""
    return "" if _missing(value) else formatting.french_signed(value, int(decimals))


@register.filter
def count(value, nouns):
    """`{{ n|count:"établissement" }}` → « 0 établissement », « 2 établissements »; an irregular plural after a
    comma: `{{ n|count:"hôpital,hôpitaux" }}`."""
    if _missing(value):
        return ""
    singular, _, plural_form = str(nouns).partition(",")
    return formatting.french_count(value, singular, plural_form or None)


@register.filter
def plural(value, nouns):
    """The noun alone, agreed with the count: `{{ n|plural:"domaine" }}`."""
    singular, _, plural_form = str(nouns).partition(",")
    return formatting.plural(value or 0, singular, plural_form or None)


@register.filter
def svg(value):
    """A number for an SVG attribute: « 1412.5 », never « 1 412,5 »."""
    return "0" if _missing(value) else formatting.svg_number(value)


@register.filter
def plural_s(value):
    """« s » from two on, nothing for 0 and 1: the French agreement of the words after a count (Django's
    `pluralize` writes « 0 pièces supprimées »)."""
    return formatting.plural(value or 0, "", "s")
