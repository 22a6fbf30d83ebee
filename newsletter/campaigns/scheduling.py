"""Scheduling: the one way a draft becomes scheduled, for one moment for everyone or for a wall
time in each reader's own zone ("at 09:00 on 29 March", local-time sending).

Every reader's wall time becomes one moment; readers whose moments coincide form a wave (the Wave
rows are written by newsletter.delivery.waves as the campaign is prepared). A local-time campaign
starts at its first wave. Admin, digests and event reminders all schedule through
`campaign_schedule`; the status change itself is newsletter.campaigns.states.transition.
"""

from collections import defaultdict
from datetime import UTC, date, datetime, time

from django.utils import timezone

from newsletter.campaigns import abtest
from newsletter.campaigns.audience import audience
from newsletter.campaigns.states import IllegalTransition, schedule_problems, transition
from newsletter.models import Campaign, Subscriber
from newsletter.subscribers.timezones import reader_zone


def campaign_schedule(
    *,
    campaign: Campaign,
    at: datetime | None = None,
    on: date | None = None,
    local_time: time | None = None,
) -> Campaign:
    """Schedule a draft: for `at` (now when None) for everyone, or, given `on` and `local_time`,
    for that wall time in each reader's zone (an A/B subject test is refused: its test share and
    its rest go at moments of their own). Its content is frozen as it is now (a Snapshot), and the
    delivery beat sends that once it is due."""
    if (on is None) != (local_time is None):
        raise ValueError("a local time needs both a date and a time of day")
    if on is not None:
        if abtest.is_test(campaign):
            raise IllegalTransition(
                "An A/B subject test cannot go out at a time in each reader's zone: "
                "send it at one moment, or remove its test."
            )
        at = next(iter(audience_plan(campaign, on, local_time)))
    problems = schedule_problems(campaign)
    if problems:
        raise IllegalTransition(f"The campaign cannot be scheduled: {', '.join(problems)}.")
    at = at or timezone.now()
    if timezone.is_naive(at):
        raise ValueError("scheduled time must be time-zone aware")
    # One moment for everyone forgets any local time the campaign had.
    transition(
        campaign, Campaign.Status.SCHEDULED, scheduled_at=at, local_date=on, local_time=local_time
    )
    return campaign


def is_local(campaign: Campaign) -> bool:
    return campaign.local_date is not None and campaign.local_time is not None


def moment(on: date, at: time, zone_value: str) -> datetime:
    """When it is `at` on `on` in the zone a reader's stored value stands for, in UTC. A wall time
    the clocks skip (02:30 as they spring forward) is read with the offset before the change."""
    zone = reader_zone(Subscriber(time_zone=zone_value))
    return datetime.combine(on, at, tzinfo=zone).astimezone(UTC)


def plan(on: date, at: time, zone_values) -> dict[datetime, list[str]]:
    """Each wave's moment with the zones that go then, in order: stored values in, zone names out
    (a blank or unknown value is the organisation's zone)."""
    waves: dict[datetime, set[str]] = defaultdict(set)
    for value in zone_values:
        waves[moment(on, at, value)].add(reader_zone(Subscriber(time_zone=value)).key)
    return {when: sorted(zones) for when, zones in sorted(waves.items())}


def audience_plan(campaign: Campaign, on: date, at: time) -> dict[datetime, list[str]]:
    """The waves of the campaign's audience as it stands (no audience: the organisation's)."""
    return plan(on, at, audience_zones(campaign) or [""])


def audience_zones(campaign: Campaign) -> list[str]:
    return list(audience(campaign).order_by().values_list("time_zone", flat=True).distinct())
