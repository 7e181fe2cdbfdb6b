"""The ARS side of the AMI (instruction §5.3.2 « Etape 1 », annexes 2, 4 and 5): the region's pre-candidatures with
their totals next to the regional envelope, one pre-candidature with a decision per domain, the multi-year
programming transmitted to the DGOS, and the exports.

Every page asks the permission policy: the lists answer 403 to any role but ARS and DGOS (an ARS sees only its
region), a pre-candidature out of the user's scope answers 404, a decision by anyone but the region's ARS 403.
"""

from dataclasses import asdict
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.utils.html import format_html_join
from django.views.decorators.http import require_GET, require_http_methods

from funding.rules import category_of
from funding.selectors import amount_grid
from hopen import permissions
from hopen.exceptions import ApplicationError, PermissionRefused
from hopen.audit_display import present
from hopen.exports import FORMAT_REFUSED, export_format
from hopen.formatting import french_euros
from hopen.models import AuditRecord
from indicators.models import CatalogueVersion

from . import exports, programming, selectors
from .badges import decision_badge
from .forms_ars import DecisionForm, ProgrammingRegionForm, filtered_pre_candidatures
from .models import Decision, FilingStatus
from .services import can_decide, pre_candidature_decide
from .services_ars import programming_transmit
from .tab.history import HIDDEN_KEYS

PAGE_SIZE = 25
PROGRAMMING_PAGE_SIZE = 100
PROGRAMMING_REFUSED = "La programmation pluriannuelle est réservée aux ARS et à la DGOS."
DECISION_REFUSED = "La présélection revient à l'ARS de la région de l'établissement."


def _require_browse(user, message=selectors.LIST_REFUSED):
    if not selectors.can_browse_pre_candidatures(user):
        raise PermissionDenied(message)


def _query_without(request, *names):
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


def _combined_activity(establishment):
    record = getattr(establishment, "combined_activity", None)
    return record.value if record is not None else None


def _region_codes(user, filters):
    """The regions the page covers: the ARS's own, or the DGOS's region filter (None: the nation)."""
    scope = permissions.scope_of(user)
    if not scope.national:
        return [region.code for region in selectors.regions_browsable_by(user)]
    return [filters["region"]] if filters.get("region") else None


def _tab_url(finess):
    try:
        return reverse("ami:tab", args=[finess])
    except NoReverseMatch:  # the establishment's tab is not installed
        return ""


# --- The region's pre-candidatures -------------------------------------------------------------------------------


# One domain line of the list, rendered here rather than by the template: a hundred lines per page, each six template
# lookups and an include. The badges are the detail page's (ami/badges.py).
_DOMAIN_LINE = (
    '<li data-domain="{}"><strong>{}</strong> {}, priorité {}, {} '
    '<span class="fr-badge fr-badge--sm fr-badge--{}">{}</span></li>'
)


def _list_rows(pre_candidatures, *, national: bool) -> list[dict]:
    """The page's rows, every cell formatted once here (the domain lines as HTML): the template prints plain values
    instead of resolving chains of attributes and filters per cell (25 rows, a hundred domain lines).
    `pre_candidature` and `domains` ((domain, estimated amount) pairs) stay for the readers of the context (tests,
    bench/limits.py)."""
    rows = []
    for pre_candidature in pre_candidatures:
        establishment = pre_candidature.establishment
        place = [establishment.finess, establishment.city]
        if establishment.ght_id:
            place.append(f"GHT {establishment.ght.code}")
        if national:
            place.append(establishment.region.name)
        domains = list(pre_candidature.domains.all())
        lines = format_html_join("\n", _DOMAIN_LINE, (
            (
                domain.domain_code, domain.domain_code, domain.forecast_semester, domain.priority,
                "montant inconnu" if domain.estimated_amount is None else french_euros(domain.estimated_amount),
                *decision_badge(domain.decision),
            )
            for domain in domains
        ))
        filed_at = pre_candidature.filed_at
        rows.append({
            "pre_candidature": pre_candidature,
            "domains": [(domain, domain.estimated_amount) for domain in domains],
            "finess": establishment.finess,
            "name": establishment.name,
            "url": reverse("ami:ars_detail", args=[pre_candidature.pk]),
            "place": " — ".join(place),
            "status_label": establishment.status_label,
            "activities": ", ".join(str(activity) for activity in establishment.activities),
            "position": pre_candidature.get_position_display(),
            "filing": (
                timezone.localtime(filed_at).strftime("%d/%m/%Y") if filed_at
                else pre_candidature.get_status_display()
            ),
            "late": pre_candidature.is_late,
            "lines": lines,
        })
    return rows


