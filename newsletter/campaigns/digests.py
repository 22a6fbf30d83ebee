"""Digests: campaigns whose posts pick themselves, and the recurring schedules that make them.

The beat calls `run_due_schedules` every minute. Each due schedule is claimed with a conditional
UPDATE that also moves `next_run_at` to the next occurrence after now, so two beats cannot both
run it, and a beat that was down for an hour runs a missed digest once, not once per minute.
"""

import logging
from contextlib import contextmanager
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.text import Truncator

from newsletter.campaigns.scheduling import campaign_schedule
from newsletter.campaigns.states import unique_slug
from newsletter.models import Campaign, CampaignPost, DigestSchedule, Post, Topic

logger = logging.getLogger(__name__)

# A schedule "in each reader's zone" runs (composes its digest) when its day and time come first
# anywhere, in UTC+14 (POSIX signs are inverted); each reader then gets it at that time in theirs.
EARLIEST_ZONE = ZoneInfo("Etc/GMT-14")

# Without a previous digest to follow, a first digest covers this much (daily: one day).
FIRST_WINDOW = timedelta(days=7)
PREHEADER_LENGTH = Campaign._meta.get_field("preheader").max_length


def next_run(schedule: DigestSchedule, after: datetime) -> datetime:
    """The first occurrence of the schedule strictly after `after`, in UTC.

    Computed in the schedule's own time zone, so "Monday 09:00 Europe/London" stays 09:00 local
    across daylight-saving changes.
    """
    zone = EARLIEST_ZONE if schedule.in_reader_zones else ZoneInfo(schedule.timezone)
    at = schedule.time_of_day
    weekday = "*" if schedule.weekday is None else str(schedule.weekday)  # cron: 0 is Sunday
    expression = f"{at.minute} {at.hour} * * {weekday}"
    following = croniter(expression, after.astimezone(zone)).get_next(datetime)
    return following.astimezone(ZoneInfo("UTC"))


def digest_schedule_refresh(*, schedule: DigestSchedule, now: datetime | None = None) -> None:
    """Recompute the next run after staff changed the schedule; the next tick honours it."""
    now = now or timezone.now()
    schedule.next_run_at = next_run(schedule, now) if schedule.is_active else None
    DigestSchedule.objects.filter(pk=schedule.pk).update(
        next_run_at=schedule.next_run_at, updated_at=now
    )


# A digest that went out or is about to: the next one of the same topics starts where it stopped.
COUNTED = [
    Campaign.Status.SCHEDULED,
    Campaign.Status.SENDING,
    Campaign.Status.PAUSED,
    Campaign.Status.SENT,
]


def previous_digest_cutoff(*, topics, schedule: DigestSchedule | None) -> datetime | None:
    """Where the previous digests of these topics stopped: the publish time of their newest post.
    Digests of `schedule` count, and so does every digest (composed by hand or by a schedule) of
    exactly these topics, once scheduled or sent. None when there was none."""
    wanted = {topic.pk for topic in topics}
    digests = Campaign.objects.filter(
        Q(kind=Campaign.Kind.DIGEST) | Q(digest_schedule__isnull=False), status__in=COUNTED
    )
    recent = digests.prefetch_related("topics").order_by("-pk")[:50]
    previous = [c.pk for c in recent if {topic.pk for topic in c.topics.all()} == wanted]
    if schedule is not None:
        previous += digests.filter(digest_schedule=schedule).values_list("pk", flat=True)
    if not previous:
        return None
    posts = CampaignPost.objects.filter(campaign__in=previous)
    return posts.aggregate(newest=Max("post__published_at"))["newest"]


def digest_posts(*, topics, since: datetime | None, until: datetime):
    posts = Post.objects.filter(
        status=Post.Status.PUBLISHED, topic__in=topics, published_at__lte=until
    )
    if since is not None:
        posts = posts.filter(published_at__gt=since)
    return posts.select_related("topic").order_by("topic__position", "topic__name", "published_at")


