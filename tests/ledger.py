"""Rows for the production-email tests: a sent campaign and its deliveries."""

import itertools

from django.utils import timezone

from newsletter.models import Campaign, CampaignPost, Delivery, Post, Subscriber

_serial = itertools.count(1)


def subscriber(email=None, **fields) -> Subscriber:
    n = next(_serial)
    fields.setdefault("status", Subscriber.Status.ACTIVE)
    fields.setdefault("confirmed_at", timezone.now())
    fields.setdefault("allow_tracking", True)  # a reader who said yes; the model's default is no
    return Subscriber.objects.create(email=email or f"reader{n}@example.org", **fields)


def post(topic, **fields) -> Post:
    n = next(_serial)
    fields.setdefault("title", f"Post {n}")
    fields.setdefault("slug", f"post-{n}")
    fields.setdefault("url", f"https://charity.example.org/posts/{n}/")
    fields.setdefault("status", Post.Status.PUBLISHED)
    fields.setdefault("published_at", timezone.now())
    return Post.objects.create(topic=topic, **fields)


def campaign(topic, *, posts=(), **fields) -> Campaign:
    n = next(_serial)
    fields.setdefault("subject", f"Campaign {n}")
    fields.setdefault("slug", f"campaign-{n}")
    fields.setdefault("status", Campaign.Status.SENT)
    made = Campaign.objects.create(**fields)
    made.topics.add(topic)
    for position, item in enumerate(posts):
        CampaignPost.objects.create(campaign=made, post=item, position=position)
    return made


def delivery(campaign, subscriber, **fields) -> Delivery:
    fields.setdefault("status", Delivery.Status.SENT)
    fields.setdefault("sent_at", timezone.now())
    fields.setdefault("message_id", f"<{next(_serial)}.engage@news.engage.example.org>")
    return Delivery.objects.create(campaign=campaign, subscriber=subscriber, **fields)
