from django.contrib import admin

from processing import audit

from processing.models import (
    AuditEvent,
    CalSelectorPeriod,
    HeaderChange,
    Instance,
    ObsRun,
    RawFrame,
)


class CalSelectorPeriodInline(admin.TabularInline):
    model = CalSelectorPeriod
    extra = 0
    fields = ("start", "end", "mode", "reason", "source", "created_by")
    readonly_fields = ("source", "created_by")


@admin.register(Instance)
class InstanceAdmin(admin.ModelAdmin):
    list_display = ("name", "instrument", "mode", "complete_mode", "engine", "calselector_mode",
                    "loaded_at")
    list_filter = ("mode", "engine")
    readonly_fields = [f.name for f in Instance._meta.fields]  # edited as files, not here
    inlines = [CalSelectorPeriodInline]

    def save_formset(self, request, form, formset, change):
        """Periods set here are the operator's: stamp who set them and audit every change."""
        periods = formset.save(commit=False)
        for period in periods:
            if period.pk is None:
                period.created_by = request.user
            period.save()
            audit.record("set_calselector_period", user=request.user, obj=period,
                         detail={"start": str(period.start), "end": str(period.end),
                                 "mode": period.mode, "reason": period.reason})
        for period in formset.deleted_objects:
            audit.record("delete_calselector_period", user=request.user, obj=period)
            period.delete()
        formset.save_m2m()


@admin.register(ObsRun)
class ObsRunAdmin(admin.ModelAdmin):
    list_display = ("run_id", "programme_id", "period", "category", "first_night", "last_night")
    list_filter = ("period", "category")
    search_fields = ("run_id", "programme_id")


class HeaderChangeInline(admin.TabularInline):
    model = HeaderChange
    extra = 0
    fields = ("revision", "changed", "source", "detected_at")
    readonly_fields = fields
    can_delete = False


@admin.register(RawFrame)
class RawFrameAdmin(admin.ModelAdmin):
    list_display = ("arcfile", "night", "dpr_catg", "dpr_type", "dpr_tech", "run_id", "object",
                    "exptime", "hidden")
    list_filter = ("instrument", "dpr_catg", "dpr_tech", "hidden")
    search_fields = ("arcfile", "origfile", "run_id", "object", "tpl_start")
    date_hierarchy = "night"
    show_full_result_count = False  # counting millions of frames on every page is wasted time
    exclude = ("header",)
    inlines = [HeaderChangeInline]

    # Frames come from import_headers (audited, idempotent); hiding is its own action.
    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in RawFrame._meta.fields if f.name != "header"] + ["header_text"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "actor_name", "action", "object_repr", "result")
    list_filter = ("action", "result")
    search_fields = ("actor_name", "object_repr", "message")
    readonly_fields = [f.name for f in AuditEvent._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
