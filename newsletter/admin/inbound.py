"""Mail that came back, for staff: what each message was, whom it named, and why.

Read-only: the rows are the record of what happened. The raw message holds other people's mail, so
it is shown on demand only, to staff with the "read the raw bytes" permission, and only until
retention deletes it.
"""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html

from newsletter.admin.readonly import ReadOnlyAdmin
from newsletter.models import InboundMessage
from newsletter.staff import permissions

RAW_PERMISSION = permissions.VIEW_INBOUND_RAW


@admin.register(InboundMessage)
class InboundMessageAdmin(ReadOnlyAdmin):
    list_display = [
        "received_at",
        "kind",
        "who_failed",
        "source",
        "subscriber",
        "delivery",
        "short_reason",
    ]
    # Each class of failure with its examples: the reader's address, our sending, cannot tell.
    list_filter = ["kind", "who_failed", "source"]
    list_select_related = ["subscriber", "delivery__campaign"]
    search_fields = ["subscriber__email", "recipient", "message_id"]
    date_hierarchy = "received_at"
    ordering = ["-received_at"]
    show_full_result_count = False
    fields = [
        "received_at",
        "kind",
        "who_failed",
        "source",
        "subscriber",
        "delivery",
        "recipient",
        "reason",
        "message_id",
        "size",
        "raw_message",
    ]
    readonly_fields = fields

    def get_fields(self, request, obj=None):
        if request.user.has_perm(RAW_PERMISSION):
            return self.fields
        return [name for name in self.fields if name != "raw_message"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("raw")

    @admin.display(description="reason")
    def short_reason(self, obj):
        return obj.reason if len(obj.reason) <= 100 else obj.reason[:99] + "…"

    @admin.display(description="raw message")
    def raw_message(self, obj):
        if obj.pk is None:
            return "—"
        if not InboundMessage.objects.filter(pk=obj.pk, raw__isnull=False).exists():
            return "deleted after the retention period"
        url = reverse("admin:newsletter_inboundmessage_raw", args=[obj.pk])
        return format_html('<a href="{}">Show the raw message</a>', url)

    def get_urls(self):
        raw_view = self.admin_site.admin_view(self.raw_view)
        return [
            path("<int:object_id>/raw/", raw_view, name="newsletter_inboundmessage_raw"),
            *super().get_urls(),
        ]

    def raw_view(self, request, object_id):
        """The message as it arrived, as plain text (never rendered: it is untrusted mail)."""
        if not (self.has_view_permission(request) and request.user.has_perm(RAW_PERMISSION)):
            raise PermissionDenied
        row = get_object_or_404(InboundMessage, pk=object_id)
        if row.raw is None:
            raise Http404("The raw message was deleted after the retention period.")
        response = HttpResponse(bytes(row.raw), content_type="text/plain; charset=utf-8")
        response["Content-Disposition"] = f'inline; filename="inbound-{row.pk}.txt"'
        return response
