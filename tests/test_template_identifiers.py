"""Identifiers in templates are never localised: with USE_THOUSAND_SEPARATOR a primary key of 1234 renders
« 1 234 », which a form posting it back cannot read (the GHT support's validation answered 404 once the
pre-candidatures passed 1,000 rows)."""

import re
from pathlib import Path

from django.conf import settings
from django.template import Context, Template

BARE_IDENTIFIER = re.compile(r"\{\{ *[A-Za-z_][\w.]*\.(?:pk|id) *\}\}")


def test_thousands_separator_would_break_a_bare_identifier():
    rendered = Template("{{ n }}|{{ n|unlocalize }}").render(Context({"n": 123456}))
    assert rendered.split("|")[1] == "123456" and rendered.split("|")[0] != "123456"


def test_no_template_prints_a_bare_primary_key():
    offenders = [
        f"{path}:{number}"
        for path in Path(settings.BASE_DIR, "templates").rglob("*.html")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if BARE_IDENTIFIER.search(line)
    ]
    assert offenders == []
