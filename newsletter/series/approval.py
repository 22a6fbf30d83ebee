"""A series' status, changed by a sender: activating approves (freezes) every step's content, as
scheduling does a campaign's; pausing holds due steps; back to draft to edit, and activate again
to approve the edits. Staff edit a series only while it is a draft (the admin refuses otherwise),
so what goes out is always what a sender activated.

Each step's system campaign follows the series: sending while it is active (the pipeline's batch
sends its rows), paused otherwise (a batch holds its rows; resuming queues them again).
"""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from newsletter.campaigns.snapshot import build_snapshot
from newsletter.campaigns.states import IllegalTransition, transition, unique_slug
from newsletter.delivery.lifecycle import campaign_resume
from newsletter.models import Campaign, CampaignPost, Post, Series, SeriesStep, Snapshot

CampaignStatus = Campaign.Status


class SeriesError(Exception):
    pass


def activation_problems(series: Series) -> list[str]:
    problems = []
    steps = list(series.steps.prefetch_related("posts"))
    if not steps:
        problems.append("it has no steps")
    for step in steps:
        if not step.subject.strip():
            problems.append(f"step {step.position} has no subject")
        if not (step.body.strip() or step.posts.all()):
            problems.append(f"step {step.position} has neither text nor posts")
        if any(post.status != Post.Status.PUBLISHED for post in step.posts.all()):
            problems.append(f"step {step.position} has posts not published yet")
    return problems


def series_activate(*, series: Series, by: AbstractBaseUser | None = None) -> None:
    """Draft or paused → active: every step frozen as it stands now, and sending."""
    with transaction.atomic():
        series = Series.objects.select_for_update().get(pk=series.pk)
        if series.status == Series.Status.ACTIVE:
            raise SeriesError("The series is already active.")
        problems = activation_problems(series)
        if problems:
            raise SeriesError(f"The series cannot be activated: {', '.join(problems)}.")
        for step in series.steps.all():
            _approve(step, series)
        now = timezone.now()
        Series.objects.filter(pk=series.pk).update(
            status=Series.Status.ACTIVE,
            activated_at=series.activated_at or now,
            activated_by=by,
            updated_at=now,
        )


def series_pause(*, series: Series) -> None:
    """Active → paused: due steps wait, and rows already queued are held by their batch."""
    _stop(series, Series.Status.PAUSED, allowed={Series.Status.ACTIVE})


def series_to_draft(*, series: Series) -> None:
    """Back to draft, to edit its steps: it stops sending and enrolling until activated again."""
    _stop(series, Series.Status.DRAFT, allowed={Series.Status.ACTIVE, Series.Status.PAUSED})


def _stop(series: Series, to: str, *, allowed: set[str]) -> None:
    with transaction.atomic():
        series = Series.objects.select_for_update().get(pk=series.pk)
        if series.status not in allowed:
            raise SeriesError(f"A {series.status} series cannot become {to}.")
        for campaign in Campaign.objects.filter(
            series_step__series=series, status=CampaignStatus.SENDING
        ):
            transition(campaign, CampaignStatus.PAUSED)
        Series.objects.filter(pk=series.pk).update(status=to, updated_at=timezone.now())


def _approve(step: SeriesStep, series: Series) -> None:
    """The step's campaign made to hold the step as it stands, frozen, and sending."""
    campaign = step.campaign or _new_campaign(step, series)
    Campaign.objects.filter(pk=campaign.pk).update(
        subject=step.subject,
        preheader=step.preheader,
        intro=step.body,
        track_opens=series.track_opens,
        track_clicks=series.track_clicks,
    )
    campaign.refresh_from_db()
    posts = list(step.posts.order_by("pk"))
    CampaignPost.objects.filter(campaign=campaign).delete()
    CampaignPost.objects.bulk_create(
        CampaignPost(campaign=campaign, post=post, position=n) for n, post in enumerate(posts)
    )
    # Its audience is the series' enrolments, not topics: the topics only let the posts' sections
    # into the snapshot (rendering shows a step's every section to every reader).
    campaign.topics.set({post.topic_id for post in posts})
    if campaign.status == CampaignStatus.DRAFT:
        # Scheduling freezes it; it starts at once, with no audience to prepare.
        transition(campaign, CampaignStatus.SCHEDULED, scheduled_at=timezone.now())
        transition(campaign, CampaignStatus.SENDING, prepared_at=timezone.now())
        return
    Snapshot.objects.filter(campaign=campaign).delete()
    build_snapshot(campaign).save()
    try:
        campaign_resume(campaign=campaign)  # its held rows queued again
    except IllegalTransition as error:
        raise SeriesError(f"Step {step.position}: {error}") from error


def _new_campaign(step: SeriesStep, series: Series) -> Campaign:
    campaign = Campaign.objects.create(
        subject=step.subject,
        slug=unique_slug(f"series {series.name} {step.subject}"),
        kind=Campaign.Kind.SERIES_STEP,
    )
    SeriesStep.objects.filter(pk=step.pk).update(campaign=campaign)
    step.campaign = campaign
    return campaign
