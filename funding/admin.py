"""Django admin of the funding data.

The amount grid (annex 3 §3) is programme data loaded from fixtures/hopen_amount_grid.json (`load_programme`):
read-only here. The combined activity is computed from the SAE figures; an administrator may enter another
figure, written through `funding.services.combined_activity_override` so that it is audited — a refusal is
shown as an error message, never as a server error. Software vendors (RELIMS) and GHT IT governance are
referentials edited here. The dossiers' letters are listed read-only, with one action: reissue (after an ARS's
address was entered), through `funding.letters.services.reissue_letter`.
"""

from django.contrib import admin, messages
from django.contrib.admin.widgets import AdminFileWidget
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.utils import timezone
from django.utils.formats import date_format

from hopen.audit import audit_record, diff
from hopen.exceptions import ApplicationError

from .eligibility.models import GhtItGovernance, SoftwareVendor
from .forms import CombinedActivityOverrideForm
from .letters.services import reissue_letter
from .models import AmountBand, CombinedActivity, DossierLetter, FundingCategory
from .services import combined_activity_override
from .views import format_number


class ReadOnlyAdmin(admin.ModelAdmin):
    """Programme data: browsable, changed only by its fixture."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class AmountBandInline(admin.TabularInline):
    model = AmountBand
    extra = 0
    can_delete = False
    fields = ["domain_code", "rate", "minimum", "maximum"]
    readonly_fields = fields
    ordering = ["domain_code", "rate"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(FundingCategory)
class FundingCategoryAdmin(ReadOnlyAdmin):
    list_display = ["code", "lower", "upper", "programme"]
    list_filter = ["programme"]
    inlines = [AmountBandInline]


@admin.register(AmountBand)
class AmountBandAdmin(ReadOnlyAdmin):
    list_display = ["domain_code", "rate", "category_code", "minimum", "maximum"]
    list_filter = ["domain_code", "rate", "category__code"]
    list_select_related = ["category"]

    @admin.display(description="catégorie", ordering="category__lower")
    def category_code(self, band):
        return band.category.code


@admin.register(CombinedActivity)
class CombinedActivityAdmin(admin.ModelAdmin):
    form = CombinedActivityOverrideForm
    list_display = ["establishment_label", "region", "computed", "override", "year"]
    ordering = ["establishment__name"]
    list_filter = ["source_year", "establishment__region", ("override", admin.EmptyFieldListFilter)]
    search_fields = ["establishment__finess", "establishment__name"]
    list_select_related = ["establishment", "establishment__region"]
    readonly_fields = [
        "establishment_label", "year", "computed", "computed_at", "shown_value", "override_author", "override_at",
    ]
    fields = readonly_fields[:5] + ["override", "override_reason", "override_author", "override_at"]

    @admin.display(description="établissement", ordering="establishment__name")
    def establishment_label(self, record):
        return f"{record.establishment.name} ({record.establishment.finess})"

    @admin.display(description="année source", ordering="source_year")
    def year(self, record):
        return str(record.source_year)  # no thousands separator in a year

    @admin.display(description="région", ordering="establishment__region__name")
    def region(self, record):
        return record.establishment.region.name

    @admin.display(description="activité combinée retenue")
    def shown_value(self, record):
        return f"{format_number(record.value)} — {record.source_label}"

    @admin.display(description="saisie par")
    def override_author(self, record):
        return record.override_by.email if record.override_by_id else "—"

    def has_add_permission(self, request):
        return False  # created by `compute_combined_activity` from the SAE figures

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        """The override goes through the service (audited); `obj` itself is never saved here."""
        if not {"override", "override_reason"} & set(form.changed_data):
            return
        try:
            combined_activity_override(
                establishment=obj.establishment, value=obj.override, reason=obj.override_reason or "", by=request.user
            )
        except (ApplicationError, ValidationError) as error:
            request._funding_override_refused = True
            message = error.message if isinstance(error, ApplicationError) else "; ".join(error.messages)
            self.message_user(request, message, messages.ERROR)

    def response_change(self, request, obj):
        if getattr(request, "_funding_override_refused", False):
            return HttpResponseRedirect(request.path)  # back to the form, with the refusal message only
        return super().response_change(request, obj)

    def log_change(self, request, obj, message):
        if getattr(request, "_funding_override_refused", False):
            return None  # nothing was changed
        return super().log_change(request, obj, message)


class PrivateFileWidget(AdminFileWidget):
    """The uploaded file lives in private storage, never served directly: its name without a link."""

    template_name = "funding/_private_file_widget.html"

    def is_initial(self, value):
        return bool(value)


class AuditedAdminMixin:
    """Referentials without a service of their own: each change made here appends its audit record, in the
    admin's own transaction (`changeform_view` and `delete_view` are atomic)."""

    audit_prefix = ""

    @staticmethod
    def _state(obj) -> dict:
        state = {}
        for field in obj._meta.concrete_fields:
            value = getattr(obj, field.attname)
            state[field.attname] = value.name if hasattr(value, "storage") else value
        return state

    def save_model(self, request, obj, form, change):
        before = self._state(type(obj).objects.get(pk=obj.pk)) if change and obj.pk else {}
        self.before_save(request, obj, before)
        obj.save()
        changes = diff(before, self._state(obj))
        if changes:
            action = "update" if change else "create"
            audit_record(actor=request.user, action=f"{self.audit_prefix}.{action}", target=obj, changes=changes)

    def before_save(self, request, obj, before):
        pass

    def delete_model(self, request, obj):
        audit_record(
            actor=request.user, action=f"{self.audit_prefix}.delete", target=obj,
            changes={key: [value, None] for key, value in self._state(obj).items()},
        )
        obj.delete()

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(SoftwareVendor)
class SoftwareVendorAdmin(AuditedAdminMixin, admin.ModelAdmin):
    audit_prefix = "software_vendor"
    list_display = ["name", "relims_reference", "qhn_engaged"]
    list_filter = ["qhn_engaged"]
    search_fields = ["name", "relims_reference"]


