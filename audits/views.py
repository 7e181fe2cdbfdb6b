"""Pages of the DGOS audits: the campaigns (DGOS: list and creation, detail with the draw's explanation, progress
and dashboard), the audits visible to the user, one audit (DGOS auditor: everything and the actions; the region's
ARS: read; the establishment: its own, from the draft findings on, and its answer), the letters and the answer's
documents (protected downloads). Thin: selectors read, services write."""

import logging
from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils.text import slugify
from django.views.decorators.http import require_POST, require_safe

from hopen import permissions
from hopen.exceptions import ApplicationError, PermissionRefused
from hopen.sectors import SECTOR_CHOICES
from indicators.views_evidence import attachment_disposition

from . import selectors, services
from .models import AuditDecision, AuditLetter, AuditResponseDocument, AuditStatus, Finding, StratumDimension

logger = logging.getLogger(__name__)
CAMPAIGNS_REFUSED = "Les campagnes de contrôle sont réservées à la DGOS."


def _int(value, default=None):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


@login_required
def campaigns(request):
    """The DGOS's campaigns, and the form of a new draw."""
    if not permissions.can_browse_audit_campaigns(request.user):
        raise PermissionDenied(CAMPAIGNS_REFUSED)
    can_create = permissions.can_create_audit_campaign(request.user)
    errors, form = [], request.POST
    if request.method == "POST":
        if not can_create:
            raise PermissionDenied(services.CREATE_REFUSED)
        try:
            rate = request.POST.get("sample_rate", "").strip().replace(",", ".")
            data = services.CampaignInput(
                name=request.POST.get("name", ""), seed=_int(request.POST.get("seed"), -1),
                sample_size=_int(request.POST.get("sample_size")) if request.POST.get("sample_size", "").strip() else None,
                sample_rate=Decimal(rate) if rate else None,
                strata=tuple(request.POST.getlist("strata")),
                exclude_recently_audited=request.POST.get("exclude_recently_audited") == "on",
                filters=selectors.PopulationFilters(
                    regions=tuple(r.strip() for r in request.POST.get("regions", "").split(",") if r.strip()),
                    sectors=tuple(request.POST.getlist("sectors")), domains=tuple(request.POST.getlist("domains")),
                    usage_notified_or_paid=request.POST.get("usage_notified_or_paid") == "on",
                ),
            )
            campaign = services.campaign_create(programme=request.programme, data=data, by=request.user)
        except InvalidOperation:
            errors = ["Le taux d'échantillonnage est un nombre (en %)."]
        except ApplicationError as exc:
            errors = [exc.message]
        else:
            messages.success(request, f"Campagne « {campaign.name} » créée : {campaign.sample_size} dossiers tirés.")
            return redirect("audits:campaign", pk=campaign.pk)
    rows = selectors.campaigns_visible_to(request.user).order_by("-created_at")
    return render(request, "audits/campaigns.html", {
        "campaigns": rows, "can_create": can_create, "errors": errors, "form": form,
        "programme": request.programme, "strata_choices": StratumDimension.choices, "sector_choices": SECTOR_CHOICES,
        "domain_choices": [f"D{i}" for i in range(1, 8)],
    }, status=400 if errors else 200)


@require_safe
@login_required
def campaign(request, pk):
    if not permissions.can_browse_audit_campaigns(request.user):
        raise PermissionDenied(CAMPAIGNS_REFUSED)
    item = selectors.campaign_for_reading(request.user, pk)
    dashboard = selectors.campaign_dashboard(item)
    return render(request, "audits/campaign.html", {
        "campaign": item, "dashboard": dashboard,
        "progress": [(AuditStatus(status).label, status, n) for status, n in dashboard.progress.items()],
        "audits": item.audits.select_related("dossier", "dossier__region", "dossier__establishment").order_by(
            "dossier__reference"
        ),
    })


@require_safe
@login_required
def audit_list(request):
    audits = selectors.audits_visible_to(request.user).order_by("-campaign__created_at", "dossier__reference")
    return render(request, "audits/audit_list.html", {
        "audits": audits[:500], "can_browse_campaigns": permissions.can_browse_audit_campaigns(request.user),
    })


@require_safe
@login_required
def audit_detail(request, pk):
    audit = selectors.audit_for_reading(request.user, pk)
    return _detail_page(request, audit)


