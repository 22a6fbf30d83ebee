"""A campaign's way through delivery: start when due, prepare the ledger, resume after a pause,
retry a failed row, finish. Status changes go through campaigns.transition (a conditional
UPDATE); pause and cancel are plain transitions that the batches notice."""

import itertools
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from newsletter.campaigns import abtest
from newsletter.campaigns.audience import audience
from newsletter.campaigns.scheduling import is_local
from newsletter.campaigns.states import IllegalTransition, campaign_check_start, transition
from newsletter.delivery import ab_phases, enqueue, ledger, reputation, warmup, waves
from newsletter.delivery.progress import campaign_counts, count_fields
from newsletter.models import Campaign, Delivery

Status = Delivery.Status
CampaignStatus = Campaign.Status


def start_due_campaigns(now: datetime | None = None, campaign_id: int | None = None) -> int:
    """Move every due scheduled campaign (or only `campaign_id`, when given) to sending and queue
    its preparation. Returns how many.

    Two ticks running at once both see the campaign, but transition() is a conditional UPDATE:
    only one wins, and only the winner queues the preparation. A campaign that fails scheduling's
    checks now, or is no longer what was approved, goes back to draft with the reason instead.
    """
    now = now or timezone.now()
    due = Campaign.objects.filter(status=CampaignStatus.SCHEDULED, scheduled_at__lte=now)
    if campaign_id is not None:
        due = due.filter(pk=campaign_id)
    started = 0
    for campaign in due.order_by("scheduled_at", "pk"):
        with transaction.atomic():
            try:
                if not campaign_check_start(campaign=campaign):
                    continue
                transition(campaign, CampaignStatus.SENDING)
            except IllegalTransition:
                continue
            enqueue.preparation(campaign.pk)
        started += 1
    return started


def is_due(campaign: Campaign) -> bool:
    """Scheduled and its time has come: start_due_campaigns starts it (its query says the same)."""
    return (
        campaign.status == CampaignStatus.SCHEDULED
        and campaign.scheduled_at is not None
        and campaign.scheduled_at <= timezone.now()
    )


def start_soon(campaign: Campaign) -> bool:
    """A campaign scheduled for now ("Send now") starts as soon as the current transaction
    commits, not at beat's next tick: a worker runs start_due_campaigns for it. That is the same
    claim beat makes, so beat and this racing still start it once. False when it is not due."""
    if not is_due(campaign):
        return False
    enqueue.start(campaign.pk)
    return True


def prepare(campaign_id: int) -> int:
    """Write the campaign's ledger and queue its batches. Returns the number of rows written.

    Streams the audience in primary-key chunks, so memory does not grow with the list. Re-runnable:
    existing rows are left alone, and queueing a row twice is harmless because send_batch claims
    before it sends.
    """
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None or campaign.status not in (CampaignStatus.SENDING, CampaignStatus.PAUSED):
        return 0
    lease = ledger.lease(timezone.now())
    chunk = settings.PREPARE_CHUNK_SIZE
    written = 0
    if abtest.testing(campaign):
        # An A/B test: only its share now; the rest with the winner (below, once chosen).
        written = ab_phases.write_test_rows(campaign, lease)
    elif warmup.holds():
        # A new sending profile warming up: today's share now (or at each reader's hour, with
        # its waves), the rest a day at a time.
        if is_local(campaign):
            waves.ledger_moments(campaign)
        written = warmup.write_rows(campaign, audience(campaign), lease)
    else:
        # One query streamed through a server-side cursor: the audience is read once, in pk
        # order, PREPARE_CHUNK_SIZE ids at a time (a LIMIT query per chunk would rescan the rest
        # every time).
        subscribers = audience(campaign).values_list("pk", flat=True).iterator(chunk_size=chunk)
        moments = waves.ledger_moments(campaign) if is_local(campaign) else None
        for ids in itertools.batched(subscribers, chunk):
            written += ledger.write_rows(
                campaign_id, list(ids), lease, moments, variant=campaign.winner
            )
    Campaign.objects.filter(pk=campaign_id, prepared_at=None).update(prepared_at=timezone.now())
    if campaign.status == CampaignStatus.SENDING:
        # Every row still waiting to go, whether just written or by an earlier run (a local-time
        # campaign's rows go with their waves).
        waiting = (
            Delivery.objects.filter(campaign_id=campaign_id, status=Status.QUEUED, send_after=None)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        for ids in itertools.batched(waiting.iterator(chunk_size=chunk), chunk):
            enqueue.batches(list(ids))
        waves.queue_due_waves(campaign_id=campaign_id)
    return written


def finish_campaigns() -> int:
    """A sending campaign whose ledger is complete and has nothing queued or sending is sent."""
    finished = 0
    now = timezone.now()
    ready = Campaign.objects.filter(status=CampaignStatus.SENDING).exclude(prepared_at=None)
    ready = ready.exclude(abtest.WINNER_OWED)  # an A/B test's rest is still to come
    # A series step's campaign never finishes: its series writes rows as readers reach it.
    for campaign in ready.filter(series_step=None):
        pending = Delivery.objects.filter(
            campaign=campaign, status__in=[Status.QUEUED, Status.SENDING]
        )
        if pending.exists():
            continue
        try:
            transition(campaign, CampaignStatus.SENT, **count_fields(campaign_counts(campaign)))
        except IllegalTransition:
            continue
        finished += 1
    ledger.skip_abandoned(now)
    return finished


def campaign_resume(*, campaign: Campaign) -> Campaign:
    """Paused → sending, and its waiting rows queued at once (the sweeper would find them too, but
    only after a quiet lease period). Raises IllegalTransition like transition()."""
    with transaction.atomic():
        transition(campaign, CampaignStatus.SENDING, pause_reason="")
        # A sender saw the figures that paused it: the watch starts a fresh window.
        reputation.forget(campaign.pk)
        if campaign.prepared_at is None:
            enqueue.preparation(campaign.pk)
        else:
            # Rows of waves still to come wait for their wave.
            waiting = Delivery.objects.filter(campaign=campaign, status=Status.QUEUED)
            requeue(waiting.exclude(send_after__gt=timezone.now()))
    return campaign


def halt(campaign: Campaign, reason: str) -> bool:
    """Sending → paused by the pipeline itself, for a failure that retrying cannot fix (the
    campaign cannot be rendered): the reason is shown in admin until a sender resumes it."""
    try:
        transition(campaign, CampaignStatus.PAUSED, pause_reason=reason[:2000])
    except IllegalTransition:
        return False
    return True


def requeue(rows, now: datetime | None = None) -> int:
    """Give `rows` a fresh lease and new send_batch tasks, a chunk at a time in pk order."""
    now = now or timezone.now()
    total, after = 0, 0
    chunk = settings.PREPARE_CHUNK_SIZE
    while True:
        ids = list(rows.filter(pk__gt=after).order_by("pk").values_list("pk", flat=True)[:chunk])
        if not ids:
            return total
        after = ids[-1]
        with transaction.atomic():
            ledger.requeue(ids, now)
            enqueue.batches(ids)
        total += len(ids)


def retry_delivery(delivery_id: int) -> bool:
    """Send a failed delivery again (an operator's decision). False when it is not failed."""
    with transaction.atomic():
        retried = ledger.retry_failed(delivery_id)
        if retried:
            enqueue.batches([delivery_id])
    return retried
