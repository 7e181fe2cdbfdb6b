"""Forms of the dossier pages: the list filters, the new dossier (domains, deadlines, rates, vendors, GHT candidates)
and the actions on a dossier. They parse types only; the programme's rules are the services' (a French
`ApplicationError`, shown next to the form with the typed input kept)."""

from django import forms

from funding.eligibility.models import SoftwareVendor
from hopen.models import Region
from hopen.validation import validate_sane_date

from .models import DOMAIN_CODES, ClosureKind, DossierStatus, RefusalKind
from .rules import DomainInput

RATE_CHOICES = [("standard", "Forfait standard"), ("advanced", "Forfait avancé (+20 %, formats structurés)")]
OWN, GHT = "establishment", "ght"


class DossierFilterForm(forms.Form):
    status = forms.ChoiceField(label="Statut", required=False, choices=[("", "Tous les statuts"), *DossierStatus.choices])
    domain = forms.ChoiceField(label="Domaine", required=False, choices=[("", "Tous les domaines"), *DOMAIN_CODES])
    region = forms.ChoiceField(label="Région", required=False)
    establishment = forms.CharField(label="FINESS", required=False, max_length=9, widget=forms.HiddenInput)

    def __init__(self, *args, regions=None, **kwargs):
        super().__init__(*args, **kwargs)
        regions = list(regions if regions is not None else Region.objects.order_by("name"))
        self.fields["region"].choices = [("", "Toutes les régions"), *[(r.code, r.name) for r in regions]]

    def filters(self):
        from .selectors import DossierFilters

        data = {}
        if self.is_bound:
            self.is_valid()  # an invalid value (a region out of the user's choices) drops that filter only
            data = self.cleaned_data
        return DossierFilters(
            status=data.get("status") or "", domain=data.get("domain") or "", region=data.get("region") or "",
            establishment=data.get("establishment") or "",
        )


