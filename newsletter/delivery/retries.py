"""When a transient failure of a recipient is tried again, and when it is given up.

A retry budget in time, as an MTA keeps one (Postfix's maximal_queue_lifetime): a row keeps being
retried with capped backoff until DELIVERY_RETRY_HORIZON has passed since its first try. Failures
of the mail server itself are not charged to rows at all (see relay.py).
"""

import random
from datetime import datetime, timedelta

from django.conf import settings

# Transient failures retry after RETRY_BASE_SECONDS × 2^(attempt-1), at most RETRY_MAX_SECONDS,
# plus up to RETRY_BASE_SECONDS of jitter so that a recovering server is not hit by every batch
# at the same instant. Ten minutes at most: the task waits in a worker's memory (Redis ETA), well
# inside the broker's visibility timeout.
RETRY_BASE_SECONDS = 5
RETRY_MAX_SECONDS = 600


def retry_delay(attempts: int) -> float:
    backoff = min(RETRY_MAX_SECONDS, RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1))
    return backoff + random.uniform(0, RETRY_BASE_SECONDS)


def gives_up(first_attempt_at: datetime | None, now: datetime) -> bool:
    """Whether a row first tried at `first_attempt_at` is past its retry horizon."""
    if first_attempt_at is None:
        return False
    return now - first_attempt_at >= timedelta(seconds=settings.DELIVERY_RETRY_HORIZON)


def horizon_text() -> str:
    hours, seconds = divmod(settings.DELIVERY_RETRY_HORIZON, 3600)
    return f"{hours} h" if hours and not seconds else f"{settings.DELIVERY_RETRY_HORIZON} s"
