"""Rows for the production-email tests: a sent campaign and its deliveries. Presets over the one
set of factories (tests/factories.py): an active reader who allows tracking, a published post
without text, a sent campaign."""

import itertools

from django.utils import timezone

from newsletter.models import Campaign, Delivery, Subscriber
from tests.factories import CampaignFactory, PostFactory, SubscriberFactory

_serial = itertools.count(1)


def subscriber(email=None, **fields) -> Subscriber:
    if email is not None:
        fields["email"] = email
    fields.setdefault("allow_tracking", True)  # a reader who said yes; the model's default is no
    fields.setdefault("first_name", "")
    return SubscriberFactory(active=True, **fields)


def post(topic, **fields):
    n = next(_serial)
    fields.setdefault("title", f"Post {n}")
    fields.setdefault("slug", f"ledger-post-{n}")
    fields.setdefault("url", f"https://charity.example.org/posts/{n}/")
    fields.setdefault("summary", "")
    fields.setdefault("body", "")
    return PostFactory(topic=topic, **fields)


def campaign(topic, *, posts=(), **fields) -> Campaign:
    n = next(_serial)
    fields.setdefault("subject", f"Campaign {n}")
    fields.setdefault("slug", f"ledger-campaign-{n}")
    fields.setdefault("status", Campaign.Status.SENT)
    fields.setdefault("preheader", "")
    fields.setdefault("intro", "")
    return CampaignFactory(topics=[topic], posts=list(posts), **fields)


def delivery(campaign, subscriber, **fields) -> Delivery:
    fields.setdefault("status", Delivery.Status.SENT)
    fields.setdefault("sent_at", timezone.now())
    fields.setdefault("message_id", f"<{next(_serial)}.engage@news.engage.example.org>")
    return Delivery.objects.create(campaign=campaign, subscriber=subscriber, **fields)
