"""The establishment's tab « HOP'EN, appel à manifestation d'intérêt » (instruction, annex 5), the GHT support
establishment's queue of pre-candidatures to validate (§5.3.2), and the user's notifications.

Thin views: the permission policy finds the establishment (404 outside the user's scope); the services of
`ami.services` and `ami.attachments` decide who writes (403 for the read-only roles: ARS, DGOS) and what is
accepted (a clear French message otherwise, the typed input kept).
"""

import logging
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import FileResponse, Http404, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods, require_safe

from funding.models import CombinedActivity
from funding.selectors import amount_grid, estimate
from hopen import permissions
from hopen.exceptions import ApplicationError, PermissionRefused
from hopen.models import AuditRecord, Notification, User
from indicators.evidence import ACCEPT_ATTRIBUTE, ACCEPTED_FORMATS_LABEL, format_size
from indicators.models import CatalogueVersion, GroupKind, IndicatorGroup, Programme, ProgrammeDeadline, ScanStatus, SemesterRange
from indicators.views_evidence import EvidenceSizeLimitHandler, attachment_disposition

from . import services
from .attachments import (
    attachment_delete,
    attachment_upload,
    attachments_listing,
    is_downloadable,
    readable_attachment,
)
from .forms import CommentForm, PreCandidatureForm, amount_text, semester_label
from .models import (
    FilingStatus,
    PreCandidature,
    PreCandidatureAttachment,
    PreCandidatureComment,
    PreCandidatureDomain,
)

logger = logging.getLogger(__name__)

HOPEN = "HOPEN"
PREREQUISITES_RANGE = "prerequisites-forecast"
DOMAIN_RANGE = "domain-forecast"
AMI_DEADLINE = "ami-deadline"
LATE_DEADLINE = "late-candidature-deadline"
UPLOAD_FIELD = "file"

READ_ONLY_MESSAGE = (
    "Les items de la pré-candidature sont renseignés par l'établissement et modifiables uniquement par lui "
    "(annexe 5) : l'ARS et la DGOS la consultent."
)
NOT_PROGRAMME_MESSAGE = (
    "Le calendrier du programme HOP'EN n'est pas chargé (commande « load_programme ») : la pré-candidature ne peut "
    "pas encore être saisie."
)

ACTION_LABELS = {
    "pre_candidature.save": "Pré-candidature enregistrée",
    "pre_candidature.validate": "Validée par la direction de l'établissement",
    "pre_candidature.validate_as_support": "Validée par l'établissement support du GHT",
    "pre_candidature.decide": "Décision de l'ARS",
    "pre_candidature.comment": "Message envoyé",
    "pre_candidature.attachment_upload": "Pièce complémentaire déposée",
    "pre_candidature.attachment_delete": "Pièce complémentaire supprimée",
    "pre_candidature.attachment_scan": "Analyse antivirus d'une pièce",
}
EXTRA_FIELD_LABELS = {
    "domains": "domaines (semestre, priorité)",
    "body": "message",
    "scan_detail": "résultat de l'analyse",
    "file": "fichier stocké",
}
HISTORY_MODELS = {
    "ami.precandidature": PreCandidature,
    "ami.precandidaturedomain": PreCandidatureDomain,
    "ami.precandidaturecomment": PreCandidatureComment,
    "ami.precandidatureattachment": PreCandidatureAttachment,
}
SUBJECT_TYPES = {"ami.precandidaturedomain", "ami.precandidatureattachment"}
USER_FIELDS = {"deleted_by", "validated_by", "support_validated_by", "decided_by", "uploaded_by", "author"}
HISTORY_LIMIT = 300


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


def _existing(establishment, calendar) -> PreCandidature:
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
    """§5.3.1 verdict per domain from `funding.selectors_eligibility`, when that module is installed."""
    try:
        from funding.selectors_eligibility import eligibility_for_establishment
    except ModuleNotFoundError as error:
        if error.name != "funding.selectors_eligibility":
            raise
        return {}
    try:
        return eligibility_for_establishment(establishment) or {}
    except CatalogueVersion.DoesNotExist:  # the annex-1 catalogue is not loaded: the tab works without verdicts
        return {}


