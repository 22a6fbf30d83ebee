"""What the broker holds: whether a deployment's Celery queue is empty right now.

Redis without persistence (this machine's, many hosted plans) loses every queued task when it
restarts. The ledger still knows which rows wait; the sweeper uses this to tell "still queued
behind other tasks" from "their tasks are gone".
"""

import redis
from django.conf import settings

# kombu's Redis transport keeps a queue's priorities 3, 6 and 9 in lists of their own.
_PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")


def queue_depth() -> int | None:
    """Tasks waiting in the deployment's queue, None when that cannot be told (not Redis, or
    Redis does not answer)."""
    url = settings.CELERY_BROKER_URL
    if not url.startswith(("redis://", "rediss://")):
        return None
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    try:
        client = redis.Redis.from_url(url, socket_timeout=5)
        with client.pipeline() as pipe:
            for suffix in _PRIORITY_SUFFIXES:
                pipe.llen(queue + suffix)
            return sum(pipe.execute())
    except redis.RedisError:
        return None


def queue_is_empty() -> bool | None:
    """True when the task queue holds nothing, None when that cannot be told."""
    depth = queue_depth()
    return None if depth is None else depth == 0
