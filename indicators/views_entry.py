"""The indicator page: definition, entry of a draft, declaration, correction, versions and history."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import redirect, render

from hopen import permissions
from hopen.audit_display import present
from hopen.exceptions import ApplicationError, PermissionRefused
from hopen.models import AuditRecord

from .forms import CorrectionForm, ValueForm
from .models import Evidence, Indicator, IndicatorValue, ValueStatus
from .selectors import attainment_of, establishment_for_indicators, not_applicable_in_group
from .services import value_correct, value_declare, value_save_draft


ENTRY_IDS = "saisie-%s"
def _indicator(programme, code):
    """The indicator with this code in the catalogue in force of `programme` (the request's): its values belong to
    that catalogue, never to another programme's indicator of the same code."""
    indicator = (
        Indicator.objects.select_related("group", "catalogue__programme__prior_programme")
        .filter(code=code, catalogue__is_current=True, catalogue__programme=programme)
        .first()
    )
    if indicator is None:
        raise Http404("Indicateur inconnu dans le catalogue en vigueur du programme.")
    return indicator


def _copy_errors(form, error: ValidationError):
    for field, messages_ in error.message_dict.items():
        for message in messages_:
            form.add_error(field if field in form.fields else None, message)


@login_required
def indicator_detail(request, finess, code):
    establishment = establishment_for_indicators(request.user, finess)
    indicator = _indicator(request.programme, code)
    can_enter = permissions.can_enter_indicator_values(request.user, establishment)
    can_declare = permissions.can_declare_values(request.user, establishment)
    values = list(
        IndicatorValue.objects.filter(establishment=establishment, indicator=indicator)
        .select_related("created_by", "declared_by", "previous")
        .prefetch_related(
            Prefetch("documents", queryset=Evidence.objects.select_related("uploaded_by").order_by("uploaded_at", "id"))
        )
        .order_by("-measured_on", "-version")
    )
    drafts = [v for v in values if v.status == ValueStatus.DRAFT]
    draft = drafts[0] if drafts else None
    form = ValueForm(indicator=indicator, initial=ValueForm.initial_from(draft) if draft else None, auto_id=ENTRY_IDS)
    correction_forms = {}

    if request.method == "POST":
        if not can_enter:
            raise PermissionDenied("Seuls les utilisateurs de l'établissement saisissent ses indicateurs.")
        action = request.POST.get("action")
        try:
            if action == "save_draft":
                form = ValueForm(request.POST, indicator=indicator, auto_id=ENTRY_IDS)
                if form.is_valid():
                    value_save_draft(establishment=establishment, indicator=indicator, data=form.value_input, by=request.user)
                    messages.success(request, "Brouillon enregistré. Ajoutez les pièces justificatives puis déclarez la valeur.")
                    return redirect(request.path)
            elif action == "declare":
                value = _value_of(values, request.POST.get("value"))
                value_declare(value=value, by=request.user)
                messages.success(request, f"Valeur du {value.measured_on:%d/%m/%Y} déclarée : elle est désormais verrouillée.")
                return redirect(request.path)
            elif action == "correct":
                value = _value_of(values, request.POST.get("value"))
                correction = CorrectionForm(request.POST, indicator=indicator, auto_id=f"corriger-{value.pk}-%s")
                correction_forms[value.pk] = correction
                if correction.is_valid():
                    value_correct(
                        value=value, reason=correction.cleaned_data["correction_reason"],
                        data=correction.value_input, by=request.user,
                    )
                    messages.success(request, "Correction enregistrée en brouillon : déclarez-la pour remplacer la valeur.")
                    return redirect(request.path)
            else:
                messages.error(request, "Action inconnue.")
        except PermissionRefused as exc:
            messages.error(request, exc.message)
        except ApplicationError as exc:
            messages.error(request, exc.message)
        except ValidationError as exc:
            target = correction_forms.get(_value_pk(request)) if action == "correct" else form
            if target is not None:
                _copy_errors(target, exc)
            else:
                messages.error(request, " ".join(exc.messages))
        if form.errors or any(f.errors for f in correction_forms.values()):
            messages.error(request, "La saisie comporte des erreurs : corrigez les champs signalés.")

    declared = [v for v in values if v.status == ValueStatus.DECLARED]
    for value in declared:
        correction_forms.setdefault(
            value.pk,
            CorrectionForm(indicator=indicator, initial=ValueForm.initial_from(value), auto_id=f"corriger-{value.pk}-%s"),
        )
        value.correction_form = correction_forms[value.pk]
        value.attainment = attainment_of(indicator, value)
        value.has_pending_correction = any(d.previous_id == value.pk for d in drafts)
    latest = declared[0] if declared else None
    versions = {str(v.pk): v for v in values}
    history = present(
        AuditRecord.objects.filter(object_type="indicators.indicatorvalue", object_id__in=list(versions))
        .select_related("actor").order_by("-id")[:200]
    )
    for line in history:  # the version the record is about, as the versions table names it
        version = versions[line.record.object_id]
        line.object_label = f"{version.measured_on:%d/%m/%Y} v{version.version}"
    return render(
        request,
        "indicators/indicator_detail.html",
        {
            "establishment": establishment,
            "indicator": indicator,
            "programme": indicator.catalogue.programme,
            "values": values,
            "drafts": drafts,
            "declared": declared,
            "latest": latest,
            "latest_attainment": attainment_of(indicator, latest),
            "form": form,
            "can_enter": can_enter,
            "can_declare": can_declare,
            "history": history,
            "not_applicable_siblings": (
                not_applicable_in_group(establishment, indicator)
                if can_enter and indicator.not_applicable_allowed else []
            ),
        },
        status=400 if request.method == "POST" else 200,
    )


def _value_pk(request):
    try:
        return int(request.POST.get("value", ""))
    except ValueError:
        return None


def _value_of(values, pk):
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise Http404("Valeur introuvable.") from None
    for value in values:
        if value.pk == pk:
            return value
    raise Http404("Valeur introuvable.")


