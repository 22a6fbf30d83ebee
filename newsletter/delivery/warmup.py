"""Warm-up: a new sending domain or ESP stream sends a little more each day, most engaged first.

Mailbox providers read a new domain that mails its whole list on day one as a spammer. The sending
profile (newsletter.models.SendingProfile, kept in admin) of the From domain, or else the default
profile, says whether it is new ("warming up since" a day) and its daily ramp. While it is new and
its ramp has not run out, each campaign's, digest's and series step's ledger is written in daily
shares: the share of the day's allowance still free (it is shared by every campaign that day) goes
to the most engaged readers now, and the rest wait in the ledger for the next days' allowances, a
wave a day (Delivery.send_after at the start of that day, in TIME_ZONE; a local-time campaign's
reader at their own hour on that day), handed to the workers by the beat like a local-time wave.
The campaign's page says "today N of M, the rest from tomorrow". Past the ramp's last day, or with
no profile at all, nothing is held.

Most engaged first: never soft-bounced, then by the latest of their confirmation, their last click
(only for readers who allow tracking) and their last answer to an event or a call to get involved.
"""

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from functools import cache

from django.db.models import Case, DateTimeField, Exists, F, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from newsletter.campaigns.scheduling import is_local, moment, plan
from newsletter.delivery import ledger
from newsletter.mail.sender_auth import from_domain
from newsletter.models import Campaign, Delivery, Rsvp, SendingProfile, Wave

Status = Delivery.Status
WAITING = (Status.QUEUED, Status.SENDING)


def profile() -> SendingProfile | None:
    """The sending profile campaigns go out under: the one of the From domain (every campaign,
    digest and series step is sent from DEFAULT_FROM_EMAIL), else the default one (no domain)."""
    matching = SendingProfile.objects.filter(domain__in=[from_domain(), ""])
    return matching.order_by("-domain").first()  # the domain's own before the default


def allowance(day: date, sending: SendingProfile | None = None) -> int | None:
    """Messages that may go on `day` in all; None when nothing is held (no profile, warmed up,
    or past its ramp)."""
    sending = sending or profile()
    return sending.allowance(day) if sending else None


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
    """The campaign's ledger in daily shares (see the module's docstring); readers who already
    have a row are left alone (a re-run). Returns rows written."""
    today = timezone.localdate()
    sending = profile()
    local = is_local(campaign)
    room: dict[date, int | None] = {}

    def take(day: date) -> bool:
        """A place in `day`'s allowance, if one is free."""
        if day not in room:
            limit = allowance(day, sending)
            room[day] = None if limit is None else max(0, limit - booked(day, today))
        if room[day] is None:
            return True
        if room[day]:
            room[day] -= 1
            return True
        return False

    @cache
    def when(later: int, zone: str) -> datetime | None:
        """A reader's moment `later` days on: a local-time campaign's at their own hour, another's
        at once (None) and then at the start of each day."""
        if local:
            return moment(campaign.local_date + timedelta(days=later), campaign.local_time, zone)
        return day_start(today + timedelta(days=later)) if later else None

    def day_of(at: datetime | None) -> date:
        return timezone.localdate(at) if at else today

    # Most engaged first, each in the first day (counted from their own zone's) with room.
    shares: dict[int, list[tuple[int, str]]] = defaultdict(list)
    first_free: dict[str, int] = defaultdict(int)
    unwritten = ~Exists(Delivery.objects.filter(campaign=campaign, subscriber=OuterRef("pk")))
    for pk, zone in by_engagement(readers.filter(unwritten)).values_list("pk", "time_zone"):
        zone = zone if local else ""
        later = first_free[zone]
        while not take(day_of(when(later, zone))):
            later += 1
        first_free[zone] = later
        shares[later].append((pk, zone))

    written = 0
    for later, share in sorted(shares.items()):
        ids = [pk for pk, _ in share]
        if not local and not later:
            written += ledger.write_rows(campaign.pk, ids, lease_until)
            continue
        zones = {zone for _, zone in share}
        if local:
            waves = plan(campaign.local_date + timedelta(days=later), campaign.local_time, zones)
        else:
            waves = {when(later, ""): []}
        if later:  # a held day: its waves are warm-up's (a local campaign's first day has its own)
            for at, names in waves.items():
                Wave.objects.get_or_create(
                    campaign=campaign, send_after=at, defaults={"zones": names, "warm_up": True}
                )
        moments = ledger.Moments(
            by_zone={zone: when(later, zone) for zone in zones}, otherwise=when(later, "")
        )
        written += ledger.write_rows(campaign.pk, ids, lease_until, moments)
    return written


def note(campaign: Campaign) -> str:
    """ "Warming up: today N of M, the rest from tomorrow" while some of its readers wait for a
    later day's allowance, else ""."""
    held = Wave.objects.filter(campaign=campaign, warm_up=True, send_after__gt=timezone.now())
    rows = Delivery.objects.filter(campaign=campaign)
    later = rows.filter(status__in=WAITING, send_after__in=held.values("send_after")).count()
    if not later:
        return ""
    total = rows.count()
    return (
        f"Warming up the sending domain: today {total - later:,} of {total:,}, "
        "the rest from tomorrow."
    )
