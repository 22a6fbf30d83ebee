"""The series tick (every minute, from beat): readers who left are stopped, and each due step goes
into the Delivery ledger.

A due enrolment is taken FOR UPDATE SKIP LOCKED (two ticks at once share the work, never double
it); its step's row is written and the enrolment moved on in the same transaction, and the rows'
send_batch tasks are queued once that commits. A worker killed anywhere loses nothing: before the
commit nothing happened; after it, the rows are queued with a lease and the delivery sweeper hands
them to new tasks if theirs never ran.
"""

import itertools
from collections import defaultdict
from datetime import datetime

from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from newsletter.delivery import enqueue, ledger, warmup
from newsletter.models import Delivery, Enrolment, Series, SeriesStep, Subscriber
from newsletter.series.timing import due_at
from newsletter.subscribers import policy

# Enrolments taken per transaction.
CHUNK = 500


def run_due_steps(now: datetime | None = None) -> int:
    """Stop those who left, then send every due step. How many rows were written."""
    now = now or timezone.now()
    stop_departed(now)
    written = 0
    while (count := send_due_chunk(now)) is not None:
        written += count
    return written


def stop_departed(now: datetime) -> int:
    """A reader who unsubscribed, bounced or complained (or was suppressed) stops at once; the
    reason is their status. Their rows already queued are skipped by the batch (`reader_left`)."""
    status = Subscriber.objects.filter(pk=OuterRef("subscriber_id")).values("status")[:1]
    left = ~policy.mailable("subscriber__")
    return Enrolment.objects.filter(left, status=Enrolment.Status.ACTIVE).update(
        status=Enrolment.Status.STOPPED,
        stopped_reason=Subquery(status),
        next_at=None,
        updated_at=now,
    )


def _due(now: datetime):
    # A paused series' due steps wait; so do a paused reader's ("nothing before this date").
    return (
        Enrolment.objects.filter(
            status=Enrolment.Status.ACTIVE,
            next_at__lte=now,
            next_step__isnull=False,
            series__status=Series.Status.ACTIVE,
        )
        .filter(
            policy.mailable("subscriber__"),
            policy.not_paused("subscriber__", timezone.localdate(now)),
        )
        .order_by("next_at", "pk")
    )


def send_due_chunk(now: datetime) -> int | None:
    """Up to CHUNK due enrolments: their step's rows written, each moved on. None when nothing
    was due (any more)."""
    with transaction.atomic():
        enrolments = list(
            _due(now)
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("subscriber", "next_step")[:CHUNK]
        )
        if not enrolments:
            return None
        written = 0
        lease = ledger.lease(now)
        steps = _following_steps({e.series_id for e in enrolments})
        by_step = defaultdict(list)
        for enrolment in enrolments:
            by_step[enrolment.next_step].append(enrolment)
        moves = defaultdict(list)  # {(the step after, when it is due): enrolment ids}
        for step, group in by_step.items():
            readers = [e.subscriber_id for e in group]
            if warmup.holds():
                # A new sending profile warming up: what today's allowance leaves waits.
                chosen = Subscriber.objects.filter(pk__in=readers)
                written += warmup.write_rows(step.campaign, chosen, lease)
            else:
                written += ledger.write_rows(step.campaign_id, readers, lease)
            after = steps.get(step.pk)
            for enrolment in group:
                due = None if after is None else due_at(after, enrolment.subscriber, now)
                moves[after, due].append(enrolment.pk)
            waiting = Delivery.objects.filter(
                campaign_id=step.campaign_id,
                subscriber_id__in=readers,
                status=Delivery.Status.QUEUED,
                send_after=None,
            )
            enqueue.batches(sorted(waiting.values_list("pk", flat=True)))
        # One UPDATE per (step, moment), which readers of a zone share: bulk_update's CASE per
        # row cost seconds per thousand enrolments.
        for (after, due), ids in moves.items():
            status = Enrolment.Status.FINISHED if after is None else Enrolment.Status.ACTIVE
            Enrolment.objects.filter(pk__in=ids).update(
                status=status, next_step=after, next_at=due, updated_at=now
            )
    return written


def _following_steps(series_ids: set[int]) -> dict[int, SeriesStep | None]:
    """{step id: the step after it (None for the last)} for these series."""
    steps = SeriesStep.objects.filter(series_id__in=series_ids)
    steps = steps.order_by("series_id", "position", "pk")
    following = {}
    for _, group in itertools.groupby(steps, key=lambda step: step.series_id):
        group = list(group)
        for step, after in zip(group, [*group[1:], None], strict=True):
            following[step.pk] = after
    return following
