"""A sending campaign's progress block, which refreshes itself in the browser.

The block carries the address of its own fresh copy; static/admin/engage-progress.js fetches it
every few seconds while the block says it is live, swaps it in, and stops once the campaign is no
longer sending or paused. No iframe and no page reload: what staff typed or scrolled stays put.
"""

from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.html import format_html
from django.views.decorators.http import require_safe

from newsletter import delivery
from newsletter.admin import deliveries
from newsletter.campaigns import abtest
from newsletter.models import Campaign

# How often the browser asks again while the campaign is live.
REFRESH_SECONDS = 3


def live_block(campaign: Campaign) -> str:
    """The progress of a campaign that is (or was, until just now) sending."""
    live = campaign.status in deliveries.LIVE
    return format_html(
        '<div class="engage-progress-live" data-url="{}" data-live="{}" data-every="{}" '
        'role="status">{}{}{}{}</div>',
        reverse("admin:newsletter_delivery_progress", args=[campaign.pk]),
        "true" if live else "false",
        REFRESH_SECONDS,
        deliveries._bar(delivery.progress(campaign)),
        _status_note(campaign),
        deliveries._notes(campaign),
        _test_note(campaign),
    )


def _test_note(campaign: Campaign) -> str:
    """Where an A/B subject test stands (refreshed with the figures)."""
    note = abtest.phase_note(campaign)
    return format_html('<p class="engage-subject-test">{}</p>', note) if note else ""


def _status_note(campaign: Campaign) -> str:
    if campaign.status == Campaign.Status.SENDING:
        return ""
    if campaign.status == Campaign.Status.SENT:
        report = reverse("admin:newsletter_campaignreport_change", args=[campaign.pk])
        return format_html(' <small>(sent: <a href="{}">see the report</a>)</small>', report)
    return format_html(" <small>({})</small>", campaign.get_status_display().lower())


@require_safe
def progress_partial(request, campaign_id: int):
    # Counts only, no addresses: whoever may see the campaign may see how its sending goes.
    if not request.user.has_perm("newsletter.view_campaign"):
        raise PermissionDenied
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    response = HttpResponse(live_block(campaign))
    response["Cache-Control"] = "no-store"
    return response
