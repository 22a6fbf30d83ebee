"""Emitting webhook events: `emit` is called where each thing happens (a confirmation, an
unsubscription, a suppression, an erasure, an answer, a campaign finishing), inside that change's
transaction, so an event exists exactly when the change was committed.

One OutgoingEvent, and one ledger row per endpoint that wants its type, numbered in that
endpoint's sequence. The drain (newsletter.api.webhooks) is queued after commit.
"""

from django.db import transaction

from newsletter.api import enqueue
from newsletter.models import (
    Campaign,
    OutgoingEvent,
    Subscriber,
    WebhookDelivery,
    WebhookEndpoint,
)

Type = WebhookEndpoint.EventType
# Fields only a scope that may read addresses is sent.
PERSONAL = frozenset({"email", "first_name", "name"})


def emit(type: str, data: dict, *, subscriber_id: int | None = None) -> OutgoingEvent | None:
    wanted = [
        pk
        for pk, events in WebhookEndpoint.objects.filter(is_active=True).values_list("pk", "events")
        if type in events
    ]
    if not wanted:
        return None
    with transaction.atomic():
        event = OutgoingEvent.objects.create(type=type, data=data, subscriber_id=subscriber_id)
        rows = []
        # Locked in id order: two emitting transactions cannot deadlock on each other.
        for endpoint in (
            WebhookEndpoint.objects.select_for_update().filter(pk__in=wanted).order_by("pk")
        ):
            endpoint.last_sequence += 1
            endpoint.save(update_fields=["last_sequence"])
            rows.append(
                WebhookDelivery(event=event, endpoint=endpoint, sequence=endpoint.last_sequence)
            )
        WebhookDelivery.objects.bulk_create(rows)
    for pk in wanted:
        enqueue.drain(pk)
    return event


def subscriber_data(subscriber: Subscriber) -> dict:
    return {
        "id": subscriber.pk,
        "email": subscriber.email,
        "first_name": subscriber.first_name,
        "status": subscriber.status,
        "topics": sorted(subscriber.topics.values_list("slug", flat=True)),
    }


def emit_subscriber(type: str, subscriber_id: int) -> OutgoingEvent | None:
    subscriber = Subscriber.objects.filter(pk=subscriber_id).first()
    if subscriber is None:
        return None
    return emit(type, {"subscriber": subscriber_data(subscriber)}, subscriber_id=subscriber_id)


def emit_erased(subscriber_id: int) -> OutgoingEvent | None:
    """The erasure event carries the id alone; the address leaves every earlier event still in
    the ledger too (newsletter.subscribers.subscriptions calls `forget`)."""
    return emit(Type.SUBSCRIBER_ERASED, {"subscriber": {"id": subscriber_id}})


def emit_rsvp(rsvp) -> OutgoingEvent | None:
    reader = rsvp.subscriber
    data = {
        "id": rsvp.pk,
        "post_id": rsvp.post_id,
        "answer": rsvp.answer,
        "subscriber_id": rsvp.subscriber_id,
        "email": reader.email if reader else rsvp.email,
        "name": (reader.first_name if reader else rsvp.name) or "",
    }
    return emit(Type.RSVP_ANSWERED, {"rsvp": data}, subscriber_id=rsvp.subscriber_id)


def emit_interest(interest) -> OutgoingEvent | None:
    reader = interest.subscriber
    data = {
        "post_id": interest.post_id,
        "subscriber_id": reader.pk,
        "email": reader.email,
        "first_name": reader.first_name,
    }
    return emit(Type.INTEREST_REGISTERED, {"interest": data}, subscriber_id=reader.pk)


def emit_campaign_sent(campaign_id: int, counts: dict) -> OutgoingEvent | None:
    campaign = Campaign.objects.filter(pk=campaign_id).values("id", "subject", "slug").first()
    figures = {k: v for k, v in counts.items() if k.endswith("_count")}
    return emit(Type.CAMPAIGN_SENT, {"campaign": {**campaign, **figures}})


def forget(subscriber_id: int) -> None:
    """Strip the person's details from the events not yet delivered and from those kept."""
    for event in OutgoingEvent.objects.filter(subscriber_id=subscriber_id):
        event.data = visible(event.data, addresses=False)
        event.subscriber_id = None
        event.save(update_fields=["data", "subscriber_id"])


def visible(data, *, addresses: bool):
    """`data` as an endpoint sees it: without names and addresses unless its scope reads them."""
    if addresses:
        return data
    if isinstance(data, dict):
        return {k: visible(v, addresses=False) for k, v in data.items() if k not in PERSONAL}
    if isinstance(data, list):
        return [visible(v, addresses=False) for v in data]
    return data
