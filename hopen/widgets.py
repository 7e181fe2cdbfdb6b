"""A select rendered in Python: the filter bars offer hundreds of options (GHT, categories) and Django renders each
one through two template includes (select_option.html, attrs.html) — at national scale that was most of the
filter form's cost (issue 17). `Select` writes exactly the markup of Django's templates (checked by
tests/hopen/test_widgets.py against `forms.Select`), escaping labels, values and attributes the same way."""

from django import forms
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe


def _attrs(attrs: dict) -> str:
    """django/forms/widgets/attrs.html: ` name="value"`, ` name` for True, nothing for False."""
    parts = []
    for name, value in attrs.items():
        if value is False:
            continue
        if value is True:
            parts.append(f" {conditional_escape(name)}")
        else:
            parts.append(f' {conditional_escape(name)}="{conditional_escape("%s" % (value,))}"')
    return "".join(parts)


class Select(forms.Select):
    """forms.Select with the same HTML, without a template per option."""

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        parts = [f'<select name="{conditional_escape(widget["name"])}"{_attrs(widget["attrs"])}>']
        for group_name, group_choices, _ in widget["optgroups"]:
            if group_name:
                parts.append(f'\n  <optgroup label="{conditional_escape(group_name)}">')
            # The option template's own trailing newline is kept by the include, hence the "\n" after each.
            parts.extend(
                f'\n  <option value="{conditional_escape("%s" % (option["value"],))}"{_attrs(option["attrs"])}>'
                f'{conditional_escape(option["label"])}</option>\n'
                for option in group_choices
            )
            if group_name:
                parts.append("\n  </optgroup>")
        parts.append("\n</select>")
        return mark_safe("".join(parts))
