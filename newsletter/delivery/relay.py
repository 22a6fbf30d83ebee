"""The mail server's health, shared by every batch of every worker.

A failure of the relay itself (no connection, a dropped one, a timeout, TLS, 421) is the relay's,
not each recipient's: no row is charged an attempt. The first batch to meet it records the relay
as down (in the shared cache) and every batch then waits together: while it is down, one batch at
a time probes it (a cache lock), the others wait for the next probe. The wait between probes grows
with the outage (a twentieth of how long it has lasted so far, between RELAY_MIN_SECONDS and
RELAY_MAX_SECONDS): a short blip or a burst of 421s costs seconds, and a long outage costs one
connection a minute.
The first message the relay accepts clears it all. Each waiting campaign shows
"waiting for the mail server since HH:MM: <error>" (Campaign.relay_down_since, relay_error).
"""

import random
import time
from datetime import UTC, datetime

from django.core.cache import cache

from newsletter.models import Campaign

SINCE_KEY = "engage:relay:since"
ERROR_KEY = "engage:relay:error"
RETRY_AT_KEY = "engage:relay:retry-at"
PROBE_KEY = "engage:relay:probe"

RELAY_MIN_SECONDS = 2.0
RELAY_MAX_SECONDS = 60.0
RELAY_WAIT_FRACTION = 0.05
# A probing batch that died (its worker killed) frees the probe after this long: longer than a
# connection attempt may take (EMAIL_TIMEOUT).
PROBE_LOCK_SECONDS = 90


def wait_seconds(campaign: Campaign) -> float:
    """0 when this batch may connect (the relay is up, or this batch is its probe); otherwise how
    long to wait before asking again."""
    since = cache.get(SINCE_KEY)
    if since is None:
        return 0.0
    _note(campaign, since, cache.get(ERROR_KEY) or "")
    now = time.time()
    retry_at = cache.get(RETRY_AT_KEY) or now
    if now < retry_at:
        return retry_at - now + random.uniform(0, 1)
    if cache.add(PROBE_KEY, 1, timeout=PROBE_LOCK_SECONDS):
        return 0.0
    return RELAY_MIN_SECONDS + random.uniform(0, 1)


def down(campaign: Campaign, error: str) -> float:
    """The relay failed: record it, and return how long until the next probe."""
    now = time.time()
    cache.add(SINCE_KEY, now, timeout=None)
    since = cache.get(SINCE_KEY) or now
    wait = min(RELAY_MAX_SECONDS, max(RELAY_MIN_SECONDS, RELAY_WAIT_FRACTION * (now - since)))
    cache.set_many({ERROR_KEY: error[:500], RETRY_AT_KEY: now + wait}, timeout=None)
    cache.delete(PROBE_KEY)
    _note(campaign, since, error)
    return wait + random.uniform(0, 1)


def up(campaign: Campaign) -> None:
    """The relay accepted a message: nobody waits any more."""
    if cache.get(SINCE_KEY) is not None:
        cache.delete_many([SINCE_KEY, ERROR_KEY, RETRY_AT_KEY, PROBE_KEY])
    Campaign.objects.filter(pk=campaign.pk).exclude(relay_down_since=None).update(
        relay_down_since=None, relay_error=""
    )


def _note(campaign: Campaign, since: float, error: str) -> None:
    # No updated_at: the note is not an edit (and would make every worker render afresh).
    at = datetime.fromtimestamp(since, tz=UTC)
    Campaign.objects.filter(pk=campaign.pk, relay_down_since=None).update(relay_down_since=at)
    Campaign.objects.filter(pk=campaign.pk).exclude(relay_error=error[:500]).update(
        relay_error=error[:500]
    )
