"""What the establishment's AMI tab shows (annex 5): the programme's calendar, the pre-candidature, the estimate
(annex 3), the eligibility verdicts, the thread, the documents and the history; and what every action of the tab
shares (refusing the read-only roles, the tab's address).
"""

from django.conf import settings
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from funding.models import CombinedActivity
from funding.selectors import amount_grid, estimate
from hopen import permissions
from hopen.exceptions import PermissionRefused
from indicators.evidence import ACCEPT_ATTRIBUTE, ACCEPTED_FORMATS_LABEL, format_size
from indicators.models import CatalogueVersion, GroupKind, IndicatorGroup, SemesterRange
from indicators.windows import AMI_FILING, AMI_LATE_FILING, programme_windows

from .. import services
from ..attachments import attachments_listing
from ..forms import CommentForm, PreCandidatureForm
from ..models import FilingStatus, PreCandidature, PreCandidatureAttachment
from ..rules import ami_filing_state
from .history import history

PREREQUISITES_RANGE = "prerequisites-forecast"
DOMAIN_RANGE = "domain-forecast"


READ_ONLY_MESSAGE = (
    "Les items de la pré-candidature sont renseignés par l'établissement et modifiables uniquement par lui "
    "(annexe 5) : l'ARS et la DGOS la consultent."
)
NOT_PROGRAMME_MESSAGE = (
    "Le calendrier du programme {name} n'est pas chargé (commande « load_programme ») : la pré-candidature ne peut "
    "pas encore être saisie."
)


# --- Reading helpers -----------------------------------------------------------------------------------------------


class Calendar:
    """The programme of the request and the parts of its calendar the tab uses (annex 5 ranges, §5.3.2 windows),
    with the AMI filing state on `day` (`ami.rules.ami_filing_state`, the rule the services enforce)."""

    def __init__(self, programme, day=None):
        self.programme = programme
        self.day = day or timezone.localdate()
        self.ranges = {r.code: r for r in SemesterRange.objects.filter(programme=programme)}
        self.windows = programme_windows(programme)
        self.filing = ami_filing_state(self.windows, self.day) if AMI_FILING in self.windows else None

    @property
    def ready(self) -> bool:
        return self.filing is not None and PREREQUISITES_RANGE in self.ranges and DOMAIN_RANGE in self.ranges

    @property
    def is_open(self) -> bool:
        return self.ready and self.filing.is_open

    @property
    def message(self) -> str:
        return NOT_PROGRAMME_MESSAGE.format(name=self.programme.name)

    def form(self, *args, **kwargs) -> PreCandidatureForm:
        """The tab's form; its semesters are those not already past, none while the window is closed (then every
        field is read-only)."""
        return PreCandidatureForm(
            *args, programme=self.programme, prerequisites_range=self.ranges[PREREQUISITES_RANGE],
            domain_range=self.ranges[DOMAIN_RANGE], offered_on=self.day if self.is_open else None,
            auto_id="ami-%s", **kwargs,
        )


def existing_pre_candidature(establishment, calendar) -> PreCandidature:
    """The pre-candidature if one was saved, else an unsaved empty one: reading the tab writes nothing."""
    found = (
        PreCandidature.objects.select_related("validated_by", "support_validated_by", "programme")
        .filter(establishment=establishment, programme=calendar.programme)
        .first()
    )
    return found or PreCandidature(establishment=establishment, programme=calendar.programme)


def _domain_labels(programme) -> dict:
    return dict(
        IndicatorGroup.objects.filter(
            catalogue__programme=programme, catalogue__is_current=True, kind=GroupKind.DOMAIN
        ).values_list("code", "label")
    )


def _estimate(establishment, programme, labels, chosen):
    """Annex 5, first section: combined activity and its source, category, amount per domain (annex 3)."""
    record = CombinedActivity.objects.filter(establishment=establishment).first()
    if record is None:
        return {"record": None}, []
    grid = amount_grid(programme)
    if not grid.categories:
        return {"record": record, "grid_missing": True}, []
    result = estimate(record.value, grid)
    rows = [
        {
            "code": code,
            "label": labels.get(code, ""),
            "standard": amounts.get("standard"),
            "advanced": amounts.get("advanced"),
            "chosen": chosen.get(code),
        }
        for code, amounts in result.domains.items()
    ]
    return {"record": record, "result": result}, rows


def _eligibility(establishment, programme):
    """§5.3.1 verdict per domain from `funding.eligibility.selectors`, when that module is installed."""
    try:
        from funding.eligibility.selectors import eligibility_for_establishment
    except ModuleNotFoundError as error:
        if error.name != "funding.eligibility.selectors":
            raise
        return {}
    try:
        return eligibility_for_establishment(establishment, programme=programme) or {}
    except CatalogueVersion.DoesNotExist:  # the annex-1 catalogue is not loaded: the tab works without verdicts
        return {}


def _deadline_text(calendar) -> str:
    ami, late = calendar.windows.get(AMI_FILING), calendar.windows.get(AMI_LATE_FILING)
    if not (ami and late):
        return ""
    return (
        f"Dépôt des pré-candidatures au plus tard le {ami.last_day:%d/%m/%Y} ; au-delà, candidatures tardives "
        f"admises jusqu'au {late.last_day:%d/%m/%Y} ({late.citation})."
    )


