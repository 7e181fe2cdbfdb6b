"""Pages of the regional envelopes (annex 2, annex 4 §1 and §3): the national table for the DGOS, one region's
balances and ledger, and the DGOS's redeployment between regions.

The permission policy decides: ARS and DGOS read (an ARS its region only: another region answers 404), the
region's ARS raises the derogatory ceiling and sets the sector quotas, the DGOS officer redeploys and records the
delegations of credits (annex 2 §3, with a confirmation step); any other role is refused (403).
"""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_http_methods

from hopen import permissions
from hopen.confirmation import PENDING, Confirmation, confirm_or_run
from hopen.exceptions import ApplicationError, PermissionRefused
from hopen.exports import FORMAT_REFUSED, export_filename, export_format
from hopen.formatting import french_euros

from . import selectors
from .exports import ledger_export
from .forms import DelegationForm, DerogatoryCeilingForm, RedeploymentForm, SectorQuotasForm
from .ledger import balances_of
from .services.common import POT_LABELS, REDEPLOYMENT_REFUSED, REGION_MONEY_REFUSED
from .services.delegations import DELEGATION_REFUSED, credits_delegate
from .services.limits import derogatory_ceiling_raise, sector_quotas_set
from .services.redeployment import redeploy

PAGE_SIZE = 50
BROWSE_REFUSED = "Les enveloppes régionales sont réservées aux ARS et à la DGOS."


def _require_browse(user):
    if not permissions.can_browse_envelopes(user):
        raise PermissionDenied(BROWSE_REFUSED)


@login_required
@require_GET
def home(request):
    """Annex 4 §3 for the DGOS: the 18 regional envelopes and the national total; an ARS goes to its region."""
    _require_browse(request.user)
    rows = selectors.balances_visible_to(request.user, programme=request.programme)
    scope = permissions.scope_of(request.user)
    if not scope.national and len(rows) == 1:
        return redirect("envelopes:detail", region_code=rows[0][0].region.code)
    context = {
        "programme": request.programme,
        "rows": rows,
        "total": selectors.balances_total([b for _, b in rows]),
        "scope_national": scope.national,
        "can_redeploy": permissions.can_redeploy_envelopes(request.user),
    }
    return render(request, "envelopes/home.html", context)


def _act(request, envelope):
    """The ARS's two forms (ceiling, quotas): (ceiling form, quotas form, done)."""
    if not permissions.can_manage_region_money(request.user, envelope.region):
        raise PermissionDenied(REGION_MONEY_REFUSED)
    action = request.POST.get("action")
    ceiling_form = quotas_form = None
    try:
        if action == "raise_ceiling":
            ceiling_form = DerogatoryCeilingForm(request.POST, prefix="plafond")
            if ceiling_form.is_valid():
                derogatory_ceiling_raise(envelope=envelope, reason=ceiling_form.cleaned_data["reason"], by=request.user)
                messages.success(request, "Le plafond de l'amorçage dérogatoire est porté à 50 % des crédits d'amorçage.")
                return ceiling_form, quotas_form, True
        elif action == "set_quotas":
            quotas_form = SectorQuotasForm(request.POST, prefix="quotas")
            if quotas_form.is_valid():
                sector_quotas_set(envelope=envelope, quotas=quotas_form.quotas(), by=request.user)
                messages.success(request, "Les quotas sectoriels d'amorçage sont enregistrés.")
                return ceiling_form, quotas_form, True
        else:
            raise ApplicationError("Action inconnue.")
    except PermissionRefused as exc:
        raise PermissionDenied(exc.message) from exc
    except ApplicationError as exc:
        form = ceiling_form or quotas_form
        if form is None:
            messages.error(request, exc.message)
        else:
            form.add_error(None, exc.message)
    return ceiling_form, quotas_form, False


