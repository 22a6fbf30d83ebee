"""Raw inbound messages hold other people's mail: kept INBOUND_RETENTION_DAYS, then deleted.
The classification row (when, kind, whom, why) stays."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from ..models import InboundMessage


def forget_raw_messages() -> int:
    cutoff = timezone.now() - timedelta(days=settings.INBOUND_RETENTION_DAYS)
    return InboundMessage.objects.filter(raw__isnull=False, received_at__lt=cutoff).update(raw=None)
