"""The public web archive of sent campaigns, and calendar files for events."""

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_safe

from newsletter.campaigns import abtest
from newsletter.campaigns.snapshot import render_archive
from newsletter.content import calendar
from newsletter.models import Campaign, Post

# A campaign is in the archive from the moment it starts going out, so "view in browser" works
# for the first recipients too.
ARCHIVED = [Campaign.Status.SENDING, Campaign.Status.PAUSED, Campaign.Status.SENT]
PAGE_SIZE = 20


@require_safe
def archive_index(request):
    # Event reminders are addressed to attendees, not readers of the archive.
    campaigns = Campaign.objects.filter(status=Campaign.Status.SENT, event_reminder=None)
    campaigns = campaigns.order_by("-finished_at", "-id")
    campaigns = campaigns.only("subject", "slug", "preheader", "finished_at", "winner")
    page = Paginator(abtest.with_shown_subject(campaigns), PAGE_SIZE)
    return render(
        request, "newsletter/archive.html", {"page": page.get_page(request.GET.get("page"))}
    )


@require_safe
def archive_detail(request, slug):
    campaign = get_object_or_404(Campaign, slug=slug, status__in=ARCHIVED)
    return render(request, "newsletter/archive-detail.html", render_archive(campaign))


@require_safe
def event_ics(request, slug):
    post = get_object_or_404(
        Post,
        slug=slug,
        kind=Post.Kind.EVENT,
        status=Post.Status.PUBLISHED,
        starts_at__isnull=False,
    )
    response = HttpResponse(calendar.event_ics(post), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{post.slug}.ics"'
    return response
