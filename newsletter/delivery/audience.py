"""Who a campaign goes to, and which of its topics each reader chose."""

from django.db.models import Exists, OuterRef

from newsletter.models import Campaign, Subscriber

SubscriberTopic = Subscriber.topics.through


def audience(campaign: Campaign):
    """Subscribers the campaign goes to: active, subscribed to any of its topics, not suppressed."""
    topic_ids = list(campaign.topics.values_list("pk", flat=True))
    chose = SubscriberTopic.objects.filter(subscriber_id=OuterRef("pk"), topic_id__in=topic_ids)
    return Subscriber.objects.filter(
        Exists(chose), status=Subscriber.Status.ACTIVE, suppressed_at=None
    ).order_by("pk")


def topics_of(subscriber_ids: list[int]) -> dict[int, frozenset[str]]:
    """Each subscriber's topic slugs."""
    pairs = SubscriberTopic.objects.filter(subscriber_id__in=subscriber_ids).values_list(
        "subscriber_id", "topic__slug"
    )
    found: dict[int, set[str]] = {}
    for subscriber_id, slug in pairs:
        found.setdefault(subscriber_id, set()).add(slug)
    return {pk: frozenset(slugs) for pk, slugs in found.items()}
