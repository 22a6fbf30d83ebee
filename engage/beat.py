"""Beat's heartbeat: a dead beat means nothing is ever sent, so /healthz and /metrics must see it.

Beat runs this scheduler (settings.CELERY_BEAT_SCHEDULER); each pass of its loop records the time
in the shared cache, at most every HEARTBEAT_EVERY seconds. Beat wakes at least every
CELERY_BEAT_MAX_LOOP_INTERVAL seconds, so a heartbeat older than BEAT_STALE_SECONDS means beat
has stopped (or cannot reach the cache, which the tasks it queues need as well).
"""

import logging
import time

from celery.beat import PersistentScheduler
from django.core.cache import cache

logger = logging.getLogger(__name__)
KEY = "engage:beat:last-tick"
HEARTBEAT_EVERY = 10.0


def record_tick(at: float | None = None) -> None:
    cache.set(KEY, time.time() if at is None else at, timeout=None)


def seconds_since_tick() -> float | None:
    """Seconds since beat's last heartbeat; None if it never ticked (or the cache was emptied)."""
    last = cache.get(KEY)
    return None if last is None else max(0.0, time.time() - float(last))


class HeartbeatScheduler(PersistentScheduler):
    _last_heartbeat = 0.0

    def tick(self, *args, **kwargs):
        now = time.monotonic()
        if now - self._last_heartbeat >= HEARTBEAT_EVERY:
            try:
                record_tick()
                self._last_heartbeat = now
            except Exception as error:  # the cache is down: /healthz will say beat is late
                logger.warning("Beat could not record its heartbeat: %s", error)
        return super().tick(*args, **kwargs)
