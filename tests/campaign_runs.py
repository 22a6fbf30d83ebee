"""Campaigns driven through real workers: an audience, a due campaign, and beat's tick."""

import collections
import uuid
from datetime import timedelta

from django.utils import timezone

from newsletter import tasks
from newsletter.models import Campaign, Subscriber
from tests.factories import CampaignFactory, PostFactory
from tests.support import wait_until


def audience(topics, count: int) -> list[Subscriber]:
    """`count` active subscribers to news, written in bulk (factories are slow at 1,000)."""
    run = uuid.uuid4().hex[:6]
    people = Subscriber.objects.bulk_create(
        Subscriber(
            email=f"reader{i}-{run}@example.org",
            first_name=f"Reader{i}",
            status=Subscriber.Status.ACTIVE,
            confirmed_at=timezone.now(),
        )
        for i in range(count)
    )
    Subscriber.topics.through.objects.bulk_create(
        Subscriber.topics.through(subscriber_id=person.pk, topic_id=topics["news"].pk)
        for person in people
    )
    return people


def due_campaign(topics) -> Campaign:
    return CampaignFactory(
        posts=[PostFactory(topic=topics["news"])],
        topics=[topics["news"]],
        status=Campaign.Status.SCHEDULED,
        scheduled_at=timezone.now() - timedelta(seconds=1),
    )


def tick_until_sent(campaign: Campaign, timeout: float = 120.0) -> Campaign:
    """Run beat's tick (start, sweep, finish) in this process until the campaign is sent."""

    def sent():
        tasks.tick()
        campaign.refresh_from_db()
        return campaign.status == Campaign.Status.SENT

    wait_until(sent, timeout, interval=0.5, message=f"campaign {campaign.pk} to be sent")
    return campaign


def per_recipient(received) -> collections.Counter:
    """How many messages each address got."""
    return collections.Counter(address for r in received for address in r.rcpt_tos)
