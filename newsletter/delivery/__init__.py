"""The delivery pipeline: every scheduled campaign to every subscriber, once, fast, through crashes.

The Delivery ledger, not Celery, is the record of what was sent. Celery only carries ids: a task
that is lost, redelivered or run twice changes nothing that the ledger has already settled, because
every step claims its rows with a conditional UPDATE and acts only on what it won.

    start_due_campaigns → prepare → send_batch (× n) → finish_campaigns
                                       ↑
                            sweep_expired_leases (crashed workers, lost tasks)

    lifecycle   start, prepare, resume, retry a row, finish (campaign states)
    ab_phases   an A/B subject test's phases in the ledger
    ledger      every write to Delivery rows (all raw SQL)
    batch       send_batch: the send loop, a step per function
    bodies      rendered bodies per process
    senders/    SMTP fast path, any Django backend; the failure classes
    retries     when a transient failure of a recipient is tried again, and given up
    relay       the mail server's own failures (and its throttling): waiting together, one probe
    reputation  a sending campaign's complaint and bounce rates: it pauses itself past them
    sweeper     lost work found again
    broker      whether the broker's task queue is empty (a Redis that lost it)
    progress    counts and live figures
    enqueue     every task queued, after commit (the only imports of tasks)
    waves       local-time sending: a wave per moment, handed out when it comes
    warmup      a new sending profile's daily ramp: today's share, most engaged first

May import newsletter.campaigns and everything below it (the pipeline never reaches up into
series, engagement or inbound); `enqueue` is its only way to the tasks.
"""

from newsletter.delivery.batch import BATCH_TIME_BUDGET_SECONDS, send_batch
from newsletter.delivery.lifecycle import (
    campaign_resume,
    finish_campaigns,
    prepare,
    retry_delivery,
    start_due_campaigns,
)
from newsletter.delivery.progress import campaign_counts, progress, waiting_note
from newsletter.delivery.retries import RETRY_BASE_SECONDS, retry_delay
from newsletter.delivery.sweeper import sweep_expired_leases
from newsletter.delivery.waves import queue_due_waves

__all__ = [
    "BATCH_TIME_BUDGET_SECONDS",
    "RETRY_BASE_SECONDS",
    "campaign_counts",
    "finish_campaigns",
    "prepare",
    "progress",
    "queue_due_waves",
    "campaign_resume",
    "retry_delay",
    "retry_delivery",
    "send_batch",
    "start_due_campaigns",
    "sweep_expired_leases",
    "waiting_note",
]
