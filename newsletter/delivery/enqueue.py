"""Every task the delivery pipeline queues, queued once the current transaction commits (so a
worker never looks for a row that is not committed yet). The package's only imports of
newsletter.tasks are here."""

from functools import partial

from django.conf import settings
from django.db import transaction

from newsletter import tasks


def batches(ids: list[int]) -> None:
    """One send_batch task per SEND_BATCH_SIZE of `ids`."""
    size = settings.SEND_BATCH_SIZE
    for start in range(0, len(ids), size):
        transaction.on_commit(partial(tasks.send_batch.delay, ids[start : start + size]))


def batches_later(ids: list[int], delay: float) -> None:
    """send_batch tasks for `ids` in `delay` seconds: a fresh task each (a retry of the same task
    would spend the Celery retry budget kept for database outages)."""
    size = settings.SEND_BATCH_SIZE
    for start in range(0, len(ids), size):
        chunk = ids[start : start + size]
        transaction.on_commit(
            partial(tasks.send_batch.apply_async, args=[chunk], countdown=max(0.0, delay))
        )


def preparation(campaign_id: int) -> None:
    transaction.on_commit(partial(tasks.prepare_campaign.delay, campaign_id))


def start(campaign_id: int) -> None:
    transaction.on_commit(partial(tasks.start_campaign.delay, campaign_id))
