"""Work whose task was lost: a preparation that never ran, rows whose lease ran out."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Max
from django.utils import timezone

from newsletter.models import Campaign, Delivery

from . import enqueue
from .lifecycle import requeue

Status = Delivery.Status


def sweep_expired_leases(now: datetime | None = None) -> int:
    """Hand rows whose lease ran out to new tasks. Returns how many rows were re-queued.

    A `sending` row with an expired lease belongs to a worker that died (SIGKILL, lost machine):
    its task may come back only after Redis's visibility timeout, so it is re-queued now. A `queued`
    row with an expired lease lost its task (Redis restarted without persistence, a resume after
    pause); it is re-queued only when the campaign has stalled, so the backlog of a big campaign
    that is simply still working through its queue is not queued twice.
    """
    now = now or timezone.now()
    requeued = 0
    sending = Campaign.objects.filter(status=Campaign.Status.SENDING)
    stale_start = now - timedelta(seconds=settings.DELIVERY_LEASE_SECONDS)
    for campaign_id in sending.filter(prepared_at=None, started_at__lt=stale_start).values_list(
        "pk", flat=True
    ):
        # Its preparation task was lost: run it again (prepare is re-runnable).
        Campaign.objects.filter(pk=campaign_id).update(started_at=now)
        enqueue.preparation(campaign_id)
    for campaign_id in sending.exclude(prepared_at=None).values_list("pk", flat=True):
        rows = Delivery.objects.filter(campaign_id=campaign_id)
        requeued += requeue(rows.filter(status=Status.SENDING, lease_expires_at__lt=now), now)
        if _stalled(campaign_id, now):
            waiting = rows.filter(status=Status.QUEUED)
            requeued += requeue(waiting.filter(lease_expires_at__lt=now), now)
            requeued += requeue(waiting.filter(lease_expires_at=None), now)
    return requeued


def _stalled(campaign_id: int, now: datetime) -> bool:
    rows = Delivery.objects.filter(campaign_id=campaign_id)
    if rows.filter(status=Status.SENDING).exists():
        return False
    last_sent = rows.filter(status=Status.SENT).aggregate(last=Max("sent_at"))["last"]
    quiet = timedelta(seconds=settings.DELIVERY_LEASE_SECONDS)
    return last_sent is None or last_sent < now - quiet
