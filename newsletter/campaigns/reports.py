"""What happened after a send, and how the list grows: aggregations over the ledger.

Every number comes from Delivery rows (and their Clicks and subscribers), so a report is true while
a campaign is still sending. Opens and clicks exist only for campaigns that tracked them and for
readers who allowed it: they are a lower bound, and the report says so.
"""

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Exists, F, OuterRef, Q
from django.db.models.functions import TruncDay, TruncHour, TruncWeek
from django.utils import timezone

from newsletter.campaigns import abtest
from newsletter.campaigns.snapshot import frozen
from newsletter.models import (
    Campaign,
    CampaignPost,
    Click,
    Delivery,
    InboundMessage,
    Interest,
    Rsvp,
    Subscriber,
    WebhookEvent,
)

# A campaign's timeline is hourly while its events fit in this span, daily after it.
HOURLY_SPAN = timedelta(hours=72)
MAX_DAYS = 90

# The rates mailbox providers act on: Gmail and Yahoo's sender rules hold spam complaints under
# 0.3%, and a bounce rate above 5% gets a sender throttled or blocked by most of them.
COMPLAINT_RATE_LIMIT = 0.003
BOUNCE_RATE_LIMIT = 0.05


@dataclass(frozen=True)
class Series:
    """Counts per time bucket: `buckets` are the starts, each series has one value per bucket."""

    buckets: list[datetime]
    series: dict[str, list[int]]
    unit: str  # "hour", "day" or "week"


@dataclass(frozen=True)
class LinkClicks:
    post_title: str
    url: str
    readers: int  # distinct deliveries that clicked it


# A reader's server refused our mail for a reason on our side (newsletter.inbound.bounces).
_refused = InboundMessage.objects.filter(
    delivery=OuterRef("pk"), who_failed=InboundMessage.WhoFailed.SENDER
)
# The same, reported by an ESP (newsletter.inbound.webhooks.REFUSED).
_refused_by_esp = WebhookEvent.objects.filter(delivery=OuterRef("pk"), event_type="refused")


def campaign_summary(*, campaign_id: int) -> dict[str, int]:
    """Recipients and what became of their messages, one number each."""
    deliveries = Delivery.objects.filter(campaign_id=campaign_id).exclude(
        status=Delivery.Status.SKIPPED
    )
    return deliveries.aggregate(
        recipients=Count("id"),
        sent=Count("id", filter=Q(sent_at__isnull=False)),
        delivered=Count("id", filter=Q(delivered_at__isnull=False)),
        opened=Count("id", filter=Q(opened_at__isnull=False)),
        clicked=Count("id", filter=Q(clicked_at__isnull=False)),
        bounced=Count("id", filter=Q(status=Delivery.Status.BOUNCED)),
        failed=Count("id", filter=Q(status=Delivery.Status.FAILED)),
        refused=Count("id", filter=Q(Exists(_refused)) | Q(Exists(_refused_by_esp))),
        complained=Count("id", filter=Q(complained_at__isnull=False)),
        unsubscribed=Count("id", filter=_unsubscribed_after_send()),
    )


@dataclass(frozen=True)
class SubjectTest:
    """An A/B subject test's figures: each variant's test, its winner, and the rest it went to."""

    variants: list[abtest.VariantFigures]
    note: str  # whether the figures call a winner, and by which rule
    winner: str
    rest: int  # readers who got the winner after the test


def campaign_subject_test(*, campaign: Campaign) -> SubjectTest | None:
    """None when the campaign has no A/B test (or was never scheduled)."""
    if not abtest.is_test(campaign) or campaign.status == Campaign.Status.DRAFT:
        return None
    variants = abtest.figures(campaign, frozen(campaign))
    rest = 0
    if campaign.test_sent_at is not None:
        rest = Delivery.objects.filter(
            campaign=campaign, status=Delivery.Status.SENT, created_at__gt=campaign.test_sent_at
        ).count()
    return SubjectTest(
        variants=variants,
        note=abtest.confidence_note(variants),
        winner=campaign.winner,
        rest=rest,
    )


