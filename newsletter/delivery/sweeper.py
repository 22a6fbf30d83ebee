"""Work whose task was lost: a preparation that never ran, rows whose lease ran out, rows whose
tasks vanished with the broker's queue."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Max, Q
from django.utils import timezone

from newsletter.delivery import broker, enqueue
from newsletter.delivery.lifecycle import requeue
from newsletter.models import Campaign, Delivery

Status = Delivery.Status
CampaignStatus = Campaign.Status

# A row queued this long ago (or whose booked retry was due this long ago), with its campaign idle
# and the broker's queue empty, has lost its task.
LOST_TASK_SECONDS = 60


def sweep_expired_leases(now: datetime | None = None) -> int:
    """Hand rows whose task is lost to new tasks. Returns how many rows were re-queued.

    A `sending` row with an expired lease belongs to a worker that died (SIGKILL, lost machine):
    its task may come back only after Redis's visibility timeout, so it is re-queued now. A `queued`
    row with an expired lease lost its task (a resume after pause, an operator's retry); it is
    re-queued only when the campaign has stalled, so the backlog of a big campaign that is simply
    still working through its queue is not queued twice. Sooner than that, rows queued a minute
    ago while nothing of their campaign is being sent and the broker's queue is empty lost their
    tasks with it (Redis restarted without persistence).
    """
    now = now or timezone.now()
    _requeue_lost_preparations(now)
    requeued = 0
    queue_empty = None
    for campaign_id in _live_campaigns():
        rows = Delivery.objects.filter(campaign_id=campaign_id)
        waiting = rows.filter(status=Status.QUEUED)
        requeued += requeue(rows.filter(status=Status.SENDING, lease_expires_at__lt=now), now)
        if _stalled(campaign_id, now):
            requeued += requeue(waiting.filter(lease_expires_at__lt=now), now)
            requeued += requeue(waiting.filter(lease_expires_at=None), now)
        elif not rows.filter(status=Status.SENDING).exists():
            # A row's lease is its task's due time plus one lease period.
            due_before = now + timedelta(
                seconds=settings.DELIVERY_LEASE_SECONDS - LOST_TASK_SECONDS
            )
            lost = waiting.filter(lease_expires_at__lt=due_before)
            if lost.exists():
                if queue_empty is None:
                    queue_empty = broker.queue_is_empty()
                if queue_empty:
                    requeued += requeue(lost, now)
    return requeued


def _live_campaigns() -> list[int]:
    """Sending campaigns with their ledger written, and sent ones with rows queued again."""
    sending = Campaign.objects.filter(status=CampaignStatus.SENDING).exclude(prepared_at=None)
    retried = Delivery.objects.filter(
        status=Status.QUEUED, campaign__status=CampaignStatus.SENT
    ).values_list("campaign_id", flat=True)
    return sorted({*sending.values_list("pk", flat=True), *retried.distinct()})


def _requeue_lost_preparations(now: datetime) -> None:
    """A sending campaign without its ledger a lease period after it started (or after its last
    re-queue) lost its preparation task: run it again (prepare is re-runnable). started_at stays
    the real start."""
    stale = now - timedelta(seconds=settings.DELIVERY_LEASE_SECONDS)
    lost = Campaign.objects.filter(status=CampaignStatus.SENDING, prepared_at=None).filter(
        Q(prepare_requeued_at__lt=stale) | Q(prepare_requeued_at=None, started_at__lt=stale)
    )
    for campaign_id in lost.values_list("pk", flat=True):
        Campaign.objects.filter(pk=campaign_id).update(prepare_requeued_at=now)
        enqueue.preparation(campaign_id)


def _stalled(campaign_id: int, now: datetime) -> bool:
    rows = Delivery.objects.filter(campaign_id=campaign_id)
    if rows.filter(status=Status.SENDING).exists():
        return False
    last_sent = rows.filter(status=Status.SENT).aggregate(last=Max("sent_at"))["last"]
    quiet = timedelta(seconds=settings.DELIVERY_LEASE_SECONDS)
    return last_sent is None or last_sent < now - quiet