def compose_digest(
    *,
    topics,
    since: datetime | None,
    until: datetime | None,
    subject: str,
    intro: str,
    schedule: DigestSchedule | None = None,
) -> Campaign | None:
    """A draft campaign of everything published for `topics` in (since, until], or None when
    there is nothing. `since` None: since the previous digest of these topics (or, for a first
    digest, the last FIRST_WINDOW). `until` None: now. "{date}" in the subject becomes the local
    date."""
    topics = list(Topic.objects.filter(pk__in=[topic.pk for topic in topics]))
    until = until or timezone.now()
    if since is None:
        since = previous_digest_cutoff(topics=topics, schedule=schedule) or until - FIRST_WINDOW
    posts = list(digest_posts(topics=topics, since=since, until=until))
    if not posts:
        return None
    zone = ZoneInfo(schedule.timezone) if schedule else timezone.get_current_timezone()
    subject = subject.replace("{date}", date_format(until.astimezone(zone), "j F Y"))
    with transaction.atomic():
        campaign = Campaign.objects.create(
            subject=subject,
            slug=unique_slug(subject),
            # The inbox shows this beside the subject: the first headlines say what is inside.
            preheader=Truncator(" · ".join(post.title for post in posts)).chars(PREHEADER_LENGTH),
            intro=intro,
            digest_schedule=schedule,
            kind=Campaign.Kind.DIGEST,
        )
        campaign.topics.set(topics)
        CampaignPost.objects.bulk_create(
            CampaignPost(campaign=campaign, post=post, position=i) for i, post in enumerate(posts)
        )
    return campaign


def run_schedule(*, schedule: DigestSchedule, now: datetime) -> str:
    """Compose this schedule's digest and schedule it for now, or skip; the outcome, in words."""
    topics = list(schedule.topics.all())
    if not topics:
        outcome = "Skipped: the schedule has no topics."
    else:
        campaign = compose_digest(
            topics=topics,
            since=None,
            until=now,
            subject=schedule.subject,
            intro=schedule.intro,
            schedule=schedule,
        )
        if campaign is None:
            names = ", ".join(topic.name for topic in topics)
            outcome = f"Skipped: nothing new published for {names}."
        else:
            _schedule_run(schedule, campaign, now)
            count = campaign.items.count()
            outcome = f"Scheduled “{campaign.subject}” (campaign {campaign.pk}, {count} posts)."
    DigestSchedule.objects.filter(pk=schedule.pk).update(last_run_at=now, last_outcome=outcome)
    schedule.last_run_at, schedule.last_outcome = now, outcome
    return outcome


def _schedule_run(schedule: DigestSchedule, campaign: Campaign, now: datetime) -> None:
    """The run's digest goes now, or at the schedule's time of day on the run's date in each
    reader's own zone."""
    if schedule.in_reader_zones:
        on = now.astimezone(EARLIEST_ZONE).date()
        campaign_schedule(campaign=campaign, on=on, local_time=schedule.time_of_day)
    else:
        campaign_schedule(campaign=campaign, at=now)


def run_one_due_schedule(*, schedule_id: int, seen_next_run_at: datetime, now: datetime) -> bool:
    """Claim and run one due schedule; False when another process got there first."""
    schedule = DigestSchedule.objects.get(pk=schedule_id)
    following = next_run(schedule, now)
    # One transaction: if composing fails, the claim rolls back and the next tick tries again.
    with transaction.atomic():
        won = DigestSchedule.objects.filter(
            pk=schedule_id, is_active=True, next_run_at=seen_next_run_at
        ).update(next_run_at=following)
        if not won:
            return False
        run_schedule(schedule=schedule, now=now)
    return True


def run_due_schedules(now: datetime | None = None) -> int:
    """Run every active schedule that is due; the number run. Called by the beat every minute."""
    now = now or timezone.now()
    ran = 0
    for schedule in DigestSchedule.objects.filter(is_active=True, next_run_at=None):
        with _recorded_failure(schedule.pk):
            digest_schedule_refresh(schedule=schedule, now=now)
    due = DigestSchedule.objects.filter(is_active=True, next_run_at__lte=now)
    for schedule_id, seen in due.values_list("id", "next_run_at"):
        with _recorded_failure(schedule_id):
            ran += run_one_due_schedule(schedule_id=schedule_id, seen_next_run_at=seen, now=now)
    return ran


@contextmanager
def _recorded_failure(schedule_id: int):
    """One broken schedule (say, a time zone that no longer exists) must not stop the others, nor
    the rest of the beat's tick; staff see why in last_outcome, and it is retried next tick."""
    try:
        yield
    except Exception as error:
        logger.exception("Digest schedule %s failed", schedule_id)
        outcome = f"Failed: {error}"[:300]
        DigestSchedule.objects.filter(pk=schedule_id).update(last_outcome=outcome)
