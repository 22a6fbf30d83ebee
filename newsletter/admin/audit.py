"""The audit trail in admin: read-only to everyone, superusers included."""

from auditlog.admin import LogEntryAdmin
from auditlog.models import LogEntry
from django.contrib import admin

from newsletter.admin.readonly import ReadOnlyAdmin
from newsletter.models import AuditEvent


class ChangeLogAdmin(LogEntryAdmin):
    """django-auditlog's view of model changes, without its delete."""

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "actor_name", "action", "target", "ip"]
    list_filter = ["action"]
    search_fields = ["actor_name", "action", "target", "ip"]
    date_hierarchy = "at"
    fields = ["at", "actor_name", "action", "target", "ip", "details"]
    readonly_fields = fields


if admin.site.is_registered(LogEntry):
    admin.site.unregister(LogEntry)
admin.site.register(LogEntry, ChangeLogAdmin)
