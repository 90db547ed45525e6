from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from clinic.core.admin import AdminRoleOnlyMixin, ConfigAdmin
from clinic.models import Chair, NurseRoster, OnCallShift, Site, SiteClosure, SiteOpeningHours, StaffMember, User


@admin.register(User)
class UserAdmin(AdminRoleOnlyMixin, DjangoUserAdmin):
    list_display = ("username", "first_name", "last_name", "role", "is_active")
    list_filter = ("role", "is_active")
    search_fields = ("username", "first_name", "last_name", "email")
    fieldsets = (*DjangoUserAdmin.fieldsets, ("Clinic", {"fields": ("role",)}))  # type: ignore[misc]
    add_fieldsets = (*DjangoUserAdmin.add_fieldsets, ("Clinic", {"fields": ("role",)}))


class ChairInline(admin.TabularInline):
    model = Chair
    extra = 0


class OpeningHoursInline(admin.TabularInline):
    model = SiteOpeningHours
    extra = 0


class ClosureInline(admin.TabularInline):
    model = SiteClosure
    extra = 0


class RosterInline(admin.TabularInline):
    model = NurseRoster
    extra = 0


@admin.register(Site)
class SiteAdmin(ConfigAdmin):
    list_display = ("name", "code", "time_zone", "opens_at", "closes_at", "infusions_per_nurse")
    inlines = (ChairInline, OpeningHoursInline, ClosureInline, RosterInline)


@admin.register(Chair)
class ChairAdmin(ConfigAdmin):
    list_display = ("name", "site", "is_active")
    list_filter = ("site", "is_active")


@admin.register(StaffMember)
class StaffMemberAdmin(ConfigAdmin):
    list_display = ("user", "site", "title")
    list_filter = ("site",)
    autocomplete_fields = ("user",)


@admin.register(SiteOpeningHours)
class SiteOpeningHoursAdmin(ConfigAdmin):
    list_display = ("site", "weekday", "opens_at", "closes_at", "closed")
    list_filter = ("site", "weekday")


@admin.register(SiteClosure)
class SiteClosureAdmin(ConfigAdmin):
    list_display = ("site", "date", "reason")
    list_filter = ("site",)
    date_hierarchy = "date"


@admin.register(NurseRoster)
class NurseRosterAdmin(ConfigAdmin):
    list_display = ("site", "date", "nurses_on_duty")
    list_filter = ("site",)
    date_hierarchy = "date"


@admin.register(OnCallShift)
class OnCallShiftAdmin(ConfigAdmin):
    """The on-call roster (clinicians also set it on the on-call page)."""

    list_display = ("site", "level", "clinician", "starts_at", "ends_at", "cancelled_at")
    list_filter = ("site", "level")
    exclude = ("created_by", "cancelled_by")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):  # type: ignore[no-untyped-def]
        if db_field.name == "clinician":
            kwargs["queryset"] = User.objects.filter(role="clinician", is_active=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):  # type: ignore[no-untyped-def]
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
