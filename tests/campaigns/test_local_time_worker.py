"""Local-time sending through real Celery workers, Redis, PostgreSQL and the SMTP sink.

A campaign goes at 09:00 on Sunday 29 March 2026 in each reader's zone: Tokyo at 00:00 UTC,
London and Lisbon at 08:00 UTC (both spring forward at 01:00 UTC that morning; the day before,
their 09:00 was 09:00 UTC), New York at 13:00 UTC (on summer time since 8 March).

What is frozen, honestly: this process (beat's tick, the sweeper, staff's clicks) runs with its
clock frozen at each moment by time-machine. A worker process cannot share that frozen clock, so
each moment gets a fresh worker whose clock starts at that moment and runs on in real time
(tests/clock/sitecustomize.py, time-machine again). Everything else is real: the tasks go
through Redis with their countdowns, the worker claims rows in PostgreSQL and sends over SMTP.
"""

import collections
import os
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
import time_machine

from newsletter import delivery, tasks
from newsletter.campaigns import scheduling, states
from newsletter.delivery import lifecycle
from newsletter.models import Campaign, Delivery, Subscriber, Wave
from tests.campaign_runs import per_recipient
from tests.factories import CampaignFactory, PostFactory, SubscriberFactory
from tests.support import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

CLOCK_DIR = Path(__file__).parent.parent / "clock"
SUNDAY = date(2026, 3, 29)
NINE = time(9, 0)
TOKYO = datetime(2026, 3, 29, 0, 0, tzinfo=UTC)
LONDON = datetime(2026, 3, 29, 8, 0, tzinfo=UTC)
NEW_YORK = datetime(2026, 3, 29, 13, 0, tzinfo=UTC)
Status = Delivery.Status


class Moment:
    """This process frozen at `at`, and one worker whose clock starts there."""

    def __init__(self, at: datetime, start_worker):
        self.at = at
        self.traveller = time_machine.travel(at, tick=False)
        self.start_worker = start_worker

    def __enter__(self):
        self.traveller.start()
        pythonpath = os.pathsep.join(filter(None, [str(CLOCK_DIR), os.environ.get("PYTHONPATH")]))
        self.worker = self.start_worker(
            concurrency=1,  # one task at a time, in queue order: "after X ran" is checkable
            extra_env={"ENGAGE_TEST_CLOCK": self.at.isoformat(), "PYTHONPATH": pythonpath},
        )
        return self

    def __exit__(self, *exc):
        self.worker.stop()
        self.traveller.stop()

    def drain(self):
        """Wait until the worker has run every task queued before now: one more task behind
        them, seen to finish (one worker, one process, queue order)."""
        task = tasks.send_batch.delay([])
        wait_until(
            lambda: f"[{task.id}] succeeded" in self.worker.output(),
            timeout=60,
            message="the worker to reach the end of its queue",
        )


def readers(topics, **zones) -> dict[str, Subscriber]:
    return {
        name: SubscriberFactory(
            email=f"{name}@example.org", active=True, topics=[topics["news"]], time_zone=zone
        )
        for name, zone in zones.items()
    }


def local_campaign(topics) -> Campaign:
    """Scheduled on the Saturday before, at 09:00 on Sunday in each reader's zone."""
    campaign = CampaignFactory(posts=[PostFactory(topic=topics["news"])], topics=[topics["news"]])
    with time_machine.travel(datetime(2026, 3, 28, 12, 0, tzinfo=UTC), tick=False):
        scheduling.campaign_schedule(campaign=campaign, on=SUNDAY, local_time=NINE)
    return campaign


def status_of(people) -> dict[str, str]:
    ids = {person.pk: name for name, person in people.items()}
    rows = Delivery.objects.filter(subscriber_id__in=ids)
    return {ids[pk]: status for pk, status in rows.values_list("subscriber_id", "status")}


def got(sink) -> collections.Counter:
    return collections.Counter(address.split("@")[0] for address in per_recipient(sink.received))


