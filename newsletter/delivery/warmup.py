"""Warm-up: a new sending domain or ESP stream sends a little more each day, most engaged first.

Mailbox providers read a new domain that mails its whole list on day one as a spammer. While
WARM_UP_STARTED_ON (the day the sending profile, i.e. this From domain and mail service, began) is
set and its ramp (WARM_UP_RAMP: messages a day, day one first) has not run out, each campaign's and
digest's ledger is written in daily shares: the share of the day's allowance still free (it is
shared by every campaign that day) goes to the most engaged readers now, and the rest wait in the
ledger for the next days' allowances, a wave a day (Delivery.send_after at the start of that day,
in TIME_ZONE), handed to the workers by the beat like a local-time wave. The campaign's page says
"today N of M, the rest from tomorrow". Past the ramp's last day nothing is held.

Most engaged first: never soft-bounced, then by the latest of their confirmation, their last click
(only for readers who allow tracking) and their last answer to an event or a call to get involved.
"""

from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db.models import Case, DateTimeField, F, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from newsletter.delivery import ledger
from newsletter.models import Campaign, Delivery, Rsvp, Wave

Status = Delivery.Status
WAITING = (Status.QUEUED, Status.SENDING)


def started_on() -> date | None:
    value = settings.WARM_UP_STARTED_ON
    return date.fromisoformat(value) if value else None


def allowance(day: date) -> int | None:
    """Messages that may go on `day` in all; None when nothing is held (no warm-up, or past it)."""
    start = started_on()
    if start is None or day < start:
        return None
    index = (day - start).days
    ramp = settings.WARM_UP_RAMP
    return ramp[index] if index < len(ramp) else None


def holds() -> bool:
    """Whether a ledger written today is written in daily shares."""
    return allowance(timezone.localdate()) is not None


def day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def booked(day: date, today: date) -> int:
    """Messages already sent or waiting for `day`, across campaigns."""
    start, end = day_start(day), day_start(day + timedelta(days=1))
    on_the_day = Q(status__in=WAITING, send_after__gte=start, send_after__lt=end)
    if day == today:
        on_the_day |= Q(sent_at__gte=start, sent_at__lt=end)
        on_the_day |= Q(status__in=WAITING, send_after=None)
    return Delivery.objects.filter(on_the_day).count()


def by_engagement(readers):
    """`readers` (a Subscriber queryset) most engaged first."""
    epoch = Value(datetime(2000, 1, 1, tzinfo=timezone.get_fixed_timezone(0)))
    clicked = Delivery.objects.filter(subscriber=OuterRef("pk"), clicked_at__isnull=False)
    answered = Rsvp.objects.filter(subscriber=OuterRef("pk"), answered_at__isnull=False)
    return readers.annotate(
        last_click=Case(
            When(
                allow_tracking=True,
                then=Subquery(clicked.order_by("-clicked_at").values("clicked_at")[:1]),
            ),
            output_field=DateTimeField(),
        ),
        last_answer=Subquery(answered.order_by("-answered_at").values("answered_at")[:1]),
        engaged=Greatest(
            Coalesce("confirmed_at", epoch),
            Coalesce("last_click", epoch),
            Coalesce("last_answer", epoch),
            output_field=DateTimeField(),
        ),
    ).order_by("soft_bounces", F("engaged").desc(), "pk")


def write_rows(campaign: Campaign, readers, lease_until: datetime) -> int:
    """The campaign's ledger in daily shares (see the module's docstring). Returns rows written."""
    today = timezone.localdate()
    rest = list(by_engagement(readers).values_list("pk", flat=True))
    written, day = 0, today
    while rest:
        room = allowance(day)
        if room is None:
            share, rest = rest, []
        else:
            free = max(0, room - booked(day, today))
            share, rest = rest[:free], rest[free:]
        if share and day == today:
            written += ledger.write_rows(campaign.pk, share, lease_until)
        elif share:
            at = day_start(day)
            Wave.objects.get_or_create(campaign=campaign, send_after=at, defaults={"zones": []})
            written += ledger.write_rows(
                campaign.pk, share, lease_until, ledger.Moments(by_zone={}, otherwise=at)
            )
        day += timedelta(days=1)
    return written


def note(campaign: Campaign) -> str:
    """ "Warming up: today N of M, the rest from tomorrow" while some of its readers wait for a
    later day's allowance, else ""."""
    tomorrow = day_start(timezone.localdate() + timedelta(days=1))
    rows = Delivery.objects.filter(campaign=campaign)
    later = rows.filter(status__in=WAITING, send_after__gte=tomorrow).count()
    if not later:
        return ""
    total = rows.count()
    return (
        f"Warming up the sending domain: today {total - later:,} of {total:,}, "
        "the rest from tomorrow."
    )
