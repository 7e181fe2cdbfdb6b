"""The project review form (annex 4 §3): date, participants, notes and the new forecast dates — one field for the
prerequisites and one per selected domain whose targets are not reached yet. The rules are in
`funding.reviews.services.project_review_record`; the form only reads the input."""

from django import forms

from hopen.validation import validate_sane_date

DATE_WIDGET = {"attrs": {"type": "date"}, "format": "%Y-%m-%d"}


def domain_field_name(domain) -> str:
    return f"echeance_{domain.pk}"


class ProjectReviewForm(forms.Form):
    held_on = forms.DateField(
        label="Date de la revue", widget=forms.DateInput(**DATE_WIDGET), validators=[validate_sane_date]
    )
    participants = forms.CharField(
        label="Participants",
        help_text="Noms et fonctions (ARS, établissement, éditeurs…), un par ligne.",
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    notes = forms.CharField(label="Compte rendu", required=False, widget=forms.Textarea(attrs={"rows": 6}))
    prerequisites_forecast = forms.DateField(
        label="Date prévisionnelle d'atteinte des prérequis HOP'EN",
        help_text="Laissez la date actuelle si elle ne change pas.",
        required=False,
        widget=forms.DateInput(**DATE_WIDGET), validators=[validate_sane_date],
    )

    def __init__(self, *args, dossier, domains, **kwargs):
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("prerequisites_forecast", dossier.prerequisites_forecast)
        super().__init__(*args, **kwargs)
        self.domains = list(domains)
        for domain in self.domains:
            name = domain_field_name(domain)
            self.fields[name] = forms.DateField(
                label=f"{domain.domain_code} — échéance d'atteinte des cibles",
                help_text=f"Échéance initiale : {domain.target_deadline_initial:%d/%m/%Y}.",
                initial=domain.target_deadline,
                widget=forms.DateInput(**DATE_WIDGET), validators=[validate_sane_date],
            )

    def domain_fields(self):
        return [self[domain_field_name(domain)] for domain in self.domains]

    def domain_deadlines(self) -> dict:
        return {domain.pk: self.cleaned_data[domain_field_name(domain)] for domain in self.domains}
