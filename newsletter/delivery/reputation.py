"""A sending campaign watches its own complaint and bounce rates, and pauses itself past the
thresholds mailbox providers enforce (Gmail and Yahoo: complaints under 0.3%).

What goes out and what comes back is counted per campaign in the shared cache, in time buckets
that together make a rolling window (REPUTATION_WINDOW_SECONDS): a batch adds what it sent every
half second or so (never a query per message), and every door mail comes back through (a bounce
or complaint by mail, a webhook, a refusal at SMTP time) adds its one event. Once at least
REPUTATION_MIN_SENT messages went out in the window, a rate past its threshold pauses the campaign
through the one state transition, with the reason and figures on its page, an audit entry, and an
email to every staff member who may send. Only a sender's explicit resume starts it again, and the
resume starts a fresh window (the figures that paused it were seen).

Three rates, because who failed matters: a complaint; a hard bounce for the recipient's address
(a list that has gone stale); a refusal of our own sending (authentication, reputation, policy,
content), which suppresses nobody but says the whole send is being refused.
"""

import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from newsletter.mail.emails import make_message
from newsletter.models import Campaign, Delivery
from newsletter.staff import audit, permissions

log = logging.getLogger(__name__)

SENT, COMPLAINED, BOUNCED, REJECTED = "sent", "complained", "bounced", "rejected"
COUNTED = (SENT, COMPLAINED, BOUNCED, REJECTED)
# The window is kept as this many buckets; it rolls forward one bucket at a time.
BUCKETS = 12
# How long a resume is remembered: longer than any report about its earlier messages comes back.
RESUMED_KEPT_SECONDS = 30 * 24 * 3600


@dataclass(frozen=True)
class Limit:
    counted: str
    setting: str
    what: str  # plain words for the campaign page and the email


LIMITS = (
    Limit(COMPLAINED, "REPUTATION_COMPLAINT_RATE", "complaints (marked as spam)"),
    Limit(BOUNCED, "REPUTATION_HARD_BOUNCE_RATE", "hard bounces (addresses that do not exist)"),
    Limit(
        REJECTED,
        "REPUTATION_REJECTION_RATE",
        "refusals of our sending (authentication, reputation, policy or content)",
    ),
)


@dataclass(frozen=True)
class Figures:
    sent: int
    complained: int = 0
    bounced: int = 0
    rejected: int = 0

    def rate(self, counted: str) -> float:
        return getattr(self, counted) / self.sent if self.sent else 0.0


# --- Counting ------------------------------------------------------------------------------------


