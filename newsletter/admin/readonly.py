from django.contrib import admin

from newsletter.campaigns import states


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows staff may look at but never add, change or delete (records kept for a reason)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class DraftOnlyInline(admin.TabularInline):
    """A campaign's own rows (its posts, its A/B test's subjects): like the campaign, they change
    only while it is a draft (see CampaignAdmin)."""

    def has_add_permission(self, request, obj=None):
        return _is_draft(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return _is_draft(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return _is_draft(obj) and super().has_delete_permission(request, obj)


def _is_draft(campaign) -> bool:
    return campaign is None or campaign.status in states.EDITABLE