def _needs_support(establishment) -> bool:
    ght = establishment.ght
    return ght is not None and ght.support_id is not None and ght.support_id != establishment.pk


def _tab_context(request, establishment, calendar, *, form=None, comment_form=None, upload_errors=(), action_error=""):
    user = request.user
    pre_candidature = existing_pre_candidature(establishment, calendar)
    is_establishment_user = permissions.can_enter_establishment_data(user, establishment)
    is_draft = pre_candidature.status == FilingStatus.DRAFT
    # Outside the AMI windows the establishment reads its draft in a form it cannot change (§5.3.2 « Etape 1 »).
    can_edit = calendar.is_open and is_establishment_user and is_draft
    shows_closed_form = calendar.ready and not calendar.is_open and is_establishment_user and is_draft
    domains = list(pre_candidature.domains.select_related("decided_by").order_by("priority")) if pre_candidature.pk else []
    comments = (
        list(pre_candidature.comments.select_related("author").order_by("created_at", "id")) if pre_candidature.pk else []
    )
    listing = attachments_listing(pre_candidature)
    # The history covers deleted documents too.
    all_attachments = (
        list(PreCandidatureAttachment.objects.filter(pre_candidature=pre_candidature).only("pk")) if pre_candidature.pk else []
    )
    labels = _domain_labels(calendar.programme)
    verdicts = _eligibility(establishment, calendar.programme)
    decisions = {d.domain_code: d for d in domains}
    if (can_edit or shows_closed_form) and form is None:
        form = calendar.form(initial=PreCandidatureForm.initial_from(pre_candidature))
    scope = permissions.scope_of(user)
    estimate_summary, estimate_rows = _estimate(establishment, calendar.programme, labels, decisions)
    context = {
        "establishment": establishment,
        "pre_candidature": pre_candidature,
        "programme": calendar.programme,
        "calendar_ready": calendar.ready,
        "calendar_message": calendar.message,
        "filing": calendar.filing,
        "filing_open": calendar.is_open,
        "deadline_text": _deadline_text(calendar),
        "ami_deadline": calendar.windows[AMI_FILING].last_day if AMI_FILING in calendar.windows else None,
        "is_establishment_user": is_establishment_user,
        "can_edit": can_edit,
        "can_validate": (
            calendar.is_open and is_draft and is_establishment_user
            and permissions.can_declare_values(user, establishment)
        ),
        "is_director": permissions.can_declare_values(user, establishment),
        "can_validate_as_support": (
            pre_candidature.status == FilingStatus.AWAITING_SUPPORT
            and establishment.ght_id is not None
            and establishment.ght_id in scope.ght_ids
        ),
        "can_comment": calendar.ready and (is_establishment_user or services.can_decide(user, establishment)),
        "can_upload": calendar.ready and is_establishment_user,
        "can_delete_attachments": is_establishment_user and is_draft,
        "needs_support": _needs_support(establishment),
        "form": form,
        # A refused save shows the typed input again, even if the pre-candidature was validated meanwhile.
        "show_form": form is not None and (can_edit or shows_closed_form or form.is_bound),
        "domain_rows": form.domain_rows(labels, verdicts, decisions) if form is not None else None,
        "domains": [
            {"domain": d, "label": labels.get(d.domain_code, ""), "verdict": verdicts.get(d.domain_code)} for d in domains
        ],
        "domain_labels": labels,
        "verdicts": verdicts,
        "estimate": estimate_summary,
        "estimate_rows": estimate_rows,
        "comments": comments,
        "comment_form": comment_form or CommentForm(auto_id="message-%s"),
        "attachments": listing,
        "upload_errors": list(upload_errors),
        "upload_limits": {
            "max_size": settings.EVIDENCE_MAX_UPLOAD_SIZE,
            "max_size_display": format_size(settings.EVIDENCE_MAX_UPLOAD_SIZE),
            "accept": ACCEPT_ATTRIBUTE,
            "formats": ACCEPTED_FORMATS_LABEL,
        },
        "history": history(pre_candidature, domains, comments, all_attachments),
        "action_error": action_error,
    }
    return context


def render_tab(request, establishment, calendar, status=200, **kwargs):
    return render(request, "ami/tab.html", _tab_context(request, establishment, calendar, **kwargs), status=status)


def may_post_on_tab(user, establishment) -> bool:
    """Someone who writes on this tab at all: the establishment (annex 5 « Ecriture »), its ARS (thread,
    pre-selection) or its GHT support (validation). The others read only: their posts answer 403 before any input is
    looked at (issue 15)."""
    return (
        permissions.can_enter_establishment_data(user, establishment)
        or services.can_decide(user, establishment)
        or (bool(establishment.ght_id) and establishment.ght_id in permissions.scope_of(user).ght_ids)
    )


def refuse_readers(request, establishment):
    if not permissions.can_enter_establishment_data(request.user, establishment):
        raise PermissionRefused(READ_ONLY_MESSAGE)


def tab_url(establishment, anchor=""):
    return reverse("ami:tab", args=[establishment.finess]) + (f"#{anchor}" if anchor else "")