def _delegate(request, envelope):
    """Annex 2 §3, the DGOS's form: a first submission restates the delegation in the confirmation modal
    (`hopen.confirmation`, after a dry run), the confirmed one records it. Returns (form, confirmation, done)."""
    if not permissions.can_delegate_credits(request.user):
        raise PermissionDenied(DELEGATION_REFUSED)
    form = DelegationForm(request.POST, prefix="delegation")
    if not form.is_valid():
        return form, None, False
    data = form.cleaned_data
    try:
        result = confirm_or_run(request, lambda: credits_delegate(
            envelope=envelope, year=data["year"], pot=data["pot"], amount=data["amount"],
            reference=data["reference"], on=data["delegated_on"], by=request.user,
        ))
    except PermissionRefused as exc:
        raise PermissionDenied(exc.message) from exc
    except ApplicationError as exc:
        form.add_error(None, exc.message)
        return form, None, False
    if result is PENDING:
        region = envelope.region
        on = f", le {data['delegated_on']:%d/%m/%Y}" if data["delegated_on"] else ""
        return form, Confirmation(
            title=f"Déléguer des crédits {POT_LABELS[data['pot']]} à {region.name} ?",
            amount=data["amount"], amount_label=f"Crédits délégués pour l'exercice {data['year']}",
            party=region.ars_name or region.name, detail=f"{data['reference']}{on}",
            consequence="L'ARS pourra les engager dès cette date ; l'écriture ne se supprime pas (une erreur se "
            "corrige par une écriture opposée).",
            confirm_label="Confirmer la délégation",
        ), False
    messages.success(
        request, f"Délégation {data['year']} de {french_euros(data['amount'])} de crédits {POT_LABELS[data['pot']]} "
        f"enregistrée pour {envelope.region} ; l'ARS est notifiée.",
    )
    return form, False, True


@login_required
@require_http_methods(["GET", "POST"])
def detail(request, region_code):
    """One region: balances seed / usage, derogatory seed against its ceiling (§5.1), sector quotas (004), the
    ledger newest first; the region's ARS raises the ceiling to 50 % and sets the quotas."""
    _require_browse(request.user)
    envelope = selectors.envelope_of_region(request.user, region_code, programme=request.programme)
    may_manage = permissions.can_manage_region_money(request.user, envelope.region)
    ceiling_form = quotas_form = delegation_form = None
    confirming = None
    if request.method == "POST" and request.POST.get("action") == "delegate":
        delegation_form, confirming, done = _delegate(request, envelope)
        if done:
            return redirect(reverse("envelopes:detail", args=[envelope.region.code]) + _programme_query(request))
    elif request.method == "POST":
        ceiling_form, quotas_form, done = _act(request, envelope)
        if done:
            return redirect(reverse("envelopes:detail", args=[envelope.region.code]))
        envelope = selectors.envelope_of_region(request.user, region_code, programme=request.programme)
    balances = balances_of([envelope.pk])[envelope.pk]
    breakdown = selectors.seed_breakdown_of([envelope.pk])[envelope.pk]
    sectors = selectors.sector_seed_balances(envelope, balances=balances, breakdown=breakdown)
    if may_manage:
        ceiling_form = ceiling_form or DerogatoryCeilingForm(prefix="plafond")
        quotas_form = quotas_form or SectorQuotasForm(
            prefix="quotas", initial={s.sector: s.share_percent for s in sectors if s.share_percent is not None}
        )
    page = Paginator(selectors.envelope_entries(envelope), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "programme": envelope.programme,
        "envelope": envelope,
        "region": envelope.region,
        "balances": balances,
        "derogatory": selectors.derogatory_seed_status(envelope, balances=balances, breakdown=breakdown),
        "sectors": sectors,
        "quotas_set": any(s.share_percent is not None for s in sectors),
        "page": page,
        "may_manage": may_manage,
        "ceiling_form": ceiling_form if may_manage and not envelope.derogatory_ceiling_raised else None,
        "quotas_form": quotas_form if may_manage else None,
        "scope_national": permissions.scope_of(request.user).national,
        "can_redeploy": permissions.can_redeploy_envelopes(request.user),
        "delegation_form": (delegation_form or DelegationForm(prefix="delegation"))
        if permissions.can_delegate_credits(request.user) else None,
        "confirming": "confirmation-delegation" if confirming else "",
        "confirmation": confirming,
        "delegations": selectors.delegation_entries(envelope)[:20],
    }
    return render(request, "envelopes/detail.html", context)