def _estimate_table(totals) -> dict:
    """`programming.EstimateTotals` as the table prints it, the euros formatted once (ars_estimate_table.html)."""
    years = totals.years
    return {
        "years": [str(year) for year in years],
        "rows": [
            {
                "domain": row["domain"],
                "count": row["count"],
                "cells": [french_euros(amount) for amount in row["cells"]],
                "total": french_euros(row["total"]),
                "total_value": str(row["total"]),
            }
            for row in totals.table()
        ],
        "footer": bool(totals.counts),
        "year_row": [french_euros(totals.by_year[year]) for year in years],
        "total": french_euros(totals.total),
        "total_value": str(totals.total),
    }


def _list_figures(request, pre_candidatures, filters, ami_filters) -> dict:
    """The figures of the list that depend only on the scope, the programme and the filters (the cached section of
    ars_list.html): the estimates per domain and year, the balance, the envelope and its use."""
    summed = selectors.domain_totals(pre_candidatures, ami_filters)
    envelope = selectors.envelope_for(request.programme, _region_codes(request.user, filters))
    return {
        "totals": summed.totals,
        "preselected_totals": summed.preselected,
        "balance": summed.balance,
        "envelope": envelope,
        "envelope_requested": programming.envelope_use(envelope=envelope.amount, planned=summed.totals.total),
        "envelope_preselected": programming.envelope_use(envelope=envelope.amount, planned=summed.preselected.total),
        "totals_table": _estimate_table(summed.totals),
        "preselected_table": _estimate_table(summed.preselected),
    }


def _figures_key(user, programme, filters, ami_filters) -> tuple:
    """The key parts of the cached figures (hopen/figure_cache.py): the programme, the scope the permission policy
    gave (the nation, or the ARS's regions) and every filter value that changes the figures, normalized (the
    cleaned values: an invalid one was dropped from the figures, so from the key too; the page never counts)."""
    scope = permissions.scope_of(user)
    scope_part = "nation" if scope.national else "regions-" + ",".join(str(pk) for pk in sorted(scope.region_ids))
    values = {**filters, **asdict(ami_filters)}
    filter_part = urlencode(sorted((name, str(value)) for name, value in values.items() if value))
    return (programme.pk, scope_part, filter_part)


@login_required
@require_GET
def ars_list(request):
    """§5.3.2 / annex 4 §3: the pre-candidatures of the region (the nation for the DGOS), filtered, with the
    estimated amounts per domain and per year of forecast target attainment next to the regional envelope, and
    the balance between statuses and activities the instruction recommends.

    The figures (estimates, balance, envelope) are lazy: computed only when the template's cached section misses
    (`{% cached_figures %}`) or when something reads them."""
    _require_browse(request.user)
    form, filters, ami_filters, pre_candidatures = filtered_pre_candidatures(request)
    national = permissions.scope_of(request.user).national
    page = Paginator(selectors.for_list_page(pre_candidatures), PAGE_SIZE).get_page(request.GET.get("page"))
    programme = request.programme
    figures = SimpleLazyObject(lambda: _list_figures(request, pre_candidatures, filters, ami_filters))

    def figure(name):  # the figures by name, for the readers of the context (tests, bench/limits.py `ami_figures`)
        return SimpleLazyObject(lambda: figures[name])

    context = {
        "programme": programme,
        "form": form,
        "page": page,
        "rows": _list_rows(page.object_list, national=national),
        "figures_key": _figures_key(request.user, programme, filters, ami_filters),
        "figures": figures,
        **{name: figure(name) for name in (
            "totals", "preselected_totals", "envelope", "envelope_requested", "envelope_preselected", "balance",
        )},
        "scope_national": national,
        "grid_missing": not selectors.grid_loaded(programme),
        "domain_filtered": ami_filters.has_domain_filter,
        "query": _query_without(request, "page"),
    }
    return render(request, "ami/ars_list.html", context)


# --- One pre-candidature, a decision per domain ------------------------------------------------------------------


def _attachments(pre_candidature):
    """Live attachments, each with its protected download link on the establishment's tab ("" when not served)."""
    attachments = [a for a in pre_candidature.attachments.all() if a.deleted_at is None]
    for attachment in attachments:
        try:
            attachment.download_url = reverse(
                "ami:attachment_download", args=[pre_candidature.establishment.finess, attachment.pk]
            )
        except NoReverseMatch:
            attachment.download_url = ""
    return attachments


