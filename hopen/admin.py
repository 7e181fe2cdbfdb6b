"""Django admin for the referential. Writes go through the services so that each leaves its audit record."""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import ValidationError

from . import services
from .exceptions import ApplicationError
from .models import ActivityFigures, AuditAnchor, AuditRecord, Establishment, Ght, LegalEntity, Region, RoleAssignment, User


class ServiceAdminMixin:
    """Turns a refused service call into an admin error message instead of a 500."""

    def _run(self, request, func, **kwargs):
        try:
            func(**kwargs)
        except (ApplicationError, ValidationError) as exc:
            self.message_user(request, getattr(exc, "message", None) or "; ".join(exc.messages), messages.ERROR)


class RegionForm(forms.ModelForm):
    class Meta:
        model = Region
        fields = ["ars_name", "ars_address"]

    def clean(self):
        cleaned = super().clean()
        try:
            services.ars_contact_cleaned(cleaned.get("ars_name", ""), cleaned.get("ars_address", ""))
        except ApplicationError as error:
            raise ValidationError(error.message) from error
        return cleaned


@admin.register(Region)
class RegionAdmin(ServiceAdminMixin, admin.ModelAdmin):
    form = RegionForm
    list_display = ["code", "name", "ars_name", "has_ars_address"]
    # Regions come from the referential: only their ARS's name and postal address (printed on its letters) are
    # edited here, through the audited service.
    fields = ["code", "name", "ars_name", "ars_address"]
    readonly_fields = ["code", "name"]

    @admin.display(description="adresse de l'ARS renseignée", boolean=True)
    def has_ars_address(self, region):
        return bool(region.ars_address.strip())

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if {"ars_name", "ars_address"} & set(form.changed_data):
            self._run(
                request, services.region_set_ars_contact, region=obj, ars_name=obj.ars_name,
                ars_address=obj.ars_address, by=request.user,
            )


@admin.register(LegalEntity)
class LegalEntityAdmin(admin.ModelAdmin):
    list_display = ["finess", "name"]
    search_fields = ["finess", "name"]


class ActivityInline(admin.TabularInline):
    model = ActivityFigures
    extra = 0
    can_delete = False

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Establishment)
class EstablishmentAdmin(ServiceAdminMixin, admin.ModelAdmin):
    list_display = ["finess", "name", "status", "category_code", "region", "ght", "ght_membership_source"]
    list_filter = ["region", "status", "is_espic", "ght_membership_source"]
    search_fields = ["finess", "name", "city"]
    list_select_related = ["region", "ght"]
    autocomplete_fields = ["ght"]
    inlines = [ActivityInline]
    # Only the GHT membership is corrected by hand; everything else comes from the SAE import.
    readonly_fields = [
        "finess", "name", "legal_entity", "status", "is_espic", "category_code", "category_label", "region",
        "department", "city", "ght_membership_source", "has_mco", "has_ssr", "has_psy", "has_had",
    ]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if "ght" in form.changed_data:
            self._run(request, services.establishment_set_ght, establishment=obj, ght=obj.ght, by=request.user)


@admin.register(Ght)
class GhtAdmin(ServiceAdminMixin, admin.ModelAdmin):
    list_display = ["code", "name", "region", "support", "support_source"]
    list_filter = ["region"]
    search_fields = ["code", "name"]
    list_select_related = ["region", "support"]
    readonly_fields = ["code", "insee_code", "name", "region", "support_source"]
    raw_id_fields = ["support"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if "support" in form.changed_data:
            self._run(request, services.ght_set_support, ght=obj, support=obj.support, by=request.user)


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(ServiceAdminMixin, admin.ModelAdmin):
    list_display = ["user", "role", "establishment", "ght", "region", "granted_at"]
    list_filter = ["role", "region"]
    search_fields = ["user__email", "establishment__finess", "establishment__name"]
    raw_id_fields = ["user", "establishment"]
    list_select_related = ["user", "establishment", "ght", "region"]
    fields = ["user", "role", "establishment", "ght", "region"]

    def has_change_permission(self, request, obj=None):
        return obj is None

    def save_model(self, request, obj, form, change):
        self._run(
            request, services.role_assign, user=obj.user, role=obj.role, establishment=obj.establishment,
            ght=obj.ght, region=obj.region, by=request.user,
        )

    def delete_model(self, request, obj):
        self._run(request, services.role_revoke, assignment=obj, by=request.user)

    def delete_queryset(self, request, queryset):
        for assignment in queryset:
            self.delete_model(request, assignment)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "is_active", "is_staff"]
    search_fields = ["email", "first_name", "last_name"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Identité", {"fields": ["first_name", "last_name"]}),
        ("Accès", {"fields": ["is_active", "is_staff", "is_superuser"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]
    filter_horizontal = []
    list_filter = ["is_active", "is_staff"]


@admin.register(AuditRecord)
class AuditRecordAdmin(admin.ModelAdmin):
    list_display = ["at", "actor_email", "action", "object_type", "object_repr"]
    list_filter = ["action", "object_type"]
    search_fields = ["actor_email", "object_repr", "object_id"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditAnchor)
class AuditAnchorAdmin(AuditRecordAdmin):
    list_display = ["day", "count", "total", "last_record_id", "last_hash", "created_at"]
    list_filter = []
    search_fields = ["last_hash"]