class DossierCreateForm(forms.Form):
    """§5.3.2 « Etape 2 » and annex 3 §2: the domains of the dossier, each with its target deadline, its rate (D1 and
    D6 have an advanced rate) and the software vendors of the project (RELIMS, §5.3.1); a GHT support establishment
    may file for candidate members of its GHT."""

    kind = forms.ChoiceField(
        label="Type de dossier", choices=[(OWN, "Dossier de l'établissement"), (GHT, "Dossier de GHT")],
        widget=forms.RadioSelect, initial=OWN, required=False,
    )
    members = forms.MultipleChoiceField(
        label="Établissements candidats du GHT", required=False, widget=forms.CheckboxSelectMultiple,
        help_text="Le montant de chaque domaine est la somme des forfaits des établissements candidats (annexe 3 §2).",
    )
    comment = forms.CharField(label="Commentaire", required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 3}))
    prerequisites_forecast = forms.DateField(
        label="Date prévisionnelle d'atteinte des prérequis du programme (s'ils ne sont pas atteints)", required=False,
        widget=forms.DateInput(attrs={"type": "date"}), validators=[validate_sane_date],
        help_text="Suivie par l'ARS lors des revues de projet : une date reportée figure parmi les dates décalées (annexe 4 §3).",
    )
    request_initialisation = forms.BooleanField(
        label="Demander à l'ARS d'initialiser le dossier (elle dispose d'un mois et demi, instruction §5.3.2)",
        required=False,
    )

    def __init__(self, *args, establishment, ght_members=(), vendors=None, advanced_rate_indicators=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.establishment = establishment
        self.ght_members = list(ght_members)
        self.is_support = bool(self.ght_members)
        if self.is_support:
            self.fields["members"].choices = [(e.finess, f"{e.name} ({e.finess})") for e in self.ght_members]
        else:
            del self.fields["kind"], self.fields["members"]
        vendor_choices = [(str(v.pk), v.name) for v in (vendors if vendors is not None else SoftwareVendor.objects.order_by("name"))]
        for code, _ in DOMAIN_CODES:
            self.fields[f"{code}_selected"] = forms.BooleanField(label=f"Candidater sur {code}", required=False)
            self.fields[f"{code}_target_deadline"] = forms.DateField(
                label="Échéance d'atteinte des cibles", required=False, widget=forms.DateInput(attrs={"type": "date"}),
                input_formats=["%Y-%m-%d", "%d/%m/%Y"], validators=[validate_sane_date],
                error_messages={"invalid": "Saisissez une date (jj/mm/aaaa)."},
            )
            indicator = (advanced_rate_indicators or {}).get(code)
            if indicator:  # annex 3 §3: the programme's advanced rate, granted on its structured-format indicator
                self.fields[f"{code}_rate"] = forms.ChoiceField(
                    label="Forfait", choices=RATE_CHOICES, initial="standard", required=False,
                    help_text=f"Forfait avancé : indicateur {indicator} atteint (format structuré) pour chaque "
                    "établissement candidat (annexe 3 §3).",
                )
            self.fields[f"{code}_vendors"] = forms.MultipleChoiceField(
                label="Éditeurs (RELIMS)", required=False, choices=vendor_choices,
                widget=forms.SelectMultiple(attrs={"size": 4}),
            )

    def domain_rows(self):
        rows = []
        for code, _ in DOMAIN_CODES:
            rows.append({
                "code": code,
                "selected": self[f"{code}_selected"],
                "target_deadline": self[f"{code}_target_deadline"],
                "rate": self[f"{code}_rate"] if f"{code}_rate" in self.fields else None,
                "vendors": self[f"{code}_vendors"],
            })
        return rows

    def add_domain_errors(self, errors: dict) -> None:
        """A service's errors by domain code (a target deadline past or beyond the programme's usage-target window,
        §5.3.1) shown under that domain's deadline field; the others stay in the page's alert."""
        for code, messages in errors.items():
            name = f"{code}_target_deadline"
            if name in self.fields and name not in self.errors:
                for message in messages:
                    self.add_error(name, message)

    def domain_inputs(self) -> list[DomainInput]:
        data = self.cleaned_data
        return [
            DomainInput(
                code=code,
                target_deadline=data.get(f"{code}_target_deadline"),
                rate=data.get(f"{code}_rate") or "standard",
                vendors=[int(pk) for pk in data.get(f"{code}_vendors") or []],
            )
            for code, _ in DOMAIN_CODES
            if data.get(f"{code}_selected")
        ]

    def chosen_members(self):
        """None for the establishment's own dossier; the candidate establishments for a GHT dossier."""
        if not self.is_support or self.cleaned_data.get("kind") != GHT:
            return None
        chosen = set(self.cleaned_data.get("members") or [])
        return [e for e in self.ght_members if e.finess in chosen]


class SelectForm(forms.Form):
    """Annex 2 §2: the seed funding of the domain, set by the ARS at selection (0 for none)."""

    seed_amount = forms.CharField(
        label="Amorçage (€)", required=False, max_length=30,
        help_text="Montant déduit du soutien financier total du domaine ; 0 pour aucun amorçage (annexe 2 §2).",
    )
    reason = forms.CharField(label="Commentaire (facultatif)", required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class RefuseForm(forms.Form):
    """Annex 4 §1: the reasons of a refusal, and its kind (it sets when the establishment may apply again)."""

    reason = forms.CharField(label="Motif du refus", required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3}),
                             help_text="Obligatoire ; il est communiqué à l'établissement (annexe 4 §1).")
    refusal_kind = forms.ChoiceField(label="Nature du refus", choices=RefusalKind.choices, widget=forms.RadioSelect, required=False)


class CloseForm(forms.Form):
    kind = forms.ChoiceField(label="Motif de clôture", choices=ClosureKind.choices, widget=forms.RadioSelect, required=False)
    reason = forms.CharField(label="Explication", required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 3}))


class AdmitWithoutAmiForm(forms.Form):
    """§5.3.2 « Exceptionnellement … si l'ARS et son enveloppe régionale le permettent »: the ARS's reason for
    admitting a domain without AMI pre-selection (mandatory: the service says so)."""

    reason = forms.CharField(
        label="Motif de l'admission sans présélection AMI", required=False, max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Obligatoire ; il est communiqué à l'établissement et tracé (instruction §5.3.2).",
    )