def _eligibility(establishment, programme):
    """§5.3.1 verdicts per domain (`funding.eligibility.selectors`), or None while that module or the catalogue is
    missing."""
    try:
        from funding.eligibility.selectors import eligibility_for_establishment
    except ModuleNotFoundError as error:
        if error.name != "funding.eligibility.selectors":
            raise
        return None
    try:
        return eligibility_for_establishment(establishment, programme=programme)
    except CatalogueVersion.DoesNotExist:
        return None


def _copy_errors(form, error: ValidationError):
    for name, messages_ in getattr(error, "message_dict", {"__all__": error.messages}).items():
        field = {"decision_reason": "reason", "decision": "decision"}.get(name)
        form.add_error(field if field in form.fields else None, messages_)


@login_required
@require_http_methods(["GET", "POST"])
def ars_detail(request, pk):
    """The whole pre-candidature, read-only; for the region's ARS, per domain: « présélectionner » or « ne pas
    retenir » with a mandatory reason (annex 4 §1), through `pre_candidature_decide`."""
    pre_candidature = selectors.pre_candidature_for_reading(request.user, pk)
    establishment = pre_candidature.establishment
    may_decide = can_decide(request.user, establishment)
    decidable = may_decide and pre_candidature.status == FilingStatus.FILED
    domains = list(pre_candidature.domains.all())
    forms = {}

    if request.method == "POST":
        if not may_decide:
            raise PermissionDenied(DECISION_REFUSED)
        domain = next((d for d in domains if str(d.pk) == request.POST.get("domain", "")), None)
        if domain is None:
            raise Http404("Domaine introuvable dans cette pré-candidature.")
        form = DecisionForm(request.POST, prefix=f"domaine-{domain.pk}")
        forms[domain.pk] = form
        if form.is_valid():
            try:
                pre_candidature_decide(
                    domain=domain, decision=form.cleaned_data["decision"], reason=form.cleaned_data["reason"],
                    by=request.user,
                )
            except PermissionRefused as exc:
                raise PermissionDenied(exc.message) from exc
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            except ValidationError as exc:
                _copy_errors(form, exc)
            else:
                verdict = "présélectionné" if form.cleaned_data["decision"] == Decision.PRESELECTED else "non retenu"
                messages.success(request, f"Domaine {domain.domain_code} {verdict} : l'établissement est notifié.")
                return redirect(f"{request.path}#domaine-{domain.domain_code}")
        reasons = " ".join(form.non_field_errors()) or "corrigez le formulaire du domaine."
        messages.error(request, f"La décision sur le domaine {domain.domain_code} n'est pas enregistrée : {reasons}")

    grid = amount_grid(pre_candidature.programme)
    activity = _combined_activity(establishment)
    verdicts = _eligibility(establishment, pre_candidature.programme)
    common_reasons = tuple(getattr(verdicts, "common_reasons", ())) if verdicts else ()
    lines = []
    for domain in domains:
        if decidable and domain.pk not in forms:
            initial = {}
            if domain.decision != Decision.PENDING:
                initial = {"decision": domain.decision, "reason": domain.decision_reason}
            forms[domain.pk] = DecisionForm(prefix=f"domaine-{domain.pk}", initial=initial)
        verdict = verdicts.get(domain.domain_code) if verdicts else None
        lines.append({
            "domain": domain,
            "amount": domain.estimated_amount,
            "deadline": programming.semester_end(domain.forecast_semester),
            "verdict": verdict,
            "reasons": [r for r in verdict.reasons if r not in common_reasons] if verdict else [],
            "form": forms.get(domain.pk) if decidable else None,
        })
    object_ids = [str(pre_candidature.pk)]
    domain_ids = [str(d.pk) for d in domains]
    history = present(
        AuditRecord.objects.filter(
            Q(object_type="ami.precandidature", object_id__in=object_ids)
            | Q(object_type="ami.precandidaturedomain", object_id__in=domain_ids)
        ).select_related("actor").order_by("-id")[:100],
        skip=HIDDEN_KEYS,
    )
    category = category_of(activity, grid.categories).code if activity is not None and grid.categories else None
    context = {
        "pre_candidature": pre_candidature,
        "establishment": establishment,
        "lines": lines,
        "combined_activity": activity,
        "combined_activity_record": getattr(establishment, "combined_activity", None),
        "category": category,
        "may_decide": may_decide,
        "decidable": decidable,
        "can_browse": selectors.can_browse_pre_candidatures(request.user),
        "eligibility_available": verdicts is not None,
        "common_reasons": common_reasons,
        "attachments": _attachments(pre_candidature),
        "history": history,
        "tab_url": _tab_url(establishment.finess),
    }
    return render(request, "ami/ars_detail.html", context)