@admin.register(GhtItGovernance)
class GhtItGovernanceAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """Who uploaded the master plan and who validated the CIO are the administrator saving the change."""

    audit_prefix = "ght_it_governance"
    list_display = ["ght", "has_master_plan", "cio_name", "cio_validated_at", "convergence_indicators_entered"]
    list_filter = ["convergence_indicators_entered", "ght__region"]
    search_fields = ["ght__code", "ght__name", "cio_name"]
    list_select_related = ["ght"]
    autocomplete_fields = ["ght"]
    fields = [
        "ght", "master_plan", "master_plan_uploaded", "cio_name", "cio_email", "cio_validated_at", "cio_validator",
        "convergence_indicators_entered",
    ]
    readonly_fields = ["master_plan_uploaded", "cio_validator"]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "master_plan":
            kwargs["widget"] = PrivateFileWidget
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    @admin.display(description="SDSI déposé le, par")
    def master_plan_uploaded(self, governance):
        if not governance.master_plan_uploaded_at:
            return "—"
        by = governance.master_plan_uploaded_by.email if governance.master_plan_uploaded_by_id else "—"
        return f"{date_format(timezone.localtime(governance.master_plan_uploaded_at), 'DATETIME_FORMAT')} par {by}"

    @admin.display(description="DSI validé par")
    def cio_validator(self, governance):
        return governance.cio_validated_by.email if governance.cio_validated_by_id else "—"

    def before_save(self, request, obj, before):
        master_plan = obj.master_plan.name if obj.master_plan else ""
        if master_plan != (before.get("master_plan") or ""):
            obj.master_plan_uploaded_at = timezone.now() if master_plan else None
            obj.master_plan_uploaded_by = request.user if master_plan else None
        if obj.cio_validated_at != before.get("cio_validated_at"):
            obj.cio_validated_by = request.user if obj.cio_validated_at else None

    @admin.display(boolean=True, description="SDSI déposé")
    def has_master_plan(self, governance):
        return governance.has_master_plan


@admin.register(DossierLetter)
class DossierLetterAdmin(ReadOnlyAdmin):
    list_display = ["reference", "kind", "dossier", "dated_on", "generated_at", "reissued_at"]
    list_filter = ["kind", "dossier__region"]
    search_fields = ["reference", "dossier__reference"]
    list_select_related = ["dossier"]
    actions = ["reissue"]

    @admin.action(description="Rééditer les courriers sélectionnés (même date, mention « Réédité le »)")
    def reissue(self, request, queryset):
        done = 0
        for letter in queryset.select_related("dossier__region"):
            try:
                reissue_letter(letter=letter, by=request.user)
                done += 1
            except ApplicationError as error:
                self.message_user(request, error.message, messages.ERROR)
        if done:
            self.message_user(request, f"{done} courrier(s) en cours de réédition.", messages.SUCCESS)
