"""ESP tracking webhooks: bounces, complaints, unsubscribes and engagement, from any anymail ESP.

anymail validates and normalises each ESP's payload and sends its `tracking` signal; the handler
here only stores the event once (by ESP and event id) and enqueues `process_webhook_event` after
commit. A replayed webhook finds its row and changes nothing. The processing is idempotent too
through the one effect table (newsletter.inbound.effects), the same as mail that comes back, so
a redelivered task is harmless.
"""

import json
import logging

from anymail.signals import AnymailTrackingEvent, EventType, RejectReason

from newsletter.inbound import bounces, effects, enqueue
from newsletter.models import Delivery, WebhookEvent
from newsletter.subscribers.addresses import keyed_hash

log = logging.getLogger(__name__)

# Our own kind for a temporary failure reported as a bounce, so the stored row says what it meant.
SOFT_BOUNCE = effects.ESP_SOFT_BOUNCE

# An ESP's bounce whose server's words say our own sending was refused (authentication,
# reputation, policy, content, size: newsletter.inbound.bounces.judge): never the reader's fault.
REFUSED = "refused"

# anymail's `rejected`: the ESP would not send at all. Its reason says whose it is: a bad address,
# an earlier bounce, complaint or unsubscribe is the reader's; stored as "rejected-<reason>".
READERS_REJECTIONS = {
    RejectReason.INVALID: EventType.BOUNCED,
    RejectReason.BOUNCED: EventType.BOUNCED,
    RejectReason.SPAM: EventType.COMPLAINED,
    RejectReason.UNSUBSCRIBED: EventType.UNSUBSCRIBED,
    RejectReason.TIMED_OUT: SOFT_BOUNCE,
}
# A policy block (Postmark's DMARCPolicy, say), no reason, or `failed` (the ESP could not send) is
# our sending's problem: nobody changes; the delivery fails with the words; the campaign shows it.
SENDING_PROBLEMS = {REFUSED, str(EventType.REJECTED), str(EventType.FAILED)}

# anymail's event types → the one effect table's kinds (newsletter.inbound.effects).
KINDS = {
    EventType.BOUNCED: effects.Kind.HARD_BOUNCE,
    SOFT_BOUNCE: effects.Kind.SOFT_BOUNCE,
    EventType.COMPLAINED: effects.Kind.COMPLAINT,
    # An unsubscribe by mail, seen by the ESP: listed like the others.
    EventType.UNSUBSCRIBED: effects.Kind.UNSUBSCRIBE,
    EventType.DELIVERED: effects.DELIVERED,
    EventType.OPENED: effects.OPENED,
    EventType.CLICKED: effects.CLICKED,
}
KINDS.update({problem: effects.Kind.HARD_BOUNCE for problem in SENDING_PROBLEMS})
KINDS.update({f"rejected-{why}": KINDS[kind] for why, kind in READERS_REJECTIONS.items()})


def handle_tracking(sender, event: AnymailTrackingEvent, esp_name: str, **kwargs) -> None:
    """Receiver of anymail's `tracking` signal (connected in NewsletterConfig.ready)."""
    stored = webhook_event_store(esp=esp_name, event=event)
    if stored is not None:
        enqueue.webhook_event(stored.pk)


def webhook_event_store(*, esp: str, event: AnymailTrackingEvent) -> WebhookEvent | None:
    """Store the event, or return None when it was stored before (a replay)."""
    stored, created = WebhookEvent.objects.get_or_create(
        esp=esp[:40],
        event_id=_event_id(event),
        defaults={
            "event_type": _event_type(esp, event),
            # Not every ESP's id is a string (Postal's and Mailjet's are numbers).
            "message_id": str(event.message_id or "")[:255],
            "recipient": str(event.recipient or "")[:254],
            "occurred_at": event.timestamp,
            "diagnostic": _diagnostic(event),
            "delivery": _delivery_from_metadata(event.metadata),
        },
    )
    if not created:
        log.info("webhook replay ignored: %s %s", esp, stored.event_id)
        return None
    return stored


