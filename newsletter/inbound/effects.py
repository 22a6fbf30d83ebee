"""What a classified inbound message changes: the same suppression rules as every other path.

Hard bounces and complaints suppress; soft bounces count towards SOFT_BOUNCE_LIMIT; a request by
mail unsubscribes. Only pending and active subscribers change, so an unsubscribed or suppressed
address is never brought back by a later, milder report.
"""

from django.conf import settings
from django.db.models import Max
from django.db.models.functions import Greatest
from django.utils import timezone

from newsletter.models import Delivery, InboundMessage, Subscriber, Suppression
from newsletter.subscribers.policy import suppress

Kind = InboundMessage.Kind


def apply(row: InboundMessage) -> None:
    if row.subscriber_id is None:
        return
    now = timezone.now()
    if row.kind == Kind.HARD_BOUNCE:
        if row.delivery_id:
            Delivery.objects.filter(pk=row.delivery_id).update(
                status=Delivery.Status.BOUNCED, updated_at=now
            )
        suppress(row.subscriber_id, Subscriber.Status.BOUNCED, now)
    elif row.kind == Kind.COMPLAINT:
        if row.delivery_id:
            Delivery.objects.filter(pk=row.delivery_id, complained_at__isnull=True).update(
                complained_at=now, updated_at=now
            )
        suppress(row.subscriber_id, Subscriber.Status.COMPLAINED, now)
    elif row.kind == Kind.SOFT_BOUNCE:
        _count_soft_bounces(row.subscriber_id, now)
    elif row.kind == Kind.UNSUBSCRIBE:
        suppress(row.subscriber_id, Suppression.Reason.UNSUBSCRIBED, now)


def _count_soft_bounces(subscriber_id: int, at) -> None:
    """Campaigns in a row that soft-bounced since the last one known delivered, counted from the
    stored reports (a replay or a second report for one message counts once)."""
    last_delivered = Delivery.objects.filter(subscriber_id=subscriber_id).aggregate(
        last=Max("delivered_at")
    )["last"]
    soft = InboundMessage.objects.filter(
        subscriber_id=subscriber_id, kind=Kind.SOFT_BOUNCE, delivery__isnull=False
    )
    if last_delivered is not None:
        soft = soft.filter(delivery__sent_at__gt=last_delivered)
    streak = min(soft.values("delivery_id").distinct().count(), 32767)
    Subscriber.objects.filter(pk=subscriber_id).update(
        soft_bounces=Greatest("soft_bounces", streak)
    )
    if streak >= settings.SOFT_BOUNCE_LIMIT:
        suppress(subscriber_id, Subscriber.Status.BOUNCED, at)
