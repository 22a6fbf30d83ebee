"""The global send rate: SEND_RATE_PER_SECOND messages a second across all workers on all machines.

Celery's own rate_limit counts per worker process; the promise to the mail server (or ESP) is for
all of them together, so the budget lives in Redis: a token bucket refilled by a Lua script that
reads Redis's own clock (machines' clocks may disagree). The broker's Redis is used because every
worker is connected to it by definition. With a non-Redis broker (one machine in development) the
bucket is kept in the process; 0 means unlimited and touches nothing.
"""

import threading
import time
from functools import cache

import redis
from django.conf import settings

KEY = "engage:sendrate"

# A worker takes up to a tenth of a second's budget at a time: one round trip per few messages
# instead of one per message, and a burst no bigger than that.
TAKE_FRACTION = 0.1

_BUCKET = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local granted = math.min(want, math.floor(tokens))
tokens = tokens - granted
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], 60)
if granted > 0 then
  return {granted, 0}
end
return {0, math.ceil((1 - tokens) / rate * 1000)}
"""


class RateLimiter:
    """Hands out permission to send; `take(n)` blocks until at least one message may go."""

    def __init__(self, rate: float, redis_url: str | None):
        self.rate = rate
        self.burst = max(1, int(rate * TAKE_FRACTION))
        self.redis_url = redis_url
        self._script = None
        self._tokens = float(self.burst)
        self._at = time.monotonic()
        self._lock = threading.Lock()

    def take(self, want: int = 1) -> int:
        """Wait until sending is allowed, and return how many messages (1..want) may go now."""
        if self.rate <= 0:
            return want
        want = max(1, min(want, self.burst))
        while True:
            granted, wait_ms = self._try(want)
            if granted:
                return granted
            time.sleep(max(wait_ms, 1) / 1000)

    def _try(self, want: int) -> tuple[int, int]:
        if self.redis_url is None:
            return self._try_locally(want)
        if self._script is None:
            client = redis.Redis.from_url(self.redis_url, socket_timeout=5)
            self._script = client.register_script(_BUCKET)
        granted, wait_ms = self._script(keys=[KEY], args=[self.rate, self.burst, want])
        return int(granted), int(wait_ms)

    def _try_locally(self, want: int) -> tuple[int, int]:
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
            self._at = now
            granted = min(want, int(self._tokens))
            self._tokens -= granted
            if granted:
                return granted, 0
            return 0, int((1 - self._tokens) / self.rate * 1000) + 1


@cache
def _limiter(rate: float, broker_url: str) -> RateLimiter:
    redis_url = broker_url if broker_url.startswith(("redis://", "rediss://")) else None
    return RateLimiter(rate, redis_url)


def limiter() -> RateLimiter:
    """This process's limiter for the current settings."""
    return _limiter(float(settings.SEND_RATE_PER_SECOND), settings.CELERY_BROKER_URL)


# --- Pauses the ESP asks for -----------------------------------------------------------------

PAUSE_KEY = "engage:sendrate:paused"
_paused_until = 0.0  # without Redis: this process's pause, by time.monotonic()


def pause(seconds: float) -> None:
    """Stop every worker's calls for `seconds` (an ESP's 429 with Retry-After). A longer pause
    already in place is kept."""
    global _paused_until
    redis_url = _redis_url()
    if redis_url is None:
        _paused_until = max(_paused_until, time.monotonic() + seconds)
        return
    milliseconds = max(1, int(seconds * 1000))
    client = _client(redis_url)
    if client.pttl(PAUSE_KEY) < milliseconds:
        client.set(PAUSE_KEY, "1", px=milliseconds)


def paused_for() -> float:
    """Seconds left of the current pause; 0 when calls may go."""
    redis_url = _redis_url()
    if redis_url is None:
        return max(0.0, _paused_until - time.monotonic())
    return max(0, _client(redis_url).pttl(PAUSE_KEY)) / 1000


def _redis_url() -> str | None:
    url = settings.CELERY_BROKER_URL
    return url if url.startswith(("redis://", "rediss://")) else None


@cache
def _client(redis_url: str) -> redis.Redis:
    return redis.Redis.from_url(redis_url, socket_timeout=5)
