from django.contrib import admin

from .models import CatalogueVersion, Indicator, IndicatorGroup, PriorProgrammeResult, Programme, ProgrammeDeadline, SemesterRange


class ReadOnlyAdmin(admin.ModelAdmin):
    """Programme rules are loaded from fixtures (`load_programme`), not edited by hand."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Programme)
class ProgrammeAdmin(ReadOnlyAdmin):
    list_display = ["code", "name"]


@admin.register(ProgrammeDeadline)
class ProgrammeDeadlineAdmin(ReadOnlyAdmin):
    list_display = ["programme", "label", "date", "source"]


@admin.register(SemesterRange)
class SemesterRangeAdmin(ReadOnlyAdmin):
    list_display = ["programme", "label", "first", "last"]


@admin.register(CatalogueVersion)
class CatalogueVersionAdmin(ReadOnlyAdmin):
    list_display = ["programme", "code", "label", "is_current"]


@admin.register(IndicatorGroup)
class IndicatorGroupAdmin(ReadOnlyAdmin):
    list_display = ["code", "label", "kind", "catalogue"]


@admin.register(Indicator)
class IndicatorAdmin(ReadOnlyAdmin):
    list_display = ["code", "target_kind", "target_threshold", "not_applicable_allowed", "catalogue"]
    list_filter = ["catalogue", "group"]


@admin.register(PriorProgrammeResult)
class PriorProgrammeResultAdmin(ReadOnlyAdmin):
    list_display = ["establishment", "programme", "kind", "domain_code", "achieved", "achieved_on", "amount"]
    list_filter = ["programme", "kind"]
