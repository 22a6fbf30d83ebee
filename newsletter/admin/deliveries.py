"""Admin for the delivery ledger, and each campaign's progress while it sends.

The progress of a campaign that is sending refreshes itself (newsletter.admin.progress); the same
figures are available as JSON for anything else that wants to watch. Both live under this admin
(DeliveryAdmin.get_urls).
"""

from django.contrib import admin, messages
from django.http import HttpResponseNotAllowed, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import path
from django.utils.html import format_html, format_html_join

from newsletter import delivery
from newsletter.admin import progress
from newsletter.models import Campaign, Delivery
from newsletter.staff import audit, permissions


def waves_html(campaign: Campaign) -> str:
    """A local-time campaign's waves: each moment, its zones, and how many are queued and sent."""
    waves = delivery.waves.wave_progress(campaign) if campaign.pk else []
    if not waves:
        return "—"
    rows = format_html_join(
        "",
        "<tr><td>{} UTC</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                f"{wave['at']:%a %-d %b %H:%M}",
                ", ".join(wave["zones"]),
                wave["queued"],
                wave["sent"],
                wave["other"],
            )
            for wave in waves
        ),
    )
    return format_html(
        '<table class="engage-waves"><caption>Waves, one per moment</caption><thead><tr>'
        '<th scope="col">at</th><th scope="col">time zones</th><th scope="col">queued</th>'
        '<th scope="col">sent</th><th scope="col">not sent</th></tr></thead>'
        "<tbody>{}</tbody></table>",
        rows,
    )


@admin.register(Delivery)
class DeliveryAdmin(permissions.SendPermission, admin.ModelAdmin):
    list_display = [
        "campaign",
        "recipient",
        "status",
        "attempts",
        "sent_at",
        "error",
        "message_id",
    ]
    list_filter = ["status", ("campaign", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["campaign", "subscriber"]
    raw_id_fields = ["campaign", "subscriber"]
    search_fields = ["subscriber__email", "message_id"]
    show_full_result_count = False  # the ledger grows by a row per recipient per campaign
    actions = ["retry"]
    readonly_fields = [
        "campaign",
        "subscriber",
        "status",
        "attempts",
        "last_error",
        "lease_expires_at",
        "message_id",
        "created_at",
        "updated_at",
        "sent_at",
        "send_after",
        "delivered_at",
        "opened_at",
        "clicked_at",
        "complained_at",
    ]

    def has_add_permission(self, request):
        return False  # the pipeline writes the ledger; a row made by hand would be a lie

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="recipient", ordering="subscriber__email")
    def recipient(self, obj):
        return obj.subscriber.email if obj.subscriber else "(erased)"

    @admin.display(description="last error")
    def error(self, obj):
        return obj.last_error[:120]

    @admin.action(description="Retry the selected failed deliveries", permissions=["send"])
    def retry(self, request, queryset):
        failed = queryset.filter(status=Delivery.Status.FAILED).values_list("pk", flat=True)
        retried = sum(delivery.retry_delivery(pk) for pk in failed)
        skipped = queryset.count() - retried
        if retried:
            audit.record(request.user, "retry", f"{retried} deliveries", request=request)
            self.message_user(request, f"{retried} deliveries queued again.", messages.SUCCESS)
        if skipped:
            self.message_user(
                request,
                f"{skipped} were left alone: only a failed delivery of a campaign that was not "
                "cancelled can be retried.",
                messages.WARNING,
            )

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "progress/<int:campaign_id>/",
                view(progress.progress_partial),
                name="newsletter_delivery_progress",
            ),
            path(
                "progress/<int:campaign_id>.json",
                view(self.progress_json),
                name="newsletter_delivery_progress_json",
            ),
            *super().get_urls(),
        ]

    def _campaign(self, request, campaign_id: int) -> Campaign:
        # Counts only, no addresses: whoever may see the campaign may see how its sending goes.
        permissions.require(request, permissions.VIEW_CAMPAIGN)
        return get_object_or_404(Campaign, pk=campaign_id)

    def progress_json(self, request, campaign_id: int):
        if request.method != "GET":
            return HttpResponseNotAllowed(["GET"])
        return JsonResponse(delivery.progress(self._campaign(request, campaign_id)))
