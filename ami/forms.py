"""Forms of the AMI tab (annex 5). Validation is the service's (`ami.services.input_errors`), shown field by field;
the form adds only what a row of the page needs to say where the problem is (which domain, which rank)."""

from decimal import Decimal, InvalidOperation

from django import forms

from indicators.periods import semesters_between

from .models import DOMAIN_CODES, Position
from .rules import semesters_offered
from .services import DomainChoice, PreCandidatureInput, input_errors

DOMAINS = [code for code, _ in DOMAIN_CODES]
YES_NO = [("", "Non renseigné"), ("yes", "Oui"), ("no", "Non")]
OUT_OF_CALENDAR = "(hors calendrier)"
PAST = "(semestre passé)"


def semester_label(label: str) -> str:
    """« 2019 S1 » → « 2019 semestre 1 », as annex 5 lists the choices."""
    year, _, half = label.partition(" S")
    return f"{year} semestre {half}" if half else label


def semester_choices(semesters, empty_label: str) -> list:
    return [("", empty_label)] + [(s, semester_label(s)) for s in semesters]


def offered(semester_range, day) -> list:
    """Annex 5 ranges, without the semesters already past on `day`; none when `day` is None (window closed)."""
    return [] if day is None else semesters_offered(semester_range.first, semester_range.last, day)


class AmountField(forms.Field):
    """An amount in euros as people type it in French: « 1 250 000 », « 1 250 000,50 », « 1250000.5 € »."""

    widget = forms.TextInput

    def to_python(self, value):
        text = str(value or "").strip()
        if not text:
            return None
        cleaned = "".join(text.replace("€", "").split()).replace("\u202f", "").replace("\u00a0", "").replace(",", ".")
        try:
            amount = Decimal(cleaned)
        except InvalidOperation:
            raise forms.ValidationError(
                f"« {text} » n'est pas un montant : écrivez par exemple 1 250 000 ou 1 250 000,50."
            ) from None
        if not amount.is_finite() or amount.as_tuple().exponent < -2:
            raise forms.ValidationError("Le montant s'écrit en euros, avec au plus deux décimales (centimes).")
        if abs(amount) >= Decimal("1e12"):
            raise forms.ValidationError("Le montant est trop grand (au plus 999 999 999 999,99 €).")
        return amount