def campaign_warnings(summary: dict[str, int]) -> list[str]:
    """What a sender must hear: the rates at or above the providers' limits."""
    sent = summary["sent"]
    if not sent:
        return []
    warnings = []
    complaints = summary["complained"] / sent
    if complaints >= COMPLAINT_RATE_LIMIT:
        warnings.append(
            f"Complaint rate {100 * complaints:.2f}% is at or above "
            f"{100 * COMPLAINT_RATE_LIMIT:.1f}%: mailbox providers will send this list to spam."
        )
    if summary.get("refused"):
        warnings.append(
            f"{summary['refused']} of the readers' mail servers refused this campaign for a reason"
            " on our side (authentication, reputation, policy, content or size). Nobody was"
            " suppressed for it: the failed deliveries show each server's words; fix the sending"
            " setup, then retry them."
        )
    bounces = summary["bounced"] / sent
    if bounces >= BOUNCE_RATE_LIMIT:
        warnings.append(
            f"Bounce rate {100 * bounces:.1f}% is at or above {100 * BOUNCE_RATE_LIMIT:.0f}%: "
            "mailbox providers throttle or block senders with this many dead addresses."
        )
    return warnings


def campaign_link_clicks(*, campaign_id: int) -> list[LinkClicks]:
    """Clicks per post and URL, most clicked first."""
    rows = (
        Click.objects.filter(delivery__campaign_id=campaign_id)
        .values("post__title", "url")
        .annotate(readers=Count("delivery", distinct=True))
        .order_by("-readers", "post__title", "url")
    )
    return [LinkClicks(row["post__title"] or "", row["url"], row["readers"]) for row in rows]


@dataclass(frozen=True)
class PostAnswers:
    post_title: str
    clicked: int  # readers who clicked any of its links (tracked readers only)
    yes: int
    no: int
    waitlist: int
    count_me_in: int
    takes_answers: bool


def campaign_post_answers(*, campaign_id: int) -> list[PostAnswers]:
    """Per post of the campaign, beside its clicks: the RSVPs and "count me in"s of the
    campaign's recipients (an answer is not tied to one email, so a reader who got two issues
    counts in both)."""
    recipients = Delivery.objects.filter(campaign_id=campaign_id, subscriber_id=OuterRef("pk"))
    readers = Subscriber.objects.filter(Exists(recipients)).values("pk")
    result = []
    for item in CampaignPost.objects.filter(campaign_id=campaign_id).select_related("post"):
        post = item.post
        answers = Rsvp.objects.filter(post=post, subscriber__in=readers).aggregate(
            yes=Count("id", filter=Q(answer=Rsvp.Answer.YES)),
            no=Count("id", filter=Q(answer=Rsvp.Answer.NO)),
            waitlist=Count("id", filter=Q(answer=Rsvp.Answer.WAITLIST)),
        )
        clicked = (
            Click.objects.filter(delivery__campaign_id=campaign_id, post=post)
            .values("delivery")
            .distinct()
            .count()
        )
        result.append(
            PostAnswers(
                post_title=post.title,
                clicked=clicked,
                count_me_in=Interest.objects.filter(post=post, subscriber__in=readers).count(),
                takes_answers=hasattr(post, "engagement"),
                **answers,
            )
        )
    return result


