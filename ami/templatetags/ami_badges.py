from django import template

from ami.badges import decision_badge_html

register = template.Library()
register.filter("decision_badge", decision_badge_html)
