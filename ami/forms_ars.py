"""Forms of the ARS side of the AMI: the list filters (the establishment filters plus the AMI ones), the
per-domain decision, the region of the programming."""

from django import forms

from hopen.filtering import filtered_establishments
from hopen.forms import EstablishmentFilterForm

from . import selectors
from .models import DOMAIN_CODES, Decision, Position

DECISION_FILTER_CHOICES = [("", "Toutes les décisions"), *Decision.choices]


class AmiFilterForm(EstablishmentFilterForm):
    """§5.3.2 / annex 4 §3: what the ARS sorts the pre-candidatures by. Choices limited to what the user sees."""

    filing = forms.ChoiceField(label="Dépôt", required=False, choices=selectors.FILING_CHOICES)
    domain = forms.ChoiceField(label="Domaine", required=False, choices=[("", "Tous les domaines"), *DOMAIN_CODES])
    decision = forms.ChoiceField(label="Décision ARS", required=False, choices=DECISION_FILTER_CHOICES)
    position = forms.ChoiceField(
        label="Positionnement", required=False, choices=[("", "Tous les positionnements"), *Position.choices]
    )
    activity = forms.ChoiceField(
        label="Activité", required=False,
        choices=[("", "Toutes les activités"), *[(a, a) for a in selectors.ACTIVITY_FIELDS]],
    )
    late = forms.ChoiceField(
        label="Candidature tardive", required=False,
        choices=[("", "Toutes"), (selectors.YES, "Tardives (après la date limite de l'AMI)"), (selectors.NO, "Dans les délais")],
    )

    eligibility = forms.ChoiceField(
        label="Éligibilité (§5.3.1)", required=False,
        choices=[
            ("", "Toutes"),
            (selectors.ELIGIBLE, "Domaines choisis éligibles"),
            (selectors.INELIGIBLE, "Au moins un domaine inéligible"),
        ],
    )

    def ami_filters(self) -> selectors.AmiFilters:
        data = getattr(self, "cleaned_data", {})
        return selectors.AmiFilters(
            filing=data.get("filing") or selectors.FILING_FILED,
            domain=data.get("domain") or "",
            decision=data.get("decision") or "",
            position=data.get("position") or "",
            activity=data.get("activity") or "",
            late=data.get("late") or "",
            eligibility=data.get("eligibility") or "",
        )


def filtered_pre_candidatures(request):
    """(form, establishment filters, AMI filters, pre-candidatures) for the list page, the exports and the API.

    The caller has checked `selectors.can_browse_pre_candidatures`. A value outside the offered choices (a foreign
    region, say) drops that filter only — the scope itself never depends on the filters.
    """
    form, filters, establishments = filtered_establishments(request, AmiFilterForm)
    ami_filters = form.ami_filters()
    return form, filters, ami_filters, selectors.pre_candidatures_matching(
        request.user, establishments, ami_filters, programme=request.programme
    )


class DecisionForm(forms.Form):
    """Annex 4 §1: pre-select or not, « L'ARS doit indiquer à l'établissement / GHT les raisons de son refus »."""

    decision = forms.ChoiceField(
        label="Décision",
        choices=[(Decision.PRESELECTED, "Présélectionner"), (Decision.REJECTED, "Ne pas retenir")],
        widget=forms.RadioSelect,
        error_messages={"required": "Choisissez « Présélectionner » ou « Ne pas retenir »."},
    )
    reason = forms.CharField(
        label="Motif",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Obligatoire pour ne pas retenir le domaine ; il est communiqué à l'établissement.",
    )

    def clean(self):
        data = super().clean()
        if data.get("decision") == Decision.REJECTED and not (data.get("reason") or "").strip():
            self.add_error("reason", "Le motif est obligatoire pour ne pas retenir un domaine.")
        return data


class ProgrammingRegionForm(forms.Form):
    region = forms.ChoiceField(label="Région", required=False)

    def __init__(self, *args, regions, national: bool, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(r.code, r.name) for r in regions]
        self.fields["region"].choices = ([("", "Toutes les régions")] if national else []) + choices
