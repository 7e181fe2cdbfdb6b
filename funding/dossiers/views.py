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
from hopen.confirmation import PENDING, confirm_or_run
from hopen.exceptions import ApplicationError, PermissionRefused
from hopen.models import Region

from . import selectors, services
from . import confirmations
from .forms import AdmitWithoutAmiForm, CloseForm, DossierCreateForm, DossierFilterForm, RefuseForm, SelectForm
from .models import ClosureKind, RefusalKind
from .rules import to_amount
from .share_page import SHARE_ACTIONS, share_modal_code
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
FORMS = {  # the actions whose values are typed: (form, prefix of its fields)
    "select": (SelectForm, "select-{code}"),
    "refuse": (RefuseForm, "refuse-{code}"),
    "admit_without_ami": (AdmitWithoutAmiForm, "admit-{code}"),
    "close": (CloseForm, "close"),
}
KNOWN_ACTIONS = {*DOSSIER_BUTTONS, *DOMAIN_BUTTONS, *FORMS}
# Irreversible or money actions (issue 12): asked for confirmation in a modal; opening the instruction and the
# initialisation are neither.
CONFIRMED_ACTIONS = {"transmit", *DOMAIN_BUTTONS, *FORMS}


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
        "may_export_dossiers": permissions.can_export_national_tables(request.user),
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
    programme = request.programme
    form = DossierCreateForm(
        request.POST or None, establishment=establishment, ght_members=ght_members, vendors=vendors,
        advanced_rate_indicators=programme.advanced_rate_indicators,
    )
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


class _Confirm:
    """A POST that passed its dry run and waits for the modal's confirmation (`hopen.confirmation`)."""

    def __init__(self, action, code="", confirmation=None):
        self.modal_id, self.confirmation = confirmations.modal_id(action, code), confirmation


def _run(request, write, done, pending):
    """`done` after the confirmed write; `pending()` (a `_Confirm`) after the dry run of an unconfirmed POST."""
    return pending() if confirm_or_run(request, write) is PENDING else done


def _perform(request, dossier, forms, party):
    """Run the posted action. Returns (success message, anchor), a `_Confirm` when the confirmation is still to be
    given, or raises ApplicationError / PermissionRefused; None when a form does not parse (its errors in `forms`)."""
    action = request.POST.get("action", "")
    user = request.user
    if action in DOSSIER_BUTTONS:
        service, message = DOSSIER_BUTTONS[action]
        if action not in CONFIRMED_ACTIONS:
            service(dossier=dossier, by=user)
            return message, "etat"
        return _run(request, lambda: service(dossier=dossier, by=user), (message, "etat"), lambda: _Confirm(action))
    domain = _domain_of(dossier, request.POST.get("domain")) if action != "close" else None
    code = domain.domain_code if domain is not None else ""
    anchor = f"domaine-{code}"
    if action in DOMAIN_BUTTONS:
        service, message = DOMAIN_BUTTONS[action]
        # a GHT member's share (annex 2 §2, `share_page`): the member posted, its own modal
        member = (request.POST.get("member") or "").strip() if action in SHARE_ACTIONS else ""
        extra = {"establishment": member} if member else {}
        return _run(
            request, lambda: service(domain=domain, by=user, **extra), (message.format(code=code), anchor),
            lambda: _Confirm(action, share_modal_code(code, member) if member else code),
        )
    form_class, prefix = FORMS[action]
    form = forms[(action, code)] = form_class(request.POST, prefix=prefix.format(code=code))
    if not form.is_valid():
        return None
    data = form.cleaned_data
    if action == "select":
        seed = (data["seed_amount"] or "0").strip() or "0"
        return _run(
            request, lambda: services.domain_select(domain=domain, seed_amount=seed, reason=data["reason"], by=user),
            (f"Domaine {code} sélectionné.", anchor),
            lambda: _Confirm(action, code, confirmations.for_input(
                action, dossier, party, domain=domain, seed=to_amount(seed), reason=data["reason"].strip(),
            )),
        )
    if action == "refuse":
        kind = data["refusal_kind"]
        return _run(
            request,
            lambda: services.domain_refuse(domain=domain, reason=data["reason"], refusal_kind=kind, by=user),
            (f"Domaine {code} refusé : l'établissement est notifié du motif.", anchor),
            lambda: _Confirm(action, code, confirmations.for_input(
                action, dossier, party, domain=domain, reason=data["reason"].strip(), kind=RefusalKind(kind).label,
            )),
        )
    if action == "admit_without_ami":
        return _run(
            request, lambda: services.domain_admit_without_ami(domain=domain, reason=data["reason"], by=user),
            (f"Domaine {code} admis sans présélection AMI : l'établissement est notifié.", anchor),
            lambda: _Confirm(action, code, confirmations.for_input(
                action, dossier, party, domain=domain, reason=data["reason"].strip(),
            )),
        )
    if action == "close":
        kind = data["kind"]
        return _run(
            request, lambda: services.dossier_close(dossier=dossier, kind=kind, reason=data["reason"], by=user),
            ("Dossier clôturé.", "etat"),
            lambda: _Confirm(action, "", confirmations.for_input(
                action, dossier, party, reason=data["reason"].strip(), kind=ClosureKind(kind).label,
            )),
        )
    raise AssertionError(action)  # pragma: no cover - the view checks KNOWN_ACTIONS first


