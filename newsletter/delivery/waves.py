"""Local-time sending in the pipeline: a campaign that goes "at 09:00 on 29 March in each reader's
own time zone" (scheduled by newsletter.campaigns.scheduling).

Every reader's wall time becomes one moment; readers whose moments coincide form a wave (a Wave
row, one or more zones). The campaign starts, and its ledger is written, at its first wave; each
ledger row then carries the moment it may go (`Delivery.send_after`), fixed from the reader's
zone as it was at preparation, so a reader who moves zone mid-campaign still has one row and gets
one email. The beat hands each wave to the workers once, just before its moment (with a
countdown); ledger.claim refuses a row before its moment, so an early or duplicated task, a
resume or the sweeper cannot send early. A paused campaign's waves wait; a cancelled one's are
skipped like any queued row.
"""

import itertools
from collections import defaultdict
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from newsletter.campaigns.scheduling import audience_zones, moment, plan
from newsletter.delivery import enqueue, ledger
from newsletter.models import Campaign, Delivery, Wave

Status = Delivery.Status

# A wave is handed to the workers this long before its moment, as tasks with a countdown, so it
# goes on the second rather than at the next minute's tick. Far inside Redis's visibility
# timeout, so the held tasks are not redelivered while they wait.
LEAD = timedelta(seconds=90)


# --- Preparation and the beat -------------------------------------------------------------------


def ledger_moments(campaign: Campaign) -> ledger.Moments:
    """Each zone of the campaign's audience with its moment, as preparation begins, for the
    ledger's rows; one Wave per moment (the organisation's always among them: a reader whose zone
    is unknown by then goes with it). A reader's moment is fixed with their row: one row, one
    email, whatever their zone later."""
    on, at = campaign.local_date, campaign.local_time
    values = audience_zones(campaign)
    for when, zones in plan(on, at, [*values, ""]).items():
        wave, created = Wave.objects.get_or_create(
            campaign=campaign, send_after=when, defaults={"zones": zones}
        )
        if not created and set(zones) - set(wave.zones):  # a re-run, the audience moved
            Wave.objects.filter(pk=wave.pk).update(zones=sorted({*wave.zones, *zones}))
    return ledger.Moments(
        by_zone={value: moment(on, at, value) for value in values},
        otherwise=moment(on, at, ""),
    )


def queue_due_waves(now: datetime | None = None, campaign_id: int | None = None) -> int:
    """Hand every wave of a sending campaign whose moment is within LEAD to the workers, each
    once (a conditional UPDATE: two ticks cannot both win). Returns how many waves."""
    now = now or timezone.now()
    due = Wave.objects.filter(
        queued_at=None, send_after__lte=now + LEAD, campaign__status=Campaign.Status.SENDING
    )
    if campaign_id is not None:
        due = due.filter(campaign_id=campaign_id)
    queued = 0
    for wave in due.order_by("send_after", "pk"):
        with transaction.atomic():
            if not Wave.objects.filter(pk=wave.pk, queued_at=None).update(queued_at=now):
                continue
            rows = Delivery.objects.filter(
                campaign_id=wave.campaign_id, send_after=wave.send_after, status=Status.QUEUED
            ).order_by("pk")
            # A second late rather than a moment early: a task that fires before its rows' moment
            # (a timer's rounding) is refused by the claim, and they would wait for the sweeper.
            delay = (wave.send_after - now).total_seconds() + 1
            chunk = settings.PREPARE_CHUNK_SIZE
            for ids in itertools.batched(rows.values_list("pk", flat=True).iterator(chunk), chunk):
                enqueue.batches_later(list(ids), delay)
        queued += 1
    return queued


# --- Progress -----------------------------------------------------------------------------------


def wave_progress(campaign: Campaign) -> list[dict]:
    """Each wave with readers: its moment, zones, and its rows by status (waiting = queued or
    sending)."""
    counts: dict[datetime, dict[str, int]] = defaultdict(dict)
    by_status = (
        Delivery.objects.filter(campaign=campaign)
        .exclude(send_after=None)
        .values_list("send_after", "status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for when, status, n in by_status:
        counts[when][status] = n
    waves = []
    for wave in Wave.objects.filter(campaign=campaign).order_by("send_after"):
        found = counts.get(wave.send_after)
        if not found:
            continue
        waiting = found.get(Status.QUEUED, 0) + found.get(Status.SENDING, 0)
        sent = found.get(Status.SENT, 0)
        waves.append(
            {
                "at": wave.send_after,
                "zones": wave.zones,
                "queued": waiting,
                "sent": sent,
                "other": sum(found.values()) - waiting - sent,  # failed, bounced, skipped
                "handed_out": wave.queued_at is not None,
            }
        )
    return waves