def _programme_query(request) -> str:
    code = request.GET.get("programme")
    return f"?{urlencode({'programme': code})}" if code else ""


@login_required
@require_http_methods(["GET", "POST"])
def redeployment(request):
    """Annex 4 §1: the DGOS redeploys credits of one pot from a region to another (a pair of entries)."""
    if not permissions.can_redeploy_envelopes(request.user):
        raise PermissionDenied(REDEPLOYMENT_REFUSED)
    envelopes = {
        e.region.code: e for e in selectors.envelopes_visible_to(request.user, programme=request.programme)
    }
    regions = [e.region for e in envelopes.values()]
    form = RedeploymentForm(request.POST or None, regions=regions)
    confirmation = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        source, target = envelopes[data["from_region"]].region, envelopes[data["to_region"]].region
        try:
            result = confirm_or_run(request, lambda: redeploy(
                from_envelope=envelopes[data["from_region"]], to_envelope=envelopes[data["to_region"]],
                pot=data["pot"], amount=data["amount"], reason=data["reason"], by=request.user,
            ))
        except PermissionRefused as exc:
            raise PermissionDenied(exc.message) from exc
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            if result is not PENDING:
                messages.success(request, f"Redéploiement enregistré de {source} vers {target} ; les deux ARS sont notifiées.")
                return redirect("envelopes:home")
            confirmation = Confirmation(  # annex 4 §1: the modal restates the movement before it is written
                title=f"Redéployer des crédits {POT_LABELS[data['pot']]} de {source.name} vers {target.name} ?",
                amount=data["amount"], amount_label="Montant redéployé", party=f"{source.name} → {target.name}",
                detail=f"Motif : {data['reason']}",
                consequence="Le montant quitte le disponible de la région cédante et s'ajoute à celui de la région "
                "bénéficiaire, au grand livre des deux enveloppes ; les deux ARS sont notifiées. Les écritures ne se "
                "suppriment pas (une erreur se corrige par un redéploiement inverse).",
                confirm_label="Confirmer le redéploiement",
            )
    rows = selectors.balances_visible_to(request.user, programme=request.programme)
    context = {
        "form": form, "rows": rows, "programme": request.programme, "confirmation": confirmation,
        "confirming": "confirmation-redeploiement" if confirmation else "",
    }
    return render(request, "envelopes/redeployment.html", context)


# --- Exports of the ledger ------------------------------------------------------------------------------------------


def _ledger_prefix(request) -> str:
    return f"grand-livre-{slugify(request.programme.code)}"


@login_required
@require_GET
def ledger_export_all(request):
    """Every entry the user reads, CSV or XLSX, streamed: the nation for the DGOS, its region for an ARS."""
    _require_browse(request.user)
    fmt = export_format(request)
    if fmt is None:
        return HttpResponseBadRequest(FORMAT_REFUSED)
    scope = permissions.scope_of(request.user)
    codes = None if scope.national else [
        e.region.code for e in selectors.envelopes_visible_to(request.user, programme=request.programme)
    ]
    rows = selectors.ledger_export_rows(request.user, programme=request.programme)
    return ledger_export(fmt, rows, export_filename(_ledger_prefix(request), codes if codes != [] else ["aucune"]))


@login_required
@require_GET
def ledger_export_region(request, region_code):
    """One region's ledger (another region than the ARS's answers 404, like its page), CSV or XLSX, streamed."""
    _require_browse(request.user)
    fmt = export_format(request)
    if fmt is None:
        return HttpResponseBadRequest(FORMAT_REFUSED)
    envelope = selectors.envelope_of_region(request.user, region_code, programme=request.programme)
    rows = selectors.ledger_export_rows(request.user, programme=request.programme, envelope=envelope)
    filename = export_filename(_ledger_prefix(request), [envelope.region.code])
    return ledger_export(fmt, rows, filename)
