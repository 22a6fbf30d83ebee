"""What "sent" hides: a message a relay accepted may still be waiting somewhere.

Over SMTP, "sent" means a relay said 250. After that a relay's own queue may hold the message for
hours (a receiving server's 4xx, greylisting) and say so only by a delay notice (a DSN with
`Action: delayed`) or, through an ESP, by a `deferred` event; `delivered` is known only where an
ESP reports it. Before that, a relay's 4xx at send time leaves the row queued here, waiting for its
retry. The campaign report shows each, so that "87 sent" is not read as "87 arrived".
"""

from dataclasses import dataclass
from datetime import datetime

from anymail.signals import EventType
from django.db.models import Count, Exists, Max, OuterRef, Q

from newsletter.models import Delivery, InboundMessage, WebhookEvent

# How the ESP door stores a temporary failure (newsletter.inbound.effects.ESP_SOFT_BOUNCE).
ESP_SOFT_BOUNCE = EventType.DEFERRED


@dataclass(frozen=True)
class AfterAcceptance:
    retrying: int  # refused for now at send time (a 4xx): queued here again for a retry
    retrying_last_tried: datetime | None
    retrying_last_error: str
    accepted: int  # a relay or the ESP took the message
    delivered: int  # of those, reported delivered later (an ESP's event)
    deferred: int  # of those, reported delayed since, and not known delivered after that
    deferred_last_reported: datetime | None


def after_acceptance(*, campaign_id: int) -> AfterAcceptance:
    deliveries = Delivery.objects.filter(campaign_id=campaign_id)
    retrying = deliveries.filter(status=Delivery.Status.QUEUED, attempts__gt=0)
    last_retry = retrying.order_by("-updated_at").values("updated_at", "last_error").first()
    delay_notices = InboundMessage.objects.filter(
        delivery=OuterRef("pk"), kind=InboundMessage.Kind.SOFT_BOUNCE
    )
    esp_deferrals = WebhookEvent.objects.filter(delivery=OuterRef("pk"), event_type=ESP_SOFT_BOUNCE)
    accepted = deliveries.filter(sent_at__isnull=False)
    waiting = accepted.filter(delivered_at__isnull=True).filter(
        Q(Exists(delay_notices)) | Q(Exists(esp_deferrals))
    )
    counts = accepted.aggregate(
        accepted=Count("id"), delivered=Count("id", filter=Q(delivered_at__isnull=False))
    )
    last_notice = max(
        filter(
            None,
            [
                InboundMessage.objects.filter(
                    delivery__in=waiting, kind=InboundMessage.Kind.SOFT_BOUNCE
                ).aggregate(at=Max("received_at"))["at"],
                WebhookEvent.objects.filter(
                    delivery__in=waiting, event_type=ESP_SOFT_BOUNCE
                ).aggregate(at=Max("received_at"))["at"],
            ],
        ),
        default=None,
    )
    return AfterAcceptance(
        retrying=retrying.count(),
        retrying_last_tried=last_retry["updated_at"] if last_retry else None,
        retrying_last_error=last_retry["last_error"] if last_retry else "",
        accepted=counts["accepted"],
        delivered=counts["delivered"],
        deferred=waiting.count(),
        deferred_last_reported=last_notice,
    )
