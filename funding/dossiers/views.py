"""Pages of the dossier workflow (instruction §5.3.2 « Etape 2 », annexes 2, 3 and 4): the list of dossiers, a new
dossier, and one dossier with the actions the user may take on it.

Thin views: the selectors scope every read (404 outside the user's scope); the services decide. A refused action
shows its French message in a DSFR alert, with the typed input kept (HTTP 409 for an impossible transition, 400
for another refusal); a write by a reader answers 403 — never a 500.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from funding.eligibility.models import SoftwareVendor
from hopen import permissions
from hopen.exceptions import ApplicationError, PermissionRefused
from hopen.models import Region

from . import selectors, services
from .forms import CloseForm, DossierCreateForm, DossierFilterForm, RefuseForm, SelectForm
from .states import TransitionRefused

PAGE_SIZE = 25
CREATE_REFUSED = "Seul l'établissement (ou l'établissement support de son GHT) prépare ses dossiers de financement."

DOSSIER_BUTTONS = {
    "initialise": (services.dossier_initialise, "Dossier initialisé : l'établissement est notifié."),
    "transmit": (services.dossier_transmit, "Dossier transmis à l'ARS : elle dispose de quatre mois pour décider (annexe 4 §1)."),
    "start_review": (services.dossier_start_review, "Instruction ouverte : l'établissement est notifié."),
}
DOMAIN_BUTTONS = {
    "pay_seed": (services.domain_record_seed_payment, "Versement de l'amorçage du domaine {code} enregistré."),
    "reach_targets": (services.domain_record_targets_reached, "Atteinte des cibles du domaine {code} constatée : l'ARS est notifiée."),
    "notify_usage": (services.domain_notify_usage, "Financement à l'usage du domaine {code} notifié : le courrier est en préparation."),
    "pay_usage": (services.domain_record_usage_payment, "Versement du financement à l'usage du domaine {code} enregistré."),
}
KNOWN_ACTIONS = {*DOSSIER_BUTTONS, *DOMAIN_BUTTONS, "select", "refuse", "close"}


# --- The list ------------------------------------------------------------------------------------------------------


def _regions_for_filter(user):
    scope = permissions.scope_of(user)
    if scope.national:
        return list(Region.objects.order_by("name"))
    return list(Region.objects.filter(pk__in=scope.region_ids).order_by("name")) if scope.region_ids else []


@login_required
@require_GET
def dossier_list(request):
    """The dossiers of the programme in force (`request.programme`) the user may read: an establishment its own (and
    those it is a candidate of), an ARS its region's, the DGOS all; filters by status, domain and region."""
    regions = _regions_for_filter(request.user)
    form = DossierFilterForm(request.GET or None, regions=regions)
    dossiers = selectors.dossiers_visible_to(request.user, form.filters(), programme=request.programme)
    page = Paginator(dossiers, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [{"dossier": d, "total": selectors.dossier_total(d)} for d in page.object_list]
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "rows": rows,
        "show_region_filter": len(regions) > 1,
        "new_dossier_for": selectors.establishments_for_new_dossier(request.user),
        "query": query.urlencode(),
        "programme": request.programme,
    }
    return render(request, "funding/dossiers/list.html", context)


# --- A new dossier -------------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def dossier_create(request):
    """§5.3.2 « Etape 2 »: the establishment prepares its dossier (a GHT support establishment, for candidate members
    of its GHT — annex 3 §2), or asks its ARS to initialise it."""
    finess = (request.POST.get("finess") or request.GET.get("finess") or "").strip()
    if not finess:
        choices = selectors.establishments_for_new_dossier(request.user)
        if len(choices) == 1:
            return redirect(f"{reverse('funding:dossier_create')}?finess={choices[0].finess}")
        if not choices:
            raise PermissionDenied(CREATE_REFUSED)
        return render(request, "funding/dossiers/choose_establishment.html", {"choices": choices})
    establishment = permissions.get_establishment_for_reading(request.user, finess)
    if not permissions.can_prepare_dossier(request.user, establishment):
        raise PermissionDenied(CREATE_REFUSED)
    ght = establishment.ght
    is_support = ght is not None and ght.support_id == establishment.pk
    ght_members = list(ght.members.order_by("name")) if is_support else []
    vendors = list(SoftwareVendor.objects.order_by("name"))
    form = DossierCreateForm(request.POST or None, establishment=establishment, ght_members=ght_members, vendors=vendors)
    programme = request.programme
    filing = selectors.filing_state(programme)  # §5.3.2: the window shown before any typing
    error, status = None, 200
    if request.method == "POST" and form.is_valid():
        write = (
            services.dossier_request_initialisation if form.cleaned_data.get("request_initialisation")
            else services.dossier_create
        )
        try:
            dossier = write(
                establishment=establishment, domains=form.domain_inputs(), by=request.user, programme=programme,
                ght_members=form.chosen_members(), comment=form.cleaned_data.get("comment") or "",
                prerequisites_forecast=form.cleaned_data.get("prerequisites_forecast"),
            )
        except PermissionRefused as exc:
            raise PermissionDenied(exc.message) from exc
        except ApplicationError as exc:
            error, status = exc.message, 400
            form.add_domain_errors(exc.extra.get("errors") or {})
        else:
            messages.success(request, f"Dossier {dossier.reference} créé.")
            return redirect("funding:dossier_detail", reference=dossier.reference)
    elif request.method == "POST":
        error, status = "Corrigez les champs signalés.", 400
    context = {
        "establishment": establishment, "form": form, "error": error, "is_support": is_support,
        "programme": programme, "filing": filing,
    }
    return render(request, "funding/dossiers/create.html", context, status=status)


