"""The count staff see is the number delivery sends: active, not suppressed, not on the
suppression list, and with at least one section of the campaign for them."""

import pytest
from django.core import mail
from django.utils import timezone

from newsletter import delivery
from newsletter.campaigns import scheduling
from newsletter.campaigns.audience import audience_count
from newsletter.campaigns.states import transition
from newsletter.models import Campaign, Delivery, Suppression
from newsletter.subscribers.addresses import suppression_hash
from tests.factories import CampaignFactory, PostFactory, SubscriberFactory

pytestmark = pytest.mark.django_db


def readers(topics, count, *slugs, **fields):
    fields.setdefault("active", True)
    return [
        SubscriberFactory(topics=[topics[slug] for slug in slugs], **fields) for _ in range(count)
    ]


def send_all(campaign, capture) -> dict[str, int]:
    """Schedule, start and send the campaign with its tasks run in this process."""
    scheduling.campaign_schedule(campaign=campaign)
    transition(campaign, Campaign.Status.SENDING)
    with capture(execute=True):
        delivery.prepare(campaign.pk)
    rows = Delivery.objects.filter(campaign=campaign).values_list("status", flat=True)
    return {status: list(rows).count(status) for status in set(rows)}


def test_readers_whose_topics_have_no_post_are_not_counted(
    topics, django_capture_on_commit_callbacks
):
    # Two audience topics, posts in one of them (and one post outside both).
    campaign = CampaignFactory(
        topics=[topics["news"], topics["get-involved"]],
        posts=[PostFactory(topic=topics["news"]), PostFactory(topic=topics["education"])],
    )
    readers(topics, 3, "news")
    readers(topics, 1, "news", "get-involved")
    readers(topics, 2, "get-involved")  # in the topics, nothing for them
    readers(topics, 1, "education")  # not in the campaign's topics
    readers(topics, 1, "news", active=False)  # pending
    readers(topics, 1, "news", suppressed_at=timezone.now())
    listed = readers(topics, 1, "news")[0]  # active, but the address is on the list
    Suppression.objects.create(email_hash=suppression_hash(listed.email), reason="bounced")

    count = audience_count(campaign)
    assert (count.goes_to, count.in_topics, count.get_nothing) == (4, 6, 2)

    sent = send_all(campaign, django_capture_on_commit_callbacks)
    assert sent.get(Delivery.Status.SENT) == count.goes_to
    assert len(mail.outbox) == count.goes_to
    assert listed.email not in {message.to[0] for message in mail.outbox}
    # Counted again once it went (from its snapshot): still the same figure.
    campaign.refresh_from_db()
    assert audience_count(campaign).goes_to == count.goes_to


def test_when_every_topic_has_a_post_nobody_gets_nothing(
    topics, django_capture_on_commit_callbacks
):
    campaign = CampaignFactory(
        topics=[topics["news"], topics["events"]],
        posts=[PostFactory(topic=topics["events"]), PostFactory(topic=topics["news"])],
    )
    readers(topics, 2, "news")
    readers(topics, 2, "events", "education")
    count = audience_count(campaign)
    assert (count.goes_to, count.in_topics, count.get_nothing) == (4, 4, 0)
    assert send_all(campaign, django_capture_on_commit_callbacks) == {
        Delivery.Status.SENT: count.goes_to
    }
