"""Every public page of Engage, with the rows each needs, for the browser tests that visit them
all (targets, focus, reflow, axe)."""

import datetime

from django.utils import timezone

from newsletter.campaigns.states import transition
from newsletter.models import Campaign, Post, PostEngagement
from newsletter.subscribers import tokens
from tests.factories import CampaignFactory, PostFactory, SubscriberFactory, event_taking_rsvps


def public_pages(topics) -> dict[str, str]:
    """name → path (or absolute URL) of each public page, with the rows each one needs."""
    reader = SubscriberFactory(active=True, topics=list(topics.values()))
    left = SubscriberFactory(unsubscribed=True)
    event = event_taking_rsvps(topics["events"], title="Coffee morning", url="")
    involved = PostFactory(
        topic=topics["get-involved"], kind=Post.Kind.GET_INVOLVED, title="Help us", url=""
    )
    PostEngagement.objects.create(post=involved, count_me_in=True, contact_email="x@example.org")
    news = PostFactory(topic=topics["news"], title="A new nurse in Leeds", url="")
    campaign = CampaignFactory(
        subject="December news",
        topics=list(topics.values()),
        posts=[news, event, involved],
        scheduled_at=timezone.now() + datetime.timedelta(minutes=1),
    )
    for status in (Campaign.Status.SCHEDULED, Campaign.Status.SENDING, Campaign.Status.SENT):
        transition(campaign, status)
    return {
        "join": "/join/",
        "embed": "/join/embed/",
        "confirmation": tokens.confirm_url(SubscriberFactory().pk),
        "preferences": tokens.preferences_url(reader.pk),
        "unsubscribe": tokens.unsubscribe_url(reader.pk),
        "come back": tokens.way_back_url(left.pk),
        "archive": "/archive/",
        "archive issue": f"/archive/{campaign.slug}/",
        "post": f"/archive/posts/{event.slug}/",
        "event RSVP": f"/events/{event.slug}/rsvp/",
        "answer": tokens.post_link("rsvp", reader.pk, event.pk),
        "count me in": tokens.post_link("interest", reader.pk, involved.pk),
        "bad link": "/confirm/not-a-token/",
    }
