"""A campaign's progress as admin draws it (the campaign list and page, the delivery admin), and the
block of a sending campaign, which refreshes itself in the browser.

The block carries the address of its own fresh copy; static/admin/engage-progress.js fetches it
every few seconds while the block says it is live (sending, paused, or due and starting), swaps
its contents in, and stops once the campaign is no longer live. No iframe and no page reload: what
staff typed or scrolled stays put. Without JavaScript a reload shows the same block.
"""

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_safe

from newsletter import delivery
from newsletter.campaigns import abtest
from newsletter.campaigns.snapshot import frozen
from newsletter.campaigns.when import staff_time
from newsletter.delivery import ab_phases, lifecycle
from newsletter.models import Campaign
from newsletter.staff import permissions

# How often the browser asks again while the campaign is live.
REFRESH_SECONDS = 3

LIVE = (Campaign.Status.SENDING, Campaign.Status.PAUSED)


def _duration(seconds) -> str:
    if seconds is None:
        return "—"
    minutes, seconds = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min {seconds:02d} s" if minutes else f"{seconds} s"


def bar(figures: dict, phases: ab_phases.Phases | None = None) -> str:
    """The bar of a campaign's figures; an A/B test's counts the rest still owed, with a line per
    phase (its ledger holds only the test's rows until the winner is chosen)."""
    if phases is not None and phases.total > figures["total"]:
        done = figures["done"]
        figures = {**figures, "total": phases.total, "percent": round(100 * done / phases.total, 1)}
    total = figures["total"]
    return format_html(
        '<div class="engage-progress">'
        '<progress value="{}" max="{}" style="width:12em;vertical-align:middle">{}%</progress> '
        "<span>{}%</span><br><small>{} sent · {} queued · {} failed · {} bounced{}</small>{}</div>",
        figures["done"],
        max(total, 1),
        figures["percent"],
        figures["percent"],
        figures["sent"],
        figures["queued"] + figures["sending"],
        figures["failed"],
        figures["bounced"],
        format_html(
            " · {}/s · {} left",
            figures["rate_per_second"],
            _duration(figures["eta_seconds"]),
        )
        if figures["status"] == Campaign.Status.SENDING and figures["rate_per_second"]
        else "",
        format_html('<br><small class="engage-phases">{}</small>', phases.sentence())
        if phases is not None
        else "",
    )


def _stored(campaign: Campaign) -> dict:
    """A finished campaign's figures from its own counts: no query over the ledger."""
    done = campaign.recipients_count
    return {
        "status": campaign.status,
        "total": done,
        "done": done,
        "percent": 100.0 if done else 0.0,
        "sent": campaign.sent_count,
        "queued": 0,
        "sending": 0,
        "failed": campaign.failed_count,
        "bounced": campaign.bounced_count,
    }


def notes(campaign: Campaign) -> str:
    """Why a live campaign is not sending (all of it): the mail server is failing, the pipeline
    paused it, or a new sending domain is warming up."""
    waiting = delivery.waiting_note(campaign)
    paused = campaign.pause_reason if campaign.status == Campaign.Status.PAUSED else ""
    warming = delivery.warmup.note(campaign)
    return format_html(
        "{}{}{}",
        format_html('<p class="engage-warmup">{}</p>', warming) if warming else "",
        format_html('<p class="engage-waiting"><strong>{}</strong></p>', waiting)
        if waiting
        else "",
        format_html('<p class="engage-paused"><strong>Paused: {}</strong></p>', paused)
        if paused
        else "",
    )


def progress_html(campaign) -> str:
    """A campaign's progress at a glance, for the campaign admin's list and page."""
    if campaign.pk is None or campaign.status == Campaign.Status.DRAFT:
        return "—"
    if campaign.status in LIVE or campaign.status == Campaign.Status.SCHEDULED:
        return live_block(campaign)
    if campaign.status == Campaign.Status.SENT:
        return bar(_stored(campaign), ab_phases.phases(campaign))
    # Cancelled: what went out before it stopped.
    return bar(delivery.progress(campaign))


def live_block(campaign: Campaign) -> str:
    """The progress of a campaign that is (or was, until just now) sending, or about to. A polite
    live region: the script swaps its contents, so screen readers hear what changed."""
    live = campaign.status in LIVE or lifecycle.is_due(campaign)
    return format_html(
        '<div class="engage-progress-live" data-url="{}" data-live="{}" data-every="{}" '
        'data-status="{}" role="status" aria-live="polite">{}</div>',
        reverse("admin:newsletter_delivery_progress", args=[campaign.pk]),
        "true" if live else "false",
        REFRESH_SECONDS,
        # The page's Status field follows it too (engage-progress.js), so the two never disagree.
        campaign.get_status_display(),
        _contents(campaign),
    )


STARTING = "Starting…"


def _contents(campaign: Campaign) -> str:
    if campaign.status == Campaign.Status.SCHEDULED:
        if lifecycle.is_due(campaign):
            return format_html(
                '<p class="engage-starting"><strong>{}</strong> It goes out now.</p>', STARTING
            )
        if campaign.scheduled_at is None:  # beat starts only a campaign with a time
            return format_html('<p class="engage-starts">{}</p>', "Scheduled, with no time set.")
        return format_html(
            '<p class="engage-starts">Starts {}.</p>', staff_time(campaign.scheduled_at)
        )
    if campaign.status == Campaign.Status.DRAFT:
        # Its start found it changed, or a sender took it back: nothing went out.
        return format_html("<p>Not sent: back to draft.</p>")
    figures = delivery.progress(campaign)
    if (
        campaign.status == Campaign.Status.SENDING
        and campaign.prepared_at is None
        and not figures["total"]
    ):
        head = format_html(
            '<p class="engage-starting"><strong>{}</strong> Preparing the list of readers.</p>',
            STARTING,
        )
    else:
        head = bar(figures, ab_phases.phases(campaign))
    return format_html(
        "{}{}{}{}", head, _status_note(campaign), notes(campaign), _test_note(campaign)
    )


def _test_note(campaign: Campaign) -> str:
    """Where an A/B subject test stands (refreshed with the figures), and while its winner is
    owed, each variant's figures so far: what a sender weighs before sending one to the rest."""
    note = abtest.phase_note(campaign)
    if not note:
        return ""
    figures = ""
    if abtest.testing(campaign) and campaign.test_sent_at is not None:
        figures = render_to_string(
            "admin/newsletter/campaign/_variant_figures.html",
            {"variants": abtest.figures(campaign, frozen(campaign))},
        )
    return format_html('<p class="engage-subject-test">{}</p>{}', note, mark_safe(figures))  # noqa: S308


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
    permissions.require(request, permissions.VIEW_CAMPAIGN)
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    response = HttpResponse(live_block(campaign))
    response["Cache-Control"] = "no-store"
    return response
