"""Forms of the funding pages: the amount calculator (annex 3) and the administrator's combined-activity override.

Numbers are typed the French way or the international way (« 615 000,50 » or « 615000.50 »); every refusal
is a French message next to the field, and the typed text is shown back as it was.
"""

import re
from decimal import Decimal, InvalidOperation

from django import forms
from django.core.exceptions import ValidationError

from .models import CombinedActivity
from .rules import ActivityInputs, combined_activity

SPACES = re.compile(r"[\s\u00a0\u202f]+")
NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
# CombinedActivity.override has 14 digits, 2 of them decimals; a raw activity figure fits PostgreSQL's integer.
COMBINED_ACTIVITY_MAX = Decimal("999999999999.99")
FIGURE_MAX = 2_147_483_647

NEGATIVE_COMBINED_ACTIVITY = "L'activité combinée ne peut pas être négative."
NEGATIVE_FIGURE = "Un nombre de journées, de séances ou de séjours ne peut pas être négatif."


def parse_non_negative(text, *, integer=False, maximum=None, negative_message=NEGATIVE_COMBINED_ACTIVITY):
    """The number typed in `text` (None when empty), or a ValidationError with a French message."""
    raw = "" if text is None else str(text).strip()
    if not raw:
        return None
    normalised = SPACES.sub("", raw).replace(",", ".")
    if not NUMBER.match(normalised):
        example = "12000" if integer else "615000 ou 615 000,50"
        raise ValidationError(
            f"« {raw} » n'est pas un nombre : saisissez des chiffres, par exemple {example}.", code="invalid"
        )
    try:
        value = Decimal(normalised)
    except InvalidOperation:  # pragma: no cover - the pattern already guarantees a decimal
        raise ValidationError(f"« {raw} » n'est pas un nombre.", code="invalid") from None
    if value < 0:
        raise ValidationError(negative_message, code="negative")
    if integer:
        if value != value.to_integral_value():
            raise ValidationError(
                f"« {raw} » n'est pas un nombre entier : saisissez un nombre de journées, de séances ou de séjours.",
                code="not_integer",
            )
        value = int(value)
    if maximum is not None and value > maximum:
        raise ValidationError("Ce nombre est trop grand.", code="too_large")
    return value


class NumberField(forms.CharField):
    """A non-negative number in a text input (a `type=number` input would drop what the browser cannot parse)."""

    def __init__(self, *, integer=False, maximum=None, negative_message=NEGATIVE_COMBINED_ACTIVITY, **kwargs):
        self.integer, self.maximum, self.negative_message = integer, maximum, negative_message
        kwargs.setdefault("required", False)
        kwargs.setdefault(
            "widget",
            forms.TextInput(attrs={"inputmode": "numeric" if integer else "decimal", "autocomplete": "off"}),
        )
        super().__init__(**kwargs)

    def to_python(self, value):
        return parse_non_negative(
            super().to_python(value), integer=self.integer, maximum=self.maximum,
            negative_message=self.negative_message,
        )


# The terms of annex 3 §1, named like `rules.ActivityInputs`.
FIGURE_LABELS = {
    "mco_days": "MCO — journées d'hospitalisation complète",
    "mco_sessions": "MCO — séances",
    "ambulatory_surgery_stays": "MCO — hospitalisations de jour de chirurgie ambulatoire",
    "other_day_stays": "MCO — hospitalisations de jour hors chirurgie ambulatoire",
    "ssr_days": "SSR — journées",
    "psy_days": "PSY — journées",
    "had_days": "HAD — journées",
}


class CalculatorForm(forms.Form):
    """Either a combined activity, or the activity figures it is computed from (annex 3 §1)."""

    combined_activity = NumberField(
        label="Activité combinée",
        maximum=COMBINED_ACTIVITY_MAX,
        help_text="En équivalents journées MCO, par exemple 615 000.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, label in FIGURE_LABELS.items():
            self.fields[name] = NumberField(
                label=label, integer=True, maximum=FIGURE_MAX, negative_message=NEGATIVE_FIGURE
            )
        self.value = None
        self.inputs = None

    def figure_fields(self):
        return [self[name] for name in FIGURE_LABELS]

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        value = cleaned.get("combined_activity")
        figures = {name: cleaned[name] for name in FIGURE_LABELS if cleaned.get(name) is not None}
        if value is not None and figures:
            raise ValidationError(
                "Saisissez soit l'activité combinée, soit les données d'activité, pas les deux : "
                "videz l'une des deux parties du formulaire."
            )
        if value is None and not figures:
            raise ValidationError("Saisissez l'activité combinée, ou au moins une donnée d'activité.")
        if figures:
            self.inputs = ActivityInputs(**figures)
            self.value = combined_activity(self.inputs)
        else:
            self.value = value
        return cleaned


class CombinedActivityOverrideForm(forms.ModelForm):
    """Django admin: the figure an administrator enters instead of the computed one, and its reason.

    The write itself goes through `funding.services.combined_activity_override` (audited), which keeps the
    final word on the rules; this form only reports the obvious mistakes next to the fields.
    """

    class Meta:
        model = CombinedActivity
        fields = ["override", "override_reason"]
        help_texts = {
            "override": "Laissez vide pour revenir à la valeur calculée sur les données SAE.",
            "override_reason": "Obligatoire avec une valeur saisie (par exemple « activité combinée 2017 de l'ATIH »).",
        }

    def clean_override(self):
        value = self.cleaned_data.get("override")
        if value is not None and value < 0:
            raise ValidationError(NEGATIVE_COMBINED_ACTIVITY)
        return value

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("override") is not None and not (cleaned.get("override_reason") or "").strip():
            self.add_error("override_reason", "Motivez l'activité combinée saisie.")
        return cleaned