def _bucket_seconds() -> int:
    return max(1, settings.REPUTATION_WINDOW_SECONDS // BUCKETS)


def _key(campaign_id: int, counted: str, bucket: int) -> str:
    return f"engage:reputation:{campaign_id}:{counted}:{bucket}"


def count(campaign_id: int, counted: str, n: int = 1) -> None:
    """Add `n` to this campaign's `counted` in the current bucket."""
    if n <= 0 or not settings.REPUTATION_WATCH:
        return
    size = _bucket_seconds()
    key = _key(campaign_id, counted, int(time.time()) // size)
    timeout = size * (BUCKETS + 1)
    # add() then incr(): incr alone refuses a missing key, and add never resets a present one.
    cache.add(key, 0, timeout=timeout)
    try:
        cache.incr(key, n)
    except ValueError:  # expired between the two calls
        cache.add(key, n, timeout=timeout)


def figures(campaign_id: int) -> Figures:
    """What the campaign sent and got back within the rolling window."""
    size = _bucket_seconds()
    now = int(time.time()) // size
    keys = {
        _key(campaign_id, counted, bucket): counted
        for counted in COUNTED
        for bucket in range(now - BUCKETS + 1, now + 1)
    }
    totals = dict.fromkeys(COUNTED, 0)
    for key, value in cache.get_many(list(keys)).items():
        totals[keys[key]] += int(value)
    return Figures(**totals)


def came_back(delivery_id: int, counted: str) -> None:
    """A campaign's message came back as `counted` (COMPLAINED, BOUNCED or REJECTED), through any
    door: counted once the receiving transaction commits (a source that offers it again after a
    rollback is not counted twice), then judged. A message sent before a sender resumed the
    campaign was part of what they saw: what comes back about it later is not counted again."""

    def judge():
        found = Delivery.objects.filter(pk=delivery_id).values_list("campaign_id", "sent_at")
        campaign_id, sent_at = found.first() or (None, None)
        if campaign_id is None:
            return
        since = cache.get(_since_key(campaign_id))
        if since is not None and sent_at is not None and sent_at.timestamp() < since:
            return
        count(campaign_id, counted)
        watch(campaign_id)

    transaction.on_commit(judge)


def _since_key(campaign_id: int) -> str:
    return f"engage:reputation:{campaign_id}:since"


def forget(campaign_id: int) -> None:
    """A fresh window: a sender resumed the campaign, having seen the figures that paused it."""
    cache.set(_since_key(campaign_id), time.time(), timeout=RESUMED_KEPT_SECONDS)
    size = _bucket_seconds()
    now = int(time.time()) // size
    cache.delete_many(
        [
            _key(campaign_id, counted, bucket)
            for counted in COUNTED
            for bucket in range(now - BUCKETS, now + 1)
        ]
    )


# --- Judging -------------------------------------------------------------------------------------


def breach(found: Figures) -> str:
    """Why these figures must stop the campaign, in plain words; "" while they are fine."""
    minimum = settings.REPUTATION_MIN_SENT
    if found.sent < minimum:
        return ""
    reasons = []
    for limit in LIMITS:
        rate, allowed = found.rate(limit.counted), getattr(settings, limit.setting)
        if rate > allowed:
            reasons.append(
                f"{limit.what}: {getattr(found, limit.counted):,} of {found.sent:,} sent "
                f"({rate:.2%}; the limit is {allowed:.2%})"
            )
    if not reasons:
        return ""
    window = settings.REPUTATION_WINDOW_SECONDS // 60
    return (
        f"Paused automatically to protect the sender's reputation: in the last {window} minutes, "
        + "; ".join(reasons)
        + ". Mailbox providers throttle or block senders past these rates. Look at the "
        "campaign's bounces and complaints, then resume it if it should go on."
    )


def watch(campaign_id: int) -> bool:
    """Pause the campaign if it is sending and its figures are past a threshold. True if this
    call paused it (only one caller wins the transition, so staff get one email)."""
    if not settings.REPUTATION_WATCH:
        return False
    reason = breach(figures(campaign_id))
    if not reason:
        return False
    campaign = Campaign.objects.filter(pk=campaign_id, status=Campaign.Status.SENDING).first()
    if campaign is None:
        return False
    return pause(campaign, reason)


def pause(campaign: Campaign, reason: str) -> bool:
    from newsletter.delivery import lifecycle  # lifecycle.resume asks this module to forget

    found = figures(campaign.pk)
    with transaction.atomic():
        if not lifecycle.halt(campaign, reason):
            return False
        audit.record(
            None,
            "campaign paused automatically",
            f"campaign #{campaign.pk}",
            reason=reason,
            sent=found.sent,
            complained=found.complained,
            bounced=found.bounced,
            rejected=found.rejected,
        )
        transaction.on_commit(lambda: tell_senders(campaign, reason))
    log.warning("campaign %s paused: %s", campaign.pk, reason)
    return True


def tell_senders(campaign: Campaign, reason: str) -> int:
    context = {
        "campaign": campaign,
        "reason": reason,
        "url": f"{settings.SITE_URL}/admin/newsletter/campaign/{campaign.pk}/change/",
    }
    sent = 0
    for user in permissions.holders(permissions.SEND_CAMPAIGN).exclude(email=""):
        try:
            make_message("campaign-paused", user.email, context).send()
        except OSError:
            # The mail server is down: the pause and its reason are on the campaign's page.
            log.exception("could not tell %s that campaign %s paused", user.pk, campaign.pk)
            continue
        sent += 1
    return sent