def _field_label(model, name) -> str:
    if name in EXTRA_FIELD_LABELS:
        return EXTRA_FIELD_LABELS[name]
    try:
        return str(model._meta.get_field(name).verbose_name)
    except (FieldDoesNotExist, AttributeError):
        return name


def _display(model, name, value, users) -> str:
    """A recorded value as the page shows it: choices by their label, yes/no, dates, users by name."""
    if value in (None, "", []):
        return "—"
    if isinstance(value, bool):
        return "Oui" if value else "Non"
    if isinstance(value, list):
        return " ; ".join(str(v) for v in value) or "—"
    if name in USER_FIELDS:
        user = users.get(value)
        return user.get_full_name() if user else f"utilisateur n° {value}"
    if name.endswith("_at") and isinstance(value, str):
        moment = parse_datetime(value)
        if moment is not None:
            return f"{timezone.localtime(moment):%d/%m/%Y %H:%M}"
    if name == "size" and isinstance(value, int):
        return format_size(value)
    if name == "investment_amount":
        return f"{_grouped(value)}\u00a0€"
    try:
        field = model._meta.get_field(name)
    except (FieldDoesNotExist, AttributeError):
        field = None
    if field is not None and field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if name.endswith("forecast") or name == "forecast_semester":
        return semester_label(str(value))
    return str(value)


def _grouped(value) -> str:
    try:
        return amount_text(Decimal(str(value)), "\u00a0")
    except (InvalidOperation, ValueError):
        return str(value)


def _field_order(model) -> dict:
    order = {field.name: i for i, field in enumerate(model._meta.fields)} if model else {}
    order.setdefault("domains", order.get("hopen_prerequisites_forecast", 0) + 0.5)
    return order


def _history(pre_candidature, domains, comments, attachments) -> list:
    """Audit records of the pre-candidature and of its domains, messages and documents (newest first)."""
    if pre_candidature.pk is None:
        return []
    condition = Q(object_type="ami.precandidature", object_id=str(pre_candidature.pk))
    for object_type, objects in (
        ("ami.precandidaturedomain", domains),
        ("ami.precandidaturecomment", comments),
        ("ami.precandidatureattachment", attachments),
    ):
        ids = [str(o.pk) for o in objects]
        if ids:
            condition |= Q(object_type=object_type, object_id__in=ids)
    records = list(AuditRecord.objects.filter(condition).order_by("-id")[:HISTORY_LIMIT])
    user_ids = {
        value
        for record in records
        for name, pair in (record.changes or {}).items()
        if name in USER_FIELDS
        for value in pair
        if isinstance(value, int)
    }
    users = {u.pk: u for u in User.objects.filter(pk__in=user_ids)} if user_ids else {}
    for record in records:
        model = HISTORY_MODELS.get(record.object_type)
        record.action_label = ACTION_LABELS.get(record.action, record.action)
        order = _field_order(model)
        record.change_rows = [
            (_field_label(model, name), _display(model, name, before, users), _display(model, name, after, users))
            for name, (before, after) in sorted((record.changes or {}).items(), key=lambda item: order.get(item[0], 999))
            if name not in {"file", "pre_candidature"}
        ]
        record.subject = record.object_repr if record.object_type in SUBJECT_TYPES else ""
    return records


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
    pre_candidature = _existing(establishment, calendar)
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
        "history": _history(pre_candidature, domains, comments, all_attachments),
        "action_error": action_error,
    }
    return context


def _render(request, establishment, calendar, status=200, **kwargs):
    return render(request, "ami/tab.html", _tab_context(request, establishment, calendar, **kwargs), status=status)


# --- The tab -------------------------------------------------------------------------------------------------------


