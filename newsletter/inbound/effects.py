"""The one effect table for whatever comes back, through any door.

The pipe and the IMAP poller (newsletter.inbound.receive) and every ESP webhook
(newsletter.inbound.webhooks) each turn their input into the same `Event` (who, what happened,
when) and call `apply`. Complaints suppress; a bounce does what its kind and who failed call for
(newsletter.inbound.bounces.consequence): the reader's dead address is suppressed, a refusal of
our own sending leaves the reader alone and marks the delivery failed with the server's words (a
sending problem the campaign shows), and the rest count towards SOFT_BOUNCE_LIMIT in one streak,
whichever door each came through; a request by mail unsubscribes;
a delivery ends the streak; an ESP's opens and clicks are recorded only where ours would be. Only
pending and active subscribers change (newsletter.subscribers.policy.suppress), so an
unsubscribed or suppressed address is never brought back by a later, milder report. Every effect
is idempotent: a replayed report or a redelivered task changes nothing more.
"""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, Max, OuterRef, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from newsletter.delivery import reputation
from newsletter.inbound import bounces
from newsletter.models import Delivery, InboundMessage, Subscriber, Suppression, WebhookEvent
from newsletter.subscribers import policy

Kind = InboundMessage.Kind

# What an ESP reports besides InboundMessage's kinds.
DELIVERED, OPENED, CLICKED = "delivered", "opened", "clicked"
# A temporary failure as the ESP webhook door stores it (anymail's "deferred").
ESP_SOFT_BOUNCE = "deferred"


@dataclass(frozen=True)
class Event:
    """One thing that came back: what happened (a Kind value, or DELIVERED / OPENED / CLICKED),
    to whose message, and when."""

    kind: str
    subscriber_id: int | None
    delivery_id: int | None
    at: datetime
    # For a bounce: InboundMessage.WhoFailed, or "" when the door did not say (an ESP's own
    # verdict: its hard bounce suppresses).
    who_failed: str = ""
    diagnostic: str = ""  # what the receiving server said, for a sending problem


def apply(event: Event) -> None:
    effect = EFFECTS.get(event.kind)
    if effect is not None and event.subscriber_id is not None:
        effect(event)
    watched = _watched(event)
    if event.delivery_id and watched:
        # The sending campaign's own complaint and bounce rates (it may pause itself).
        reputation.came_back(event.delivery_id, watched)


def _hard_bounce(event: Event) -> None:
    consequence = bounces.consequence(event.kind, event.who_failed or bounces.RECIPIENT)
    if consequence == bounces.SENDING_PROBLEM:
        _sending_problem(event)
    elif consequence == bounces.COUNT:
        count_soft_bounces(event.subscriber_id, event.at)
    else:
        if event.delivery_id:
            Delivery.objects.filter(pk=event.delivery_id).update(
                status=Delivery.Status.BOUNCED, updated_at=timezone.now()
            )
        policy.suppress(event.subscriber_id, Subscriber.Status.BOUNCED, event.at)


def _sending_problem(event: Event) -> None:
    """The reader's server refused our mail for a reason on our side: the reader stays as they
    are; the delivery is failed with the server's words, for staff to fix and retry."""
    if event.delivery_id:
        Delivery.objects.filter(pk=event.delivery_id).exclude(
            status=Delivery.Status.BOUNCED
        ).update(
            status=Delivery.Status.FAILED,
            last_error=f"refused by the reader's server (a sending problem): {event.diagnostic}",
            updated_at=timezone.now(),
        )


def _complaint(event: Event) -> None:
    _record_first(event, "complained_at")
    policy.suppress(event.subscriber_id, Subscriber.Status.COMPLAINED, event.at)


def _soft_bounce(event: Event) -> None:
    if bounces.consequence(event.kind, event.who_failed) == bounces.COUNT:
        count_soft_bounces(event.subscriber_id, event.at)


