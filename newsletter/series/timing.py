"""When a step is due: its delay after the step before, then its hour in the reader's zone."""

from datetime import datetime, timedelta

from newsletter.models import SeriesStep, Subscriber
from newsletter.subscribers.timezones import reader_zone


def due_at(step: SeriesStep, subscriber: Subscriber, after: datetime) -> datetime:
    """The moment `step` is due for `subscriber`, the step before having gone at `after`."""
    moment = after + timedelta(**{step.delay_unit: step.delay})
    if step.at_time is None:
        return moment
    zone = reader_zone(subscriber)
    local = moment.astimezone(zone)
    day = local.date()
    if local.timetz().replace(tzinfo=None) > step.at_time:
        day += timedelta(days=1)  # today's hour has passed: tomorrow's
    return datetime.combine(day, step.at_time, tzinfo=zone)
