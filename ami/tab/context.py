"""What the establishment's AMI tab shows (annex 5): the programme's calendar, the pre-candidature, the estimate
(annex 3), the eligibility verdicts, the thread, the documents and the history; and what every action of the tab
shares (refusing the read-only roles, the tab's address).
"""

from django.conf import settings
from django.shortcuts import render
from django.urls import reverse

from funding.models import CombinedActivity
from funding.selectors import amount_grid, estimate
from hopen import permissions
from hopen.exceptions import PermissionRefused
from indicators.evidence import ACCEPT_ATTRIBUTE, ACCEPTED_FORMATS_LABEL, format_size
from indicators.models import CatalogueVersion, GroupKind, IndicatorGroup, Programme, ProgrammeDeadline, SemesterRange

from .. import services
from ..attachments import attachments_listing
from ..forms import CommentForm, PreCandidatureForm
from ..models import FilingStatus, PreCandidature, PreCandidatureAttachment
from .history import history

HOPEN = "HOPEN"
PREREQUISITES_RANGE = "prerequisites-forecast"
DOMAIN_RANGE = "domain-forecast"
AMI_DEADLINE = "ami-deadline"
LATE_DEADLINE = "late-candidature-deadline"


READ_ONLY_MESSAGE = (
    "Les items de la pré-candidature sont renseignés par l'établissement et modifiables uniquement par lui "
    "(annexe 5) : l'ARS et la DGOS la consultent."
)
NOT_PROGRAMME_MESSAGE = (
    "Le calendrier du programme HOP'EN n'est pas chargé (commande « load_programme ») : la pré-candidature ne peut "
    "pas encore être saisie."
)


# --- Reading helpers -----------------------------------------------------------------------------------------------


class Calendar:
    """The programme and the parts of its calendar the tab uses (annex 5 ranges, §5.3.2 deadlines)."""

    def __init__(self):
        self.programme = Programme.objects.filter(code=HOPEN).first()
        self.ranges = {}
        self.deadlines = {}
        if self.programme is not None:
            self.ranges = {r.code: r for r in SemesterRange.objects.filter(programme=self.programme)}
            self.deadlines = dict(
                ProgrammeDeadline.objects.filter(programme=self.programme).values_list("code", "date")
            )

    @property
    def ready(self) -> bool:
        return self.programme is not None and PREREQUISITES_RANGE in self.ranges and DOMAIN_RANGE in self.ranges

    def form(self, *args, **kwargs) -> PreCandidatureForm:
        return PreCandidatureForm(
            *args, programme=self.programme, prerequisites_range=self.ranges[PREREQUISITES_RANGE],
            domain_range=self.ranges[DOMAIN_RANGE], auto_id="ami-%s", **kwargs,
        )


def existing_pre_candidature(establishment, calendar) -> PreCandidature:
    """The pre-candidature if one was saved, else an unsaved empty one: reading the tab writes nothing."""
    if calendar.programme is None:
        return PreCandidature(establishment=establishment)
    found = (
        PreCandidature.objects.select_related("validated_by", "support_validated_by", "programme")
        .filter(establishment=establishment, programme=calendar.programme)
        .first()
    )
    return found or PreCandidature(establishment=establishment, programme=calendar.programme)


def _domain_labels() -> dict:
    return dict(
        IndicatorGroup.objects.filter(
            catalogue__programme__code=HOPEN, catalogue__is_current=True, kind=GroupKind.DOMAIN
        ).values_list("code", "label")
    )


def _estimate(establishment, labels, chosen):
    """Annex 5, first section: combined activity and its source, category, amount per domain (annex 3)."""
    record = CombinedActivity.objects.filter(establishment=establishment).first()
    if record is None:
        return {"record": None}, []
    grid = amount_grid()
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


def _eligibility(establishment):
    """§5.3.1 verdict per domain from `funding.eligibility.selectors`, when that module is installed."""
    try:
        from funding.eligibility.selectors import eligibility_for_establishment
    except ModuleNotFoundError as error:
        if error.name != "funding.eligibility.selectors":
            raise
        return {}
    try:
        return eligibility_for_establishment(establishment) or {}
    except CatalogueVersion.DoesNotExist:  # the annex-1 catalogue is not loaded: the tab works without verdicts
        return {}


def _deadline_text(calendar) -> str:
    ami, late = calendar.deadlines.get(AMI_DEADLINE), calendar.deadlines.get(LATE_DEADLINE)
    if not (ami and late):
        return ""
    return (
        f"Dépôt des pré-candidatures au plus tard le {ami:%d/%m/%Y} ; au-delà, candidatures tardives admises "
        f"jusqu'au {late:%d/%m/%Y} (instruction, §5.3.2)."
    )


def _needs_support(establishment) -> bool:
    ght = establishment.ght
    return ght is not None and ght.support_id is not None and ght.support_id != establishment.pk


def _tab_context(request, establishment, calendar, *, form=None, comment_form=None, upload_errors=(), action_error=""):
    user = request.user
    pre_candidature = existing_pre_candidature(establishment, calendar)
    is_establishment_user = permissions.can_enter_establishment_data(user, establishment)
    is_draft = pre_candidature.status == FilingStatus.DRAFT
    can_edit = calendar.ready and is_establishment_user and is_draft
    domains = list(pre_candidature.domains.select_related("decided_by").order_by("priority")) if pre_candidature.pk else []
    comments = (
        list(pre_candidature.comments.select_related("author").order_by("created_at", "id")) if pre_candidature.pk else []
    )
    listing = attachments_listing(pre_candidature)
    # The history covers deleted documents too.
    all_attachments = (
        list(PreCandidatureAttachment.objects.filter(pre_candidature=pre_candidature).only("pk")) if pre_candidature.pk else []
    )
    labels = _domain_labels()
    verdicts = _eligibility(establishment)
    decisions = {d.domain_code: d for d in domains}
    if can_edit and form is None:
        form = calendar.form(initial=PreCandidatureForm.initial_from(pre_candidature))
    scope = permissions.scope_of(user)
    estimate_summary, estimate_rows = _estimate(establishment, labels, decisions)
    context = {
        "establishment": establishment,
        "pre_candidature": pre_candidature,
        "calendar_ready": calendar.ready,
        "calendar_message": NOT_PROGRAMME_MESSAGE,
        "deadline_text": _deadline_text(calendar),
        "ami_deadline": calendar.deadlines.get(AMI_DEADLINE),
        "late_deadline": calendar.deadlines.get(LATE_DEADLINE),
        "is_establishment_user": is_establishment_user,
        "can_edit": can_edit,
        "can_validate": (
            calendar.ready and is_draft and is_establishment_user and permissions.can_declare_values(user, establishment)
        ),
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
        "show_form": form is not None and (can_edit or form.is_bound),
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


def refuse_readers(request, establishment):
    if not permissions.can_enter_establishment_data(request.user, establishment):
        raise PermissionRefused(READ_ONLY_MESSAGE)


def tab_url(establishment, anchor=""):
    return reverse("ami:tab", args=[establishment.finess]) + (f"#{anchor}" if anchor else "")