def campaign_timeline(*, campaign_id: int) -> Series:
    """Sent, delivered, opened, clicked and unsubscribed per hour (or per day for a long tail)."""
    deliveries = Delivery.objects.filter(campaign_id=campaign_id)
    fields = {
        "sent": "sent_at",
        "delivered": "delivered_at",
        "opened": "opened_at",
        "clicked": "clicked_at",
        "unsubscribed": "subscriber__unsubscribed_at",
    }
    first_sent = deliveries.filter(sent_at__isnull=False).order_by("sent_at")
    start = first_sent.values_list("sent_at", flat=True).first()
    if start is None:
        return Series([], {name: [] for name in fields}, "hour")
    ends = [
        deliveries.filter(**{f"{field}__gte": start})
        .order_by(f"-{field}")
        .values_list(field, flat=True)
        .first()
        for field in fields.values()
    ]
    end = max([start, *(when for when in ends if when is not None)])
    unit = "hour" if end - start <= HOURLY_SPAN else "day"
    end = min(end, start + timedelta(days=MAX_DAYS))
    trunc = TruncHour if unit == "hour" else TruncDay
    buckets = _buckets(_floor(start, unit), end, unit)
    counted = {}
    for name, field in fields.items():
        rows = (
            deliveries.filter(**{f"{field}__gte": start, f"{field}__lte": end})
            .annotate(bucket=trunc(field))
            .values("bucket")
            .annotate(n=Count("id"))
        )
        by_bucket = {row["bucket"]: row["n"] for row in rows}
        counted[name] = [by_bucket.get(bucket, 0) for bucket in buckets]
    return Series(buckets, counted, unit)


def subscriber_growth(*, weeks: int = 12, now: datetime | None = None) -> Series:
    """Joins, confirmations and unsubscribes per week (weeks start on Monday), oldest first.

    Erased people are gone from these counts: erasure removes the row and its dates.
    """
    now = now or timezone.now()
    first = _floor(now, "week") - timedelta(weeks=weeks - 1)
    buckets = _buckets(first, now, "week")
    fields = {
        "joined": "created_at",
        "confirmed": "confirmed_at",
        "unsubscribed": "unsubscribed_at",
    }
    counted = {}
    for name, field in fields.items():
        rows = (
            Subscriber.objects.filter(**{f"{field}__gte": first})
            .annotate(bucket=TruncWeek(field))
            .values("bucket")
            .annotate(n=Count("id"))
        )
        by_bucket = {row["bucket"]: row["n"] for row in rows}
        counted[name] = [by_bucket.get(bucket, 0) for bucket in buckets]
    return Series(buckets, counted, "week")


CSV_COLUMNS = [
    "delivery",
    "status",
    "sent_at",
    "delivered_at",
    "opened_at",
    "clicked_at",
    "links_clicked",
    "complained_at",
    "unsubscribed_after_send",
]


def write_campaign_csv(*, campaign_id: int, out) -> int:
    """One row per delivery, with no address or name: the results, not the people."""
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    count = 0
    for row in campaign_rows(campaign_id=campaign_id):
        writer.writerow(row)
        count += 1
    return count


def campaign_rows(*, campaign_id: int) -> Iterator[list]:
    rows = (
        Delivery.objects.filter(campaign_id=campaign_id)
        .annotate(
            delivery=F("id"),
            links_clicked=Count("clicks"),
            unsubscribed_after_send=Count("id", filter=_unsubscribed_after_send()),
        )
        .order_by("id")
        .values_list(*CSV_COLUMNS)
    )
    for *values, left in rows.iterator(chunk_size=2000):
        cells = [_iso(value) if isinstance(value, datetime) else value for value in values]
        yield [*cells, "yes" if left else "no"]


def _unsubscribed_after_send() -> Q:
    return Q(sent_at__isnull=False, subscriber__unsubscribed_at__gte=F("sent_at"))


def _iso(value) -> str:
    return value.isoformat() if value else ""


def _floor(moment: datetime, unit: str) -> datetime:
    local = timezone.localtime(moment)
    if unit == "hour":
        local = local.replace(minute=0, second=0, microsecond=0)
    else:
        local = local.replace(hour=0, minute=0, second=0, microsecond=0)
        if unit == "week":
            local -= timedelta(days=local.weekday())
    return local


def _buckets(start: datetime, end: datetime, unit: str) -> list[datetime]:
    """Bucket starts in local time, matching what Trunc* returns with USE_TZ (a local midnight
    stays a local midnight across a clock change)."""
    step = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(weeks=1)}[unit]
    buckets, current = [], start
    tz = timezone.get_current_timezone()
    while current <= end:
        buckets.append(current)
        naive = current.replace(tzinfo=None) + step
        current = _floor(timezone.make_aware(naive, tz), unit)
    return buckets