class PreCandidatureForm(forms.Form):
    """Sections 2 to 5 of the tab. `domains` are built from D1–D7 rows: semester (empty = no candidature),
    priority rank, planning with its observation periods."""

    position = forms.ChoiceField(label="Positionnement dans le cadre de l'AMI", choices=Position.choices, widget=forms.RadioSelect)
    hn_prerequisites_reached = forms.ChoiceField(label="Prérequis Hôpital numérique atteints ?", choices=YES_NO, required=False)
    hn_prerequisites_forecast = forms.CharField(
        label="Si non, période prévisionnelle d'atteinte des prérequis HN", required=False, widget=forms.Select
    )
    hopen_prerequisites_forecast = forms.CharField(
        label="Période prévisionnelle d'atteinte des prérequis HOP'EN", required=False, widget=forms.Select
    )
    referent_name = forms.CharField(label="Nom et prénom", required=False, max_length=200)
    referent_function = forms.CharField(label="Fonction", required=False, max_length=200)
    referent_email = forms.EmailField(
        label="Adresse électronique", required=False, max_length=254,
        error_messages={"invalid": "Saisissez une adresse électronique valide, par exemple nom@ch-exemple.fr."},
    )
    referent_phone = forms.CharField(label="Téléphone", required=False, max_length=30)
    legal_representative_name = forms.CharField(label="Nom et prénom", required=False, max_length=200)
    legal_representative_function = forms.CharField(label="Fonction", required=False, max_length=200)
    comment = forms.CharField(label="Commentaire", required=False, widget=forms.Textarea(attrs={"rows": 5}))
    investment_amount = AmountField(
        label="Poids de l'investissement (montant estimé du projet, en euros)", required=False,
        widget=forms.TextInput(attrs={"maxlength": 40}),
    )
    business_stakes = forms.CharField(
        label="Enjeux métiers et retour sur investissement attendu", required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
    )

    def __init__(self, *args, programme, prerequisites_range, domain_range, offered_on, **kwargs):
        """`offered_on`: the day the semesters are offered for (those not already past); None while the AMI window is
        closed: no semester is offered and every field is read-only (§5.3.2 « Etape 1 »)."""
        super().__init__(*args, **kwargs)
        self.programme = programme
        self.prerequisites_range = prerequisites_range
        self.domain_range = domain_range
        self.read_only = offered_on is None
        self.fields["hopen_prerequisites_forecast"].label = f"Période prévisionnelle d'atteinte des prérequis {programme.name}"
        self.prerequisite_semesters = offered(prerequisites_range, offered_on)
        self.domain_semesters = offered(domain_range, offered_on)
        prerequisite_choices = semester_choices(self.prerequisite_semesters, "Non renseignée")
        self.fields["hn_prerequisites_forecast"].widget.choices = list(prerequisite_choices)
        self.fields["hopen_prerequisites_forecast"].widget.choices = list(prerequisite_choices)
        domain_choices = semester_choices(self.domain_semesters, "Pas de candidature")
        ranks = [("", "—")] + [(str(i), str(i)) for i in range(1, len(DOMAINS) + 1)]
        for code in DOMAINS:
            self.fields[f"{code}_semester"] = forms.CharField(
                label=f"{code} — semestre prévisionnel d'atteinte des cibles d'usage", required=False,
                widget=forms.Select(choices=list(domain_choices)),
            )
            self.fields[f"{code}_priority"] = forms.CharField(
                label=f"{code} — rang de priorité", required=False, widget=forms.Select(choices=ranks)
            )
            self.fields[f"{code}_planning"] = forms.CharField(
                label=f"{code} — planning et périodes d'observation", required=False,
                widget=forms.Textarea(attrs={"rows": 2}),
            )
        self._keep_unknown_choices()
        self.domain_errors = []
        for field in self.fields.values():
            field.disabled = self.read_only
            if isinstance(field.widget, forms.RadioSelect):
                continue
            field.widget.attrs["class"] = "fr-select" if isinstance(field.widget, forms.Select) else "fr-input"
        self.fields["referent_email"].widget.attrs["autocomplete"] = "email"
        self.fields["referent_phone"].widget.attrs.update({"autocomplete": "tel", "inputmode": "tel"})
        self.fields["investment_amount"].widget.attrs["inputmode"] = "decimal"

    def full_clean(self):
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                widget = self.fields[name].widget
                widget.attrs["aria-invalid"] = "true"
                widget.attrs["aria-describedby"] = f"ami-{name}-erreurs"

    def _keep_unknown_choices(self):
        """A value not offered stays selected (marked), so that nothing typed (or saved) is lost or hidden: a typed
        value on an error, a saved value whose semester has passed or while the window is closed."""
        names = ["hn_prerequisites_forecast", "hopen_prerequisites_forecast"] + [f"{c}_semester" for c in DOMAINS]
        names += [f"{c}_priority" for c in DOMAINS]
        for name in names:
            source = self.data.get(self.add_prefix(name)) if self.is_bound else self.initial.get(name)
            value = (source or "").strip()
            widget = self.fields[name].widget
            if value and value not in {choice for choice, _ in widget.choices}:
                marker = "(rang invalide)" if name.endswith("_priority") else self._marker(name, value)
                widget.choices = list(widget.choices) + [(value, f"{value} {marker}".strip())]

    def _marker(self, name, value) -> str:
        if self.read_only:  # the window is closed: the saved value is shown as it is
            return ""
        semester_range = self.prerequisites_range if name.endswith("_forecast") else self.domain_range
        return PAST if value in semesters_between(semester_range.first, semester_range.last) else OUT_OF_CALENDAR

    # --- the domain rows, for the template -----------------------------------------------------------------------

    def domain_rows(self, labels=None, verdicts=None, decisions=None):
        labels, verdicts, decisions = labels or {}, verdicts or {}, decisions or {}
        return [
            {
                "code": code,
                "label": labels.get(code, ""),
                "semester": self[f"{code}_semester"],
                "priority": self[f"{code}_priority"],
                "planning": self[f"{code}_planning"],
                "verdict": verdicts.get(code),
                "decision": decisions.get(code),
            }
            for code in DOMAINS
        ]

    # --- validation ------------------------------------------------------------------------------------------------

    def clean(self):
        cleaned = super().clean()
        choices = self._domain_choices(cleaned)
        self._check_semesters(cleaned)
        if self.errors:
            return cleaned
        self.pre_candidature_input = self.to_input(cleaned, choices)
        self.apply_errors(input_errors(self.programme, self.pre_candidature_input))
        return cleaned

    def _domain_choices(self, cleaned) -> list:
        """Rows with a semester are candidatures; each needs its own rank (1..n, once each)."""
        choices, ranks = [], {}
        for code in DOMAINS:
            semester = (cleaned.get(f"{code}_semester") or "").strip()
            priority_text = (cleaned.get(f"{code}_priority") or "").strip()
            planning = cleaned.get(f"{code}_planning") or ""
            if not semester:
                if priority_text:
                    self.add_error(
                        f"{code}_priority",
                        f"Un rang est donné à {code} sans semestre prévisionnel : choisissez le semestre pour "
                        "candidater sur ce domaine, ou retirez le rang.",
                    )
                elif planning.strip():
                    self.add_error(
                        f"{code}_planning",
                        f"Un planning est saisi pour {code} sans semestre prévisionnel : choisissez le semestre "
                        "pour candidater sur ce domaine, ou videz le planning.",
                    )
                continue
            if not priority_text:
                self.add_error(f"{code}_priority", f"Donnez un rang de priorité à {code} (1 pour le domaine prioritaire).")
                continue
            try:
                priority = int(priority_text)
            except ValueError:
                self.add_error(f"{code}_priority", f"Rang « {priority_text} » invalide : choisissez un nombre de 1 à 7.")
                continue
            if priority in ranks:
                self.add_error(
                    f"{code}_priority",
                    f"Le rang {priority} est déjà donné à {ranks[priority]} : chaque domaine choisi a un rang différent.",
                )
                continue
            ranks[priority] = code
            choices.append(DomainChoice(code, semester, priority, planning))
        return choices

    def _check_semesters(self, cleaned):
        """Annex 5: the choices offered are the calendar's ranges, from the current semester on; a value from
        elsewhere is named and refused."""
        for name in ("hn_prerequisites_forecast", "hopen_prerequisites_forecast"):
            value = (cleaned.get(name) or "").strip()
            if value and value not in self.prerequisite_semesters:
                self.add_error(name, self._semester_error("Semestre", value, self.prerequisites_range, self.prerequisite_semesters))
        for code in DOMAINS:
            value = (cleaned.get(f"{code}_semester") or "").strip()
            if value and value not in self.domain_semesters and f"{code}_semester" not in self.errors:
                self.add_error(
                    f"{code}_semester", self._semester_error(f"{code} : semestre", value, self.domain_range, self.domain_semesters)
                )

    @staticmethod
    def _semester_error(prefix, value, semester_range, semesters) -> str:
        if value in semesters_between(semester_range.first, semester_range.last) and semesters:
            return (
                f"{prefix} « {value} » passé : choisissez entre {semester_label(semesters[0])} et "
                f"{semester_label(semesters[-1])}."
            )
        return (
            f"{prefix} « {value} » hors du calendrier : choisissez entre {semester_label(semester_range.first)} et "
            f"{semester_label(semester_range.last)}."
        )

    def apply_errors(self, errors: dict):
        """Errors of the service, by field; those on the domains as a whole go above the domain rows."""
        for field, messages in errors.items():
            for message in messages if isinstance(messages, (list, tuple)) else [messages]:
                if field == "domains":
                    self.domain_errors.append(message)
                    self.add_error(None, message)
                elif field in self.fields:
                    self.add_error(field, message)
                else:
                    self.add_error(None, message)

    @staticmethod
    def to_input(cleaned, domains) -> PreCandidatureInput:
        reached = {"yes": True, "no": False}.get(cleaned.get("hn_prerequisites_reached") or "")
        return PreCandidatureInput(
            position=cleaned.get("position") or Position.NONE,
            hn_prerequisites_reached=reached,
            hn_prerequisites_forecast=(cleaned.get("hn_prerequisites_forecast") or "").strip(),
            hopen_prerequisites_forecast=(cleaned.get("hopen_prerequisites_forecast") or "").strip(),
            domains=domains,
            referent_name=cleaned.get("referent_name", ""),
            referent_function=cleaned.get("referent_function", ""),
            referent_email=cleaned.get("referent_email", ""),
            referent_phone=cleaned.get("referent_phone", ""),
            legal_representative_name=cleaned.get("legal_representative_name", ""),
            legal_representative_function=cleaned.get("legal_representative_function", ""),
            comment=cleaned.get("comment", ""),
            investment_amount=cleaned.get("investment_amount"),
            business_stakes=cleaned.get("business_stakes", ""),
        )

    @staticmethod
    def initial_from(pre_candidature) -> dict:
        initial = {
            "position": pre_candidature.position,
            "hn_prerequisites_reached": {True: "yes", False: "no"}.get(pre_candidature.hn_prerequisites_reached, ""),
            "hn_prerequisites_forecast": pre_candidature.hn_prerequisites_forecast,
            "hopen_prerequisites_forecast": pre_candidature.hopen_prerequisites_forecast,
            "referent_name": pre_candidature.referent_name,
            "referent_function": pre_candidature.referent_function,
            "referent_email": pre_candidature.referent_email,
            "referent_phone": pre_candidature.referent_phone,
            "legal_representative_name": pre_candidature.legal_representative_name,
            "legal_representative_function": pre_candidature.legal_representative_function,
            "comment": pre_candidature.comment,
            "investment_amount": amount_text(pre_candidature.investment_amount),
            "business_stakes": pre_candidature.business_stakes,
        }
        if pre_candidature.pk:
            for domain in pre_candidature.domains.all():
                initial[f"{domain.domain_code}_semester"] = domain.forecast_semester
                initial[f"{domain.domain_code}_priority"] = str(domain.priority)
                initial[f"{domain.domain_code}_planning"] = domain.planning
        return initial


def amount_text(amount, separator=" ") -> str:
    """« 1 250 000 » or « 1 250 000,50 », as the field accepts it back."""
    if amount is None:
        return ""
    whole, _, cents = f"{amount:.2f}".partition(".")
    sign, digits = ("-", whole[1:]) if whole.startswith("-") else ("", whole)
    groups = []
    while len(digits) > 3:
        groups.insert(0, digits[-3:])
        digits = digits[:-3]
    groups.insert(0, digits)
    text = sign + separator.join(groups)
    return text if cents == "00" else f"{text},{cents}"


class CommentForm(forms.Form):
    body = forms.CharField(
        label="Votre message", widget=forms.Textarea(attrs={"rows": 3, "class": "fr-input"}), max_length=5000,
        error_messages={"required": "Écrivez un message avant de l'envoyer."},
    )