# --- Multi-year programming --------------------------------------------------------------------------------------


def _programming_region(request):
    """(form, region or None for the nation). The ARS sees its own region; the DGOS chooses (or the nation)."""
    scope = permissions.scope_of(request.user)
    regions = list(selectors.regions_browsable_by(request.user))
    form = ProgrammingRegionForm(request.GET or None, regions=regions, national=scope.national)
    code = form.cleaned_data.get("region") if form.is_bound and form.is_valid() else ""
    region = next((r for r in regions if r.code == code), None)
    if region is None and not scope.national and regions:
        region = regions[0]
    return form, region


@login_required
@require_http_methods(["GET", "POST"])
def programming_page(request):
    """§5.3.2: the pre-selected establishments by FINESS, their domains, target deadline, planned funding with its
    seed / usage split per year (annex 2 §2), status and activities; transmitted to the DGOS by the ARS."""
    _require_browse(request.user, PROGRAMMING_REFUSED)
    form, region = _programming_region(request)
    if request.method == "POST":
        if request.POST.get("action") != "transmit" or not selectors.can_transmit_programming(request.user, region):
            raise PermissionDenied("Seule l'ARS de la région transmet sa programmation à la DGOS.")
        try:
            programming_transmit(region=region, programme=request.programme, by=request.user)
        except PermissionRefused as exc:
            raise PermissionDenied(exc.message) from exc
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, "Programmation marquée comme transmise à la DGOS ; la DGOS est notifiée.")
        return redirect(request.get_full_path())

    programme = request.programme
    grid = amount_grid(programme)
    summary = selectors.programming_summary(request.user, programme, region)
    page = Paginator(selectors.programming_domains(request.user, programme, region), PROGRAMMING_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    lines = [selectors.programming_line(row) for row in page.object_list]
    envelope = selectors.envelope_for(programme, [region.code] if region else None)
    deadline = selectors.programming_deadline(programme)
    transmission = selectors.last_transmission(region, programme)
    context = {
        "form": form,
        "region": region,
        "page": page,
        "lines": lines,
        "summary": summary,
        "totals_table": summary.totals.table(),
        "envelope": envelope,
        "envelope_use": programming.envelope_use(
            envelope=envelope.amount, planned=summary.totals.total.total,
            seed_planned=summary.totals.total.seed,
        ),
        "programme": programme,
        "deadline": deadline,
        "deadline_passed": deadline is not None and timezone.localdate() > deadline.last_day,
        "transmission": transmission,
        "can_transmit": selectors.can_transmit_programming(request.user, region),
        "scope_national": permissions.scope_of(request.user).national,
        "grid_missing": not grid.categories,
        "query": _query_without(request, "page"),
    }
    return render(request, "ami/ars_programming.html", context)


# --- Exports -----------------------------------------------------------------------------------------------------


@login_required
@require_GET
def export(request):
    """Annex 5 « Fonction d'export »: every field of the tab, one line per establishment and domain (ARS: its
    region; DGOS: the nation, or the region filter), CSV or XLSX, streamed."""
    _require_browse(request.user)
    fmt = export_format(request)
    if fmt is None:
        return HttpResponseBadRequest(FORMAT_REFUSED)
    _, filters, ami_filters, pre_candidatures = filtered_pre_candidatures(request)
    filename = exports.export_filename("ami-pre-candidatures", _region_codes(request.user, filters))
    return exports.pre_candidatures_export(fmt, pre_candidatures, ami_filters, amount_grid(request.programme), filename)


@login_required
@require_GET
def programming_export(request):
    """The §5.3.2 programming, CSV or XLSX (with a sheet of totals per domain and per year), streamed."""
    _require_browse(request.user, PROGRAMMING_REFUSED)
    fmt = export_format(request)
    if fmt is None:
        return HttpResponseBadRequest(FORMAT_REFUSED)
    _, region = _programming_region(request)
    filename = exports.export_filename("ami-programmation", [region.code] if region else None)
    rows = selectors.programming_domains(request.user, request.programme, region).iterator(chunk_size=2000)
    return exports.programming_export(fmt, rows, filename)