@csrf_exempt  # the CSRF check is done in `_tab_post`, once the size-limiting upload handler is in place
@login_required
def tab(request, finess):
    """Annex 5: « Ecriture » for the establishment's own roles, « Lecture » for its ARS and the DGOS."""
    establishment = permissions.get_establishment_for_reading(request.user, finess)
    if request.method in ("GET", "HEAD"):
        return _render(request, establishment, Calendar())
    if request.method != "POST":
        return HttpResponseNotAllowed(["GET", "HEAD", "POST"])
    handler = EvidenceSizeLimitHandler(request, settings.EVIDENCE_MAX_UPLOAD_SIZE)
    request.upload_handlers.insert(0, handler)
    return _tab_post(request, establishment, handler)


@csrf_protect
def _tab_post(request, establishment, handler):
    calendar = Calendar()
    action = request.POST.get("action", "")
    actions = {
        "save": _save,
        "validate": _validate,
        "validate_as_support": _validate_as_support,
        "comment": _comment,
        "upload": _upload,
        "delete_attachment": _delete_attachment,
    }
    if action not in actions:
        return _render(request, establishment, calendar, status=400, action_error="Action inconnue.")
    if not calendar.ready:
        return _render(request, establishment, calendar, status=409, action_error=NOT_PROGRAMME_MESSAGE)
    try:
        return actions[action](request, establishment, calendar, handler)
    except PermissionRefused as exc:
        return _render(request, establishment, calendar, status=403, action_error=exc.message)


def _refuse_readers(request, establishment):
    if not permissions.can_enter_establishment_data(request.user, establishment):
        raise PermissionRefused(READ_ONLY_MESSAGE)


def _tab_url(establishment, anchor=""):
    return reverse("ami:tab", args=[establishment.finess]) + (f"#{anchor}" if anchor else "")


def _save(request, establishment, calendar, handler):
    _refuse_readers(request, establishment)
    form = calendar.form(request.POST)
    if form.is_valid():
        try:
            services.pre_candidature_save(establishment=establishment, data=form.pre_candidature_input, by=request.user)
        except ValidationError as exc:
            form.apply_errors(exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages})
        except PermissionRefused:
            raise
        except ApplicationError as exc:
            return _render(request, establishment, calendar, status=409, form=form, action_error=exc.message)
        else:
            messages.success(request, "Pré-candidature enregistrée.")
            return redirect(_tab_url(establishment))
    return _render(
        request, establishment, calendar, status=400, form=form,
        action_error="La pré-candidature n'est pas enregistrée : corrigez les champs signalés (votre saisie est conservée).",
    )


def _validate(request, establishment, calendar, handler):
    _refuse_readers(request, establishment)
    pre_candidature = services.pre_candidature_of(establishment, calendar.programme)
    try:
        pre_candidature = services.pre_candidature_validate(pre_candidature=pre_candidature, by=request.user)
    except PermissionRefused:
        raise
    except ApplicationError as exc:
        return _render(request, establishment, calendar, status=409, action_error=exc.message)
    if pre_candidature.status == FilingStatus.AWAITING_SUPPORT:
        messages.success(
            request,
            "Pré-candidature validée par la direction. Elle attend maintenant la validation de l'établissement support "
            f"du GHT ({establishment.ght.support.name}) pour être déposée.",
        )
    else:
        late = " Elle est enregistrée comme candidature tardive." if pre_candidature.is_late else ""
        messages.success(request, f"Pré-candidature validée et déposée auprès de l'ARS.{late}")
    return redirect(_tab_url(establishment))


def _validate_as_support(request, establishment, calendar, handler):
    pre_candidature = _existing(establishment, calendar)
    if pre_candidature.pk is None:
        raise PermissionRefused("Cette pré-candidature n'attend pas la validation de l'établissement support.")
    try:
        services.pre_candidature_validate_as_support(pre_candidature=pre_candidature, by=request.user)
    except PermissionRefused:
        raise
    except ApplicationError as exc:
        return _render(request, establishment, calendar, status=409, action_error=exc.message)
    messages.success(request, f"Pré-candidature de {establishment.name} validée par l'établissement support : elle est déposée.")
    return redirect(_tab_url(establishment))


