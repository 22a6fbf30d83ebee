"""The day-before reminder to everyone who said "I'll be there".

For subscribers it is a system campaign (an EventReminder names it) holding the event, scheduled
for a day before the event and sent by the delivery pipeline like any other: through the same
ledger and senders, to an audience that is the event's "yes" list minus anyone unsubscribed,
bounced or suppressed (delivery's audience asks `reminder_audience`). It is created two days
ahead, so staff see it among the campaigns and can cancel it. Visitors (no subscriber row, so no
ledger) get the same day-before email once each, claimed by a conditional UPDATE on their row.
"""

import contextlib
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from newsletter.campaigns.scheduling import campaign_schedule
from newsletter.campaigns.states import (
    IllegalTransition,
    campaign_cancel,
    unique_slug,
)
from newsletter.engagement import enqueue
from newsletter.models import (
    Campaign,
    CampaignPost,
    EventReminder,
    Post,
    PostEngagement,
    Rsvp,
)

REMINDER_LEAD = timedelta(days=1)  # sent this long before the event starts
SCHEDULE_AHEAD = timedelta(days=2)  # and put on the campaign list this long before that
MIN_NOTICE = timedelta(hours=1)  # an event closer than this gets no reminder


def schedule_due_reminders(now: datetime | None = None) -> int:
    """Schedule the reminder of every event that starts soon and has none; how many were made."""
    now = now or timezone.now()
    events = Post.objects.filter(
        kind=Post.Kind.EVENT,
        status=Post.Status.PUBLISHED,
        engagement__takes_rsvps=True,
        starts_at__gt=now + MIN_NOTICE,
        starts_at__lte=now + REMINDER_LEAD + SCHEDULE_AHEAD,
        reminder=None,
    ).values_list("pk", flat=True)
    return sum(schedule_reminder(post_id=post_id, now=now) for post_id in events)


def schedule_reminder(*, post_id: int, now: datetime) -> bool:
    """The event's reminder campaign, scheduled; False when it already has one."""
    with transaction.atomic():
        # Two ticks at once: the second waits here, then finds the first one's reminder.
        engagement = PostEngagement.objects.select_for_update().get(post_id=post_id)
        if EventReminder.objects.filter(post_id=post_id).exists():
            return False
        post = Post.objects.select_related("topic").get(pk=engagement.post_id)
        subject = f"Tomorrow: {post.title}"
        campaign = Campaign.objects.create(
            subject=subject,
            slug=unique_slug(f"reminder {post.slug}"),
            kind=Campaign.Kind.EVENT_REMINDER,
            preheader="You told us you'll be there.",
            intro=(
                "You told us you'll be there: see you tomorrow. If you can't make it after all, "
                "please tell us below, so your place can go to someone on the waitlist."
            ),
        )
        campaign.topics.set([post.topic])
        CampaignPost.objects.create(campaign=campaign, post=post, position=0)
        EventReminder.objects.create(post=post, campaign=campaign)
        campaign_schedule(campaign=campaign, at=max(now, post.starts_at - REMINDER_LEAD))
    return True


def follow_moved_events(now: datetime | None = None) -> int:
    """A reminder not yet started moves with its event (staff changed the start time); one whose
    event was unpublished or lost its RSVPs is cancelled. How many changed."""
    now = now or timezone.now()
    changed = 0
    waiting = EventReminder.objects.filter(campaign__status=Campaign.Status.SCHEDULED)
    for reminder in waiting.select_related("campaign", "post__engagement"):
        post, campaign = reminder.post, reminder.campaign
        if post.status != Post.Status.PUBLISHED or not post.engagement.takes_rsvps:
            with contextlib.suppress(IllegalTransition):  # it started meanwhile
                campaign_cancel(campaign=campaign)
                changed += 1
            continue
        due = max(now, post.starts_at - REMINDER_LEAD)
        if campaign.scheduled_at != due and campaign.scheduled_at > now:
            # Conditional on the status we saw: a tick starting it meanwhile wins.
            changed += Campaign.objects.filter(
                pk=campaign.pk, status=Campaign.Status.SCHEDULED
            ).update(scheduled_at=due, updated_at=now)
    return changed


def send_guest_reminders(now: datetime | None = None) -> int:
    """The day-before email to each visitor who said "yes", once; how many were sent."""
    now = now or timezone.now()
    due = Rsvp.objects.filter(
        subscriber=None,
        answer=Rsvp.Answer.YES,
        reminded_at=None,
        post__starts_at__gt=now,
        post__starts_at__lte=now + REMINDER_LEAD,
    ).values_list("pk", flat=True)
    sent = 0
    for rsvp_id in due:
        # The claim: of two ticks racing, one queues the email.
        if Rsvp.objects.filter(pk=rsvp_id, reminded_at=None).update(reminded_at=now):
            enqueue.rsvp_email(rsvp_id, "reminder")
            sent += 1
    return sent