def _unsubscribe(event: Event) -> None:
    policy.suppress(event.subscriber_id, Suppression.Reason.UNSUBSCRIBED, event.at)


def _delivered(event: Event) -> None:
    _record_first(event, "delivered_at")
    count_soft_bounces(event.subscriber_id, event.at)


def _opened(event: Event) -> None:
    _record_engagement(event, "opened_at", policy.OPENS)


def _clicked(event: Event) -> None:
    _record_engagement(event, "clicked_at", policy.CLICKS)


def _watched(event: Event) -> str | None:
    """What the reputation watch counts: complaints, the readers' dead addresses (hard bounces
    an ESP reports count as theirs) and refusals of our sending; a bounce nobody can place, no."""
    if event.kind == Kind.COMPLAINT:
        return reputation.COMPLAINED
    if event.kind != Kind.HARD_BOUNCE:
        return None
    who = event.who_failed or bounces.RECIPIENT
    return {bounces.RECIPIENT: reputation.BOUNCED, bounces.SENDER: reputation.REJECTED}.get(who)


EFFECTS = {
    Kind.HARD_BOUNCE: _hard_bounce,
    Kind.COMPLAINT: _complaint,
    Kind.SOFT_BOUNCE: _soft_bounce,
    Kind.UNSUBSCRIBE: _unsubscribe,
    DELIVERED: _delivered,
    OPENED: _opened,
    CLICKED: _clicked,
}


def count_soft_bounces(subscriber_id: int, at) -> int:
    """The one soft-bounce streak, stored in Subscriber.soft_bounces: the reader's messages that
    soft-bounced (reported by mail or by an ESP) since the last one known delivered. A failure
    nobody can place counts the same; a refusal of our own sending never does.

    Counted from the stored reports rather than incremented, so a replay, a redelivered task or an
    ESP retrying one message over hours counts once; at SOFT_BOUNCE_LIMIT the address is
    suppressed."""
    deliveries = Delivery.objects.filter(subscriber_id=subscriber_id)
    last_delivered = deliveries.aggregate(last=Max("delivered_at"))["last"]
    counted = Q(kind=Kind.SOFT_BOUNCE) | Q(kind=Kind.HARD_BOUNCE, who_failed=bounces.UNKNOWN)
    # A report is the delivery's own, or a copy that named it (one message to several readers).
    about = Q(delivery=OuterRef("pk")) | Q(also_deliveries=OuterRef("pk"))
    by_mail = InboundMessage.objects.filter(counted, about).exclude(who_failed=bounces.SENDER)
    by_esp = WebhookEvent.objects.filter(
        delivery=OuterRef("pk"), event_type=ESP_SOFT_BOUNCE
    ).annotate(at=Coalesce("occurred_at", "received_at"))
    if last_delivered is not None:
        by_mail = by_mail.filter(received_at__gt=last_delivered)
        by_esp = by_esp.filter(at__gt=last_delivered)
    streak = deliveries.filter(Q(Exists(by_mail)) | Q(Exists(by_esp))).count()
    with transaction.atomic():
        Subscriber.objects.filter(pk=subscriber_id).update(soft_bounces=min(streak, 32767))
        if streak >= settings.SOFT_BOUNCE_LIMIT:
            policy.suppress(subscriber_id, Subscriber.Status.BOUNCED, at)
    return streak


def _record_first(event: Event, field: str) -> None:
    """The first report of a kind wins; later ones (and replays) leave the timestamp alone."""
    if event.delivery_id:
        Delivery.objects.filter(pk=event.delivery_id, **{f"{field}__isnull": True}).update(
            **{field: event.at}, updated_at=timezone.now()
        )


def _record_engagement(event: Event, field: str, what: str) -> None:
    """An ESP's own open/click tracking is recorded only where ours would be."""
    delivery = Delivery.objects.select_related("campaign", "subscriber").get(pk=event.delivery_id)
    if policy.may_track(delivery.campaign, delivery.subscriber, what):
        _record_first(event, field)
