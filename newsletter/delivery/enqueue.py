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


def preparation(campaign_id: int) -> None:
    transaction.on_commit(partial(tasks.prepare_campaign.delay, campaign_id))