# --- One dossier ---------------------------------------------------------------------------------------------------


def _domain_of(dossier, code):
    domain = next((d for d in dossier.domains.all() if d.domain_code == (code or "").upper()), None)
    if domain is None:
        raise Http404("Domaine introuvable dans ce dossier.")
    return domain


def _perform(request, dossier, forms):
    """Run the posted action. Returns (success message, anchor) or raises ApplicationError / PermissionRefused;
    None when a form does not parse (its errors are in `forms`)."""
    action = request.POST.get("action", "")
    user = request.user
    if action in DOSSIER_BUTTONS:
        service, message = DOSSIER_BUTTONS[action]
        service(dossier=dossier, by=user)
        return message, "etat"
    if action in DOMAIN_BUTTONS:
        domain = _domain_of(dossier, request.POST.get("domain"))
        service, message = DOMAIN_BUTTONS[action]
        service(domain=domain, by=user)
        return message.format(code=domain.domain_code), f"domaine-{domain.domain_code}"
    if action == "select":
        domain = _domain_of(dossier, request.POST.get("domain"))
        form = forms[("select", domain.domain_code)] = SelectForm(request.POST, prefix=f"select-{domain.domain_code}")
        if not form.is_valid():
            return None
        services.domain_select(
            domain=domain, seed_amount=(form.cleaned_data["seed_amount"] or "0").strip() or "0",
            reason=form.cleaned_data["reason"], by=user,
        )
        return f"Domaine {domain.domain_code} sélectionné.", f"domaine-{domain.domain_code}"
    if action == "refuse":
        domain = _domain_of(dossier, request.POST.get("domain"))
        form = forms[("refuse", domain.domain_code)] = RefuseForm(request.POST, prefix=f"refuse-{domain.domain_code}")
        if not form.is_valid():
            return None
        services.domain_refuse(
            domain=domain, reason=form.cleaned_data["reason"], refusal_kind=form.cleaned_data["refusal_kind"], by=user
        )
        return f"Domaine {domain.domain_code} refusé : l'établissement est notifié du motif.", f"domaine-{domain.domain_code}"
    if action == "close":
        form = forms[("close", "")] = CloseForm(request.POST, prefix="close")
        if not form.is_valid():
            return None
        services.dossier_close(dossier=dossier, kind=form.cleaned_data["kind"], reason=form.cleaned_data["reason"], by=user)
        return "Dossier clôturé.", "etat"
    raise AssertionError(action)  # pragma: no cover - the view checks KNOWN_ACTIONS first


@login_required
@require_http_methods(["GET", "POST"])
def dossier_detail(request, reference):
    """The dossier: its state, domains with their states and amounts, eligibility (§5.3.1), candidates, vendors,
    letters and history, and the forms of the actions the user may take."""
    dossier = selectors.dossier_for_reading(request.user, reference)
    forms, error, error_key, status, reasons = {}, None, None, 200, []
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action not in KNOWN_ACTIONS:
            return HttpResponseBadRequest("Action inconnue.")
        try:
            done = _perform(request, dossier, forms)
        except PermissionRefused as exc:
            raise PermissionDenied(exc.message) from exc
        except TransitionRefused as exc:
            error, status = exc.message, 409
        except ApplicationError as exc:
            error, status, reasons = exc.message, 400, exc.extra.get("reasons") or []
        else:
            if done is not None:
                message, anchor = done
                messages.success(request, message)
                return redirect(f"{reverse('funding:dossier_detail', args=[dossier.reference])}#{anchor}")
            error, status = "Corrigez le formulaire.", 400
        error_key = (action, (request.POST.get("domain") or "").upper()) if action != "close" else ("close", "")
        dossier = selectors.dossier_for_reading(request.user, reference)
    page = selectors.dossier_page(request.user, dossier)
    for line in page.lines:
        code = line.domain.domain_code
        line.select_form = forms.get(("select", code)) or SelectForm(prefix=f"select-{code}") if "select" in line.actions else None
        line.refuse_form = forms.get(("refuse", code)) or RefuseForm(prefix=f"refuse-{code}") if "refuse" in line.actions else None
        line.error = error if error_key and error_key[1] == code else None
    close_form = forms.get(("close", "")) or CloseForm(prefix="close") if "close" in page.actions else None
    context = {
        "page": page,
        "dossier": page.dossier,
        "close_form": close_form,
        "error": error,
        "error_reasons": [r for r in reasons if isinstance(r, dict)],
        "error_is_dossier": bool(error_key) and error_key[1] == "",
        "establishment": page.dossier.establishment,
    }
    return render(request, "funding/dossiers/detail.html", context, status=status)
