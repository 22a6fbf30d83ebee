"""A reader's data download holds every row that names them. The models are read from Django's
own record of relations (every model related to Subscriber, and every model hanging off one of
those rows, as a click hangs off a delivery), so a new model that names a reader fails here until
the download carries it and a row of it is made below."""

import json

import pytest
from django.utils import timezone

from newsletter.models import (
    Click,
    Delivery,
    Enrolment,
    InboundMessage,
    Interest,
    PostEngagement,
    Rsvp,
    Series,
    Subscriber,
    Topic,
    WebhookEvent,
)
from newsletter.subscribers.subscriptions import export_data
from tests.factories import CampaignFactory, PostFactory, SubscriberFactory

pytestmark = pytest.mark.django_db


def models_naming_a_reader() -> set[type]:
    """Subscriber's related models, and the models with a foreign key to one of those."""
    direct = {
        field.related_model
        for field in Subscriber._meta.get_fields()
        if field.is_relation and field.related_model not in (None, Subscriber)
    }
    hanging = {
        field.related_model
        for model in direct
        if model is not Topic  # a topic is chosen by many readers: their choice is the link
        for field in model._meta.get_fields()
        if field.one_to_many and field.related_model is not Subscriber
    }
    return direct | hanging


def make_rows(reader, topics) -> dict[type, str]:
    """One row of each model naming `reader`, and a text the download must then hold."""
    news = topics["news"]
    reader.topics.add(news)
    delivery = Delivery.objects.create(
        campaign=CampaignFactory(topics=[news], posts=[PostFactory(topic=news)]),
        subscriber=reader,
        status=Delivery.Status.FAILED,
        attempts=2,
        last_error="452 4.2.2 mailbox full (marker-delivery-error)",
    )
    event = PostFactory(topic=news, title="Walk marker-rsvp")
    PostEngagement.objects.create(post=event, takes_rsvps=True, count_me_in=True)
    Rsvp.objects.create(post=event, subscriber=reader, answer=Rsvp.Answer.YES)
    involved = PostFactory(topic=news, title="Volunteer marker-interest")
    PostEngagement.objects.create(post=involved, count_me_in=True)
    Interest.objects.create(post=involved, subscriber=reader)
    Enrolment.objects.create(
        series=Series.objects.create(name="Welcome marker-series"), subscriber=reader
    )
    Click.objects.create(delivery=delivery, url="https://example.org/als-symptoms-marker-click")
    WebhookEvent.objects.create(
        esp="postmark",
        event_id="e1",
        event_type="marker-esp-event",
        delivery=delivery,
        occurred_at=timezone.now(),
    )
    InboundMessage.objects.create(
        source="imap",
        digest="a" * 64,
        kind="hard_bounce",
        subscriber=reader,
        reason="marker-inbound",
        delivery=delivery,
    )
    return {
        Topic: news.slug,
        Delivery: "marker-delivery-error",
        Rsvp: "marker-rsvp",
        Interest: "marker-interest",
        Enrolment: "marker-series",
        Click: "als-symptoms-marker-click",
        WebhookEvent: "marker-esp-event",
        InboundMessage: "marker-inbound",
    }


def test_the_data_download_holds_a_row_of_every_model_that_names_the_reader(topics):
    reader = SubscriberFactory(email="reader@example.org", active=True)
    expected = make_rows(reader, topics)
    missing = models_naming_a_reader() - set(expected)
    assert not missing, (
        f"models naming a reader that this test (and the download?) forgot: {missing}"
    )
    download = json.dumps(export_data(reader))
    absent = [model.__name__ for model, marker in expected.items() if marker not in download]
    assert not absent, f"the download leaves out: {absent}"