def _comment(request, establishment, calendar, handler):
    form = CommentForm(request.POST, auto_id="message-%s")
    if not (permissions.can_enter_establishment_data(request.user, establishment) or services.can_decide(request.user, establishment)):
        raise PermissionRefused("Seuls l'établissement et son ARS échangent sur cette pré-candidature.")
    if form.is_valid():
        pre_candidature = services.pre_candidature_of(establishment, calendar.programme)
        try:
            services.pre_candidature_comment(pre_candidature=pre_candidature, body=form.cleaned_data["body"], by=request.user)
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error("body", message)
        else:
            messages.success(request, "Message envoyé.")
            return redirect(_tab_url(establishment, "echanges"))
    return _render(
        request, establishment, calendar, status=400, comment_form=form,
        action_error="Le message n'est pas envoyé : " + " ".join(form.errors.get("body", [])),
    )


def _upload(request, establishment, calendar, handler):
    _refuse_readers(request, establishment)
    files = request.FILES.getlist(UPLOAD_FIELD)
    errors = [
        f"Le fichier « {name} » dépasse la taille maximale autorisée ({format_size(settings.EVIDENCE_MAX_UPLOAD_SIZE)})."
        for name in handler.refused
    ]
    if not files and not errors:
        errors.append("Choisissez au moins un fichier à déposer.")
    stored = []
    if files:
        pre_candidature = services.pre_candidature_of(establishment, calendar.programme)
        for uploaded_file in files:
            try:
                stored.append(attachment_upload(pre_candidature=pre_candidature, uploaded_file=uploaded_file, by=request.user))
            except PermissionRefused:
                raise
            except ApplicationError as exc:
                errors.append(exc.message)
    if stored:
        names = ", ".join(f"« {a.original_name} »" for a in stored)
        text = f"Pièce complémentaire déposée : {names}." if len(stored) == 1 else f"{len(stored)} pièces déposées : {names}."
        if any(a.scan_status == ScanStatus.PENDING for a in stored):
            text += " L'analyse antivirus est en cours : le téléchargement sera possible dès qu'elle sera terminée."
        messages.success(request, text)
    if errors:
        return _render(request, establishment, calendar, status=400, upload_errors=errors)
    return redirect(_tab_url(establishment, "pieces-complementaires"))


def _delete_attachment(request, establishment, calendar, handler):
    _refuse_readers(request, establishment)
    attachment_id = request.POST.get("attachment", "").strip()
    attachment = readable_attachment(request.user, int(attachment_id), establishment.finess) if attachment_id.isdigit() else None
    if attachment is None:
        raise Http404("Pièce complémentaire introuvable.")
    try:
        attachment_delete(attachment=attachment, by=request.user)
    except PermissionRefused:
        raise
    except ApplicationError as exc:
        return _render(request, establishment, calendar, status=409, upload_errors=[exc.message])
    messages.success(
        request,
        f"La pièce « {attachment.original_name} » a été supprimée de la liste ; elle reste conservée pour la piste d'audit.",
    )
    return redirect(_tab_url(establishment, "pieces-complementaires"))


# --- Attachment download -------------------------------------------------------------------------------------------


@require_safe
@login_required
def attachment_download(request, finess, attachment_id):
    """Served only through the permission policy; pending or infected files are not served (409)."""
    establishment = permissions.get_establishment_for_reading(request.user, finess)
    attachment = readable_attachment(request.user, attachment_id, establishment.finess)
    if attachment is None or attachment.deleted_at is not None:
        raise Http404("Pièce complémentaire introuvable.")
    if not is_downloadable(attachment):
        message = (
            f"Le fichier « {attachment.original_name} » est en cours d'analyse antivirus : il sera téléchargeable dès "
            "que l'analyse sera terminée."
            if attachment.scan_status == ScanStatus.PENDING
            else f"Le fichier « {attachment.original_name} » a été détecté comme infecté : il est bloqué."
        )
        return _render(request, establishment, Calendar(), status=409, upload_errors=[message])
    try:
        stored = attachment.file.storage.open(attachment.file.name, "rb")
    except FileNotFoundError:
        logger.error("Pièce AMI %s : fichier %s absent du stockage", attachment.pk, attachment.file.name)
        raise Http404("Le fichier de cette pièce est introuvable ; signalez-le à l'administrateur.")
    response = FileResponse(stored, content_type=attachment.content_type or "application/octet-stream")
    response["Content-Disposition"] = attachment_disposition(attachment.original_name)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