def webhook_event_process(*, event_id: int) -> None:
    """Apply one stored event to its delivery and subscriber. Safe to run more than once."""
    event = WebhookEvent.objects.filter(pk=event_id).select_related("delivery").first()
    if event is None:
        return
    delivery = event.delivery or _delivery_for(event)
    if delivery is None:
        log.info("webhook for an unknown message ignored: %s %s", event.esp, event.message_id)
        return
    if event.delivery_id is None:
        WebhookEvent.objects.filter(pk=event.pk).update(delivery=delivery)
    at = event.occurred_at or event.received_at
    kind = KINDS.get(event.event_type)
    if kind is not None:
        who_failed = bounces.SENDER if event.event_type in SENDING_PROBLEMS else ""
        effects.apply(
            effects.Event(
                kind,
                delivery.subscriber_id,
                delivery.pk,
                at,
                who_failed=who_failed,
                diagnostic=event.diagnostic,
            )
        )


def _event_id(event: AnymailTrackingEvent) -> str:
    """The event's identity for replays: the ESP's id, per recipient (Amazon SES sends one id for
    a bounce of several recipients, which anymail splits into one event each)."""
    if event.event_id:
        base = str(event.event_id)
    else:
        # Some ESPs give no id for some events (Postmark: only bounces have one). The payload
        # itself is then the identity: a replay is byte-for-byte the same event.
        payload = event.esp_event
        if hasattr(payload, "lists"):  # a QueryDict from a form-encoded webhook
            payload = dict(payload.lists())
        # Keyed, like the recipient below: the payload names the address.
        canonical = json.dumps(payload, sort_keys=True, default=str)
        base = "hmac:" + keyed_hash(canonical)
    if not event.recipient:
        return base[:255]
    recipient = keyed_hash(event.recipient.strip().lower())[:16]
    return f"{base[:238]}/{recipient}"


def _diagnostic(event: AnymailTrackingEvent) -> str:
    """What the receiving server said, as the ESP passes it on."""
    said = str(event.mta_response or event.description or "").replace("\x00", "")
    if not said.strip() and event.event_type in (EventType.REJECTED, EventType.FAILED):
        why = event.reject_reason or "no reason given"
        said = f"The ESP did not send it ({event.event_type}: {why})"
    return " ".join(said.split())[:1000]


def _event_type(esp: str, event: AnymailTrackingEvent) -> str:
    if event.event_type == EventType.REJECTED and event.reject_reason in READERS_REJECTIONS:
        return f"rejected-{event.reject_reason}"
    if event.event_type == EventType.BOUNCED and _is_soft_bounce(esp, event.esp_event):
        return SOFT_BOUNCE
    # The ESP calls it a bounce; the server's words may say it refused our sending instead.
    if event.event_type == EventType.BOUNCED:
        _, who_failed = bounces.judge("", _diagnostic(event))
        if who_failed == bounces.SENDER:
            return REFUSED
    return str(event.event_type)[:40]


def _is_soft_bounce(esp: str, raw) -> bool:
    """Bounces some ESPs report as `bounced` although the mailbox may work again later (anymail
    keeps the difference only in the ESP's own payload)."""
    if not isinstance(raw, dict):
        return False
    if esp == "Postmark":
        return raw.get("Type") == "SoftBounce"
    if esp == "Amazon SES":
        return (raw.get("bounce") or {}).get("bounceType") in ("Transient", "Undetermined")
    if esp in ("Brevo", "SendinBlue"):
        return raw.get("event") == "soft_bounce"
    if esp == "SendGrid":
        return raw.get("type") == "blocked"
    return False


def _delivery_from_metadata(metadata) -> Delivery | None:
    try:
        delivery_id = int((metadata or {}).get("delivery_id"))
    except (TypeError, ValueError):
        return None
    return Delivery.objects.filter(pk=delivery_id).first()


def _delivery_for(event: WebhookEvent) -> Delivery | None:
    """The delivery by Message-ID: stored with or without angle brackets, as the ESP gives it."""
    bare = event.message_id.strip().strip("<>")
    if not bare:  # none, or just "<>": an unsent row has no Message-ID either
        return None
    candidates = list(
        Delivery.objects.filter(message_id__in=[bare, f"<{bare}>"]).select_related("subscriber")
    )
    if len(candidates) > 1:
        # A batch sent as one API call can share one id across its recipients.
        recipient = event.recipient.lower()
        candidates = [d for d in candidates if d.subscriber and d.subscriber.email == recipient]
    return candidates[0] if len(candidates) == 1 else None
