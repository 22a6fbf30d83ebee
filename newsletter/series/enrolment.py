"""Who a series takes in: every active subscriber its trigger names, once per series, ever (the
enrolment's unique row is the memory that re-joining does not restart a series)."""

from collections.abc import Iterable
from datetime import datetime

from django.utils import timezone

from newsletter.models import Enrolment, Series, Subscriber
from newsletter.series.timing import due_at
from newsletter.subscribers import policy

# Paused series keep taking readers in (their steps wait); draft ones do not.
ENROLLING = [Series.Status.ACTIVE, Series.Status.PAUSED]


def enrol_on_confirmation(
    *, subscriber: Subscriber, topic_ids: Iterable[int], now: datetime | None = None
) -> None:
    """A subscriber confirmed: the series for confirmations, and those of the topics they chose."""
    confirmed = Series.objects.filter(trigger=Series.Trigger.CONFIRMED)
    _enrol(subscriber, confirmed, now)
    enrol_on_topics(subscriber=subscriber, topic_ids=topic_ids, now=now)


def enrol_on_topics(
    *, subscriber: Subscriber, topic_ids: Iterable[int], now: datetime | None = None
) -> None:
    """A subscriber added these topics: the series of each."""
    topic_ids = list(topic_ids)
    if topic_ids:
        added = Series.objects.filter(trigger=Series.Trigger.TOPIC_ADDED, topic_id__in=topic_ids)
        _enrol(subscriber, added, now)


def _enrol(subscriber: Subscriber, series, now: datetime | None) -> None:
    if not policy.may_mail(subscriber):
        return
    now = now or timezone.now()
    rows = []
    for each in series.filter(status__in=ENROLLING).prefetch_related("steps"):
        first = next(iter(each.steps.all()), None)
        if first is not None:
            rows.append(
                Enrolment(
                    series=each,
                    subscriber=subscriber,
                    next_step=first,
                    next_at=due_at(first, subscriber, now),
                )
            )
    # Enrolled before (then left and came back): the old row stands, and nothing restarts.
    Enrolment.objects.bulk_create(rows, ignore_conflicts=True)