def test_each_zone_gets_its_wave_at_nine_local_once_and_never_early(topics, sink, start_worker):
    people = readers(
        topics,
        tokyo="Asia/Tokyo",
        london="Europe/London",
        lisbon="Europe/Lisbon",
        organisation="",  # no zone of their own: the organisation's (Europe/London)
        garbled="Mars/Olympus",  # not a zone: the organisation's too
        new_york="America/New_York",
        mover="America/New_York",  # moves to Tokyo after the Tokyo wave
        early_bird="Asia/Tokyo",  # got the Tokyo wave, then moves to New York
    )
    campaign = local_campaign(topics)
    assert campaign.scheduled_at == TOKYO  # it starts at its first wave

    with Moment(TOKYO, start_worker) as moment:
        tasks.tick()  # starts the campaign: the worker prepares it and sends the Tokyo wave
        sink.wait_for(2)
        moment.drain()
        assert got(sink) == {"tokyo": 1, "early_bird": 1}
        assert [(w.send_after, w.zones) for w in Wave.objects.filter(campaign=campaign)] == [
            (TOKYO, ["Asia/Tokyo"]),
            (LONDON, ["Europe/Lisbon", "Europe/London"]),
            (NEW_YORK, ["America/New_York"]),
        ]
        Subscriber.objects.filter(pk=people["mover"].pk).update(time_zone="Asia/Tokyo")
        Subscriber.objects.filter(pk=people["early_bird"].pk).update(time_zone="America/New_York")
        tasks.tick()
        moment.drain()
        assert got(sink) == {"tokyo": 1, "early_bird": 1}

    with Moment(LONDON, start_worker) as moment:
        tasks.tick()
        sink.wait_for(6)
        # An early task for the New York wave (a duplicate, a clock ahead) and the sweeper
        # finding the wave's rows "lost" both reach the worker, which refuses to send them.
        new_york = Delivery.objects.filter(campaign=campaign, send_after=NEW_YORK)
        tasks.send_batch.delay(list(new_york.values_list("pk", flat=True)))
        new_york.update(lease_expires_at=LONDON - timedelta(hours=1))
        assert delivery.sweep_expired_leases() == 2
        moment.drain()
        assert got(sink) == {
            "tokyo": 1,
            "early_bird": 1,
            "london": 1,
            "lisbon": 1,
            "organisation": 1,
            "garbled": 1,
        }
        assert status_of(people)["new_york"] == status_of(people)["mover"] == Status.QUEUED
        assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.SENDING

    with Moment(NEW_YORK, start_worker) as moment:
        tasks.tick()
        sink.wait_for(8)
        moment.drain()
        tasks.tick()  # every wave done: the campaign is sent
        campaign.refresh_from_db()
        assert campaign.status == Campaign.Status.SENT
        assert campaign.sent_count == 8

    assert got(sink) == {name: 1 for name in people}
    for row in Delivery.objects.filter(campaign=campaign):
        assert row.sent_at >= row.send_after  # no row went before its moment
    progress = {
        w["at"]: (w["zones"], w["queued"], w["sent"]) for w in delivery.progress(campaign)["waves"]
    }
    assert progress == {
        TOKYO: (["Asia/Tokyo"], 0, 2),
        LONDON: (["Europe/Lisbon", "Europe/London"], 0, 4),
        NEW_YORK: (["America/New_York"], 0, 2),
    }


def test_pause_holds_the_waves_to_come_resume_sends_them_and_cancel_skips_them(
    topics, sink, start_worker
):
    people = readers(
        topics, tokyo="Asia/Tokyo", london="Europe/London", new_york="America/New_York"
    )
    campaign = local_campaign(topics)

    with Moment(TOKYO, start_worker) as moment:
        tasks.tick()
        sink.wait_for(1)
        moment.drain()
        campaign.refresh_from_db()
        states.campaign_pause(campaign=campaign)

    with Moment(LONDON, start_worker) as moment:
        tasks.tick()  # London's hour comes while paused: its wave waits
        moment.drain()
        assert got(sink) == {"tokyo": 1}
        assert status_of(people)["london"] == Status.QUEUED
        campaign.refresh_from_db()
        lifecycle.campaign_resume(campaign=campaign)
        tasks.tick()
        sink.wait_for(2)
        moment.drain()
        assert got(sink) == {"tokyo": 1, "london": 1}
        assert status_of(people)["new_york"] == Status.QUEUED  # resume sends nothing early
        campaign.refresh_from_db()
        states.campaign_cancel(campaign=campaign)

    with Moment(NEW_YORK, start_worker) as moment:
        tasks.tick()
        moment.drain()
        assert got(sink) == {"tokyo": 1, "london": 1}
        assert status_of(people) == {
            "tokyo": Status.SENT,
            "london": Status.SENT,
            "new_york": Status.SKIPPED,
        }