def _detail_page(request, audit, *, errors=(), status=200):
    can_conduct = permissions.can_conduct_audit(request.user)
    return render(request, "audits/audit_detail.html", {
        "audit": audit, "lines": list(audit.lines.all()), "errors": errors,
        "can_conduct": can_conduct and audit.status != AuditStatus.CONCLUDED,
        "can_send": can_conduct and audit.status == AuditStatus.UNDER_REVIEW,
        "can_decide": can_conduct and audit.status == AuditStatus.AWAITING_RESPONSE,
        "can_respond": audit.status == AuditStatus.AWAITING_RESPONSE and permissions.can_respond_to_audit(request.user, audit),
        "finding_choices": [c for c in Finding.choices if c[0] != Finding.PENDING],
        "decision_choices": AuditDecision.choices, "claims": selectors.audit_claims(audit),
        "letters": [letter for letter in audit.letters.all() if letter.generated_at],
    }, status=status)


def _act(request, pk, action):
    audit = selectors.audit_for_reading(request.user, pk)
    try:
        action(audit)
    except PermissionRefused as exc:
        raise PermissionDenied(exc.message)
    except ApplicationError as exc:
        return _detail_page(request, selectors.audit_for_reading(request.user, pk), errors=[exc.message], status=400)
    return redirect("audits:audit", pk=pk)


@require_POST
@login_required
def audit_findings(request, pk):
    def record(audit):
        findings = [
            services.FindingInput(line.pk, request.POST[f"finding-{line.pk}"], request.POST.get(f"comment-{line.pk}", ""))
            for line in audit.lines.all() if request.POST.get(f"finding-{line.pk}")
        ]
        services.findings_record(audit=audit, findings=findings, by=request.user)
        messages.success(request, f"{len(findings)} constat(s) enregistré(s).")

    return _act(request, pk, record)


@require_POST
@login_required
def audit_send(request, pk):
    def send(audit):
        audit = services.findings_send(audit=audit, by=request.user)
        messages.success(request, f"Constats provisoires envoyés ; réponse attendue au plus tard le {audit.response_due_on:%d/%m/%Y}.")

    return _act(request, pk, send)


@require_POST
@login_required
def audit_respond(request, pk):
    def respond(audit):
        services.response_record(
            audit=audit, text=request.POST.get("text", ""), documents=request.FILES.getlist("documents"), by=request.user
        )
        messages.success(request, "Votre réponse est transmise à la DGOS.")

    return _act(request, pk, respond)


@require_POST
@login_required
def audit_decide(request, pk):
    def decide(audit):
        services.decision_record(
            audit=audit, decision=request.POST.get("decision", ""), reason=request.POST.get("reason", ""), by=request.user
        )
        messages.success(request, "Le contrôle est conclu.")

    return _act(request, pk, decide)


def _serve(stored_file, *, content_type, disposition):
    try:
        stored = stored_file.storage.open(stored_file.name, "rb")
    except FileNotFoundError:
        logger.error("Fichier de contrôle %s absent du stockage", stored_file.name)
        raise Http404("Le fichier est introuvable ; signalez-le à l'administrateur.")
    response = FileResponse(stored, content_type=content_type)
    response["Content-Disposition"] = disposition
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@require_safe
@login_required
def letter_download(request, pk, letter_id):
    audit = selectors.audit_for_reading(request.user, pk)
    letter = AuditLetter.objects.filter(audit=audit, pk=letter_id).first()
    if letter is None or letter.generated_at is None or not letter.file:
        raise Http404("Courrier introuvable ou en cours de génération.")
    name = f"{slugify(letter.get_kind_display())}-{slugify(letter.reference)}.pdf"
    return _serve(letter.file, content_type="application/pdf", disposition=f'attachment; filename="{name}"')


@require_safe
@login_required
def response_document_download(request, pk, document_id):
    audit = selectors.audit_for_reading(request.user, pk)
    document = AuditResponseDocument.objects.filter(audit=audit, pk=document_id).first()
    if document is None or not document.is_downloadable:
        raise Http404("Pièce introuvable, supprimée ou en cours d'analyse antivirus.")
    response = _serve(document.file, content_type=document.content_type or "application/octet-stream",
                      disposition=attachment_disposition(document.original_name))
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response

