"""When a transient failure is tried again, and when it is given up."""

import random

from django.conf import settings

# Transient failures retry after RETRY_BASE_SECONDS × 2^(attempt-1), at most RETRY_MAX_SECONDS,
# plus up to RETRY_BASE_SECONDS of jitter so that a recovering server is not hit by every batch
# at the same instant. Seconds to minutes: a long ETA would sit in the worker's memory and be
# redelivered by Redis after the visibility timeout.
RETRY_BASE_SECONDS = 5
RETRY_MAX_SECONDS = 300


def retry_delay(attempts: int) -> float:
    backoff = min(RETRY_MAX_SECONDS, RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1))
    return backoff + random.uniform(0, RETRY_BASE_SECONDS)


def gives_up(attempts: int) -> bool:
    """Whether a row that failed transiently `attempts` times is failed for good."""
    return attempts >= settings.DELIVERY_MAX_ATTEMPTS