@login_required
@require_http_methods(["GET", "POST"])
def dossier_detail(request, reference):
    """The dossier: its state, domains with their states and amounts, eligibility (§5.3.1), candidates, vendors,
    letters and history, and the forms of the actions the user may take — each irreversible or money action asking
    its confirmation (`hopen.confirmation`)."""
    dossier = selectors.dossier_for_reading(request.user, reference)
    forms, error, error_key, status, reasons, confirming = {}, None, None, 200, [], None
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action not in KNOWN_ACTIONS:
            return HttpResponseBadRequest("Action inconnue.")
        try:
            done = _perform(request, dossier, forms, confirmations.party_of(dossier, selectors.members_of(dossier)))
        except PermissionRefused as exc:
            raise PermissionDenied(exc.message) from exc
        except TransitionRefused as exc:
            error, status = exc.message, 409
        except ApplicationError as exc:
            error, status, reasons = exc.message, 400, exc.extra.get("reasons") or []
        else:
            if isinstance(done, _Confirm):
                confirming = done
            elif done is not None:
                message, anchor = done
                messages.success(request, message)
                return redirect(f"{reverse('funding:dossier_detail', args=[dossier.reference])}#{anchor}")
            else:
                error, status = "Corrigez le formulaire.", 400
        error_key = (action, (request.POST.get("domain") or "").upper()) if action != "close" else ("close", "")
        if error is None:
            error_key = None
        dossier = selectors.dossier_for_reading(request.user, reference)
    page = selectors.dossier_page(request.user, dossier)
    party = confirmations.party_of(page.dossier, page.members)
    confirmations.attach(page, party)
    for line in page.lines:
        code = line.domain.domain_code
        line.select_form = _form(forms, "select", code) if "select" in line.actions else None
        line.refuse_form = _form(forms, "refuse", code) if "refuse" in line.actions else None
        line.admit_form = _form(forms, "admit_without_ami", code) if line.admissible_without_ami else None
        line.error = error if error_key and error_key[1] == code else None
    close_form = _form(forms, "close", "") if "close" in page.actions else None
    context = {
        "page": page,
        "dossier": page.dossier,
        "close_form": close_form,
        "error": error,
        "error_reasons": [r for r in reasons if isinstance(r, dict)],
        "error_is_dossier": bool(error_key) and error_key[1] == "",
        "establishment": page.dossier.establishment,
        "confirming": confirming.modal_id if confirming else "",
        "confirmation": confirming.confirmation if confirming else None,
    }
    return render(request, "funding/dossiers/detail.html", context, status=status)


def _form(forms, action, code):
    """The bound form of the POST (kept with its input and errors), else an empty one."""
    form_class, prefix = FORMS[action]
    return forms.get((action, code)) or form_class(prefix=prefix.format(code=code))