# --- The GHT support establishment's queue -------------------------------------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def support_queue(request):
    """§5.3.2: « la pré-candidature doit être validée par le directeur d'établissement et le directeur
    d'établissement support » — the support director sees its members' pre-candidatures waiting for it."""
    scope = permissions.scope_of(request.user)
    if not scope.ght_ids:
        raise PermissionDenied("Cette page est réservée à la direction de l'établissement support d'un GHT.")
    error = ""
    status = 200
    if request.method == "POST":
        pk = request.POST.get("pre_candidature", "").strip()
        pre_candidature = (
            PreCandidature.objects.select_related("establishment")
            .filter(pk=int(pk), establishment__ght_id__in=scope.ght_ids)
            .first()
            if pk.isdigit()
            else None
        )
        if pre_candidature is None:
            raise Http404("Pré-candidature introuvable.")
        try:
            services.pre_candidature_validate_as_support(pre_candidature=pre_candidature, by=request.user)
        except PermissionRefused as exc:
            raise PermissionDenied(exc.message) from exc
        except ApplicationError as exc:
            error, status = f"{pre_candidature.establishment.name} : {exc.message}", 409
        else:
            messages.success(
                request,
                f"Pré-candidature de {pre_candidature.establishment.name} validée par l'établissement support : "
                "elle est déposée auprès de l'ARS.",
            )
            return redirect("ami:support_queue")
    rows = list(
        PreCandidature.objects.filter(establishment__ght_id__in=scope.ght_ids, programme__code=HOPEN)
        .exclude(establishment__ght__support_id=None)
        .select_related("establishment__ght", "validated_by", "support_validated_by")
        .prefetch_related("domains")
        .order_by("establishment__ght__code", "establishment__name")
    )
    rows = [p for p in rows if p.establishment.ght.support_id != p.establishment_id]
    context = {
        "waiting": [p for p in rows if p.status == FilingStatus.AWAITING_SUPPORT],
        "others": [p for p in rows if p.status != FilingStatus.AWAITING_SUPPORT],
        "error": error,
    }
    return render(request, "ami/support_queue.html", context, status=status)


# --- Entry point and notifications ---------------------------------------------------------------------------------


@require_safe
@login_required
def home(request):
    """The « AMI » menu entry: the role's page (own tab, support queue, ARS list)."""
    scope = permissions.scope_of(request.user)
    if scope.national or scope.region_ids:
        try:
            return redirect(reverse("ami:ars_list"))
        except NoReverseMatch:
            return redirect("establishment_list")
    if scope.ght_ids:
        return redirect("ami:support_queue")
    finesses = list(
        permissions.establishments_readable_by(request.user).filter(pk__in=scope.establishment_ids).values_list("finess", flat=True)[:2]
    )
    if len(finesses) == 1:
        return redirect("ami:tab", finess=finesses[0])
    return redirect("home")


NOTIFICATIONS_PER_PAGE = 30


@require_safe
@login_required
def notifications(request):
    """The user's notifications, newest first; those shown are marked read (they stay listed)."""
    page = Paginator(
        Notification.objects.filter(recipient=request.user).order_by("-created_at", "-id"), NOTIFICATIONS_PER_PAGE
    ).get_page(request.GET.get("page"))
    items = list(page.object_list)
    unread_ids = [n.pk for n in items if n.read_at is None]
    for item in items:
        item.is_new = item.read_at is None
        item.safe_link = item.link if item.link.startswith("/") and not item.link.startswith("//") else ""
    if unread_ids:
        Notification.objects.filter(pk__in=unread_ids, recipient=request.user, read_at__isnull=True).update(
            read_at=timezone.now()
        )
    return render(request, "hopen/notifications.html", {"page": page, "items": items, "unread_shown": len(unread_ids)})

