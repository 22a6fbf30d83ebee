from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine
from django.utils import timezone

from newsletter.campaigns import digests
from newsletter.campaigns.states import transition
from newsletter.models import Campaign, DigestSchedule, Post
from tests.factories import CampaignFactory, DigestScheduleFactory, PostFactory

pytestmark = pytest.mark.django_db

# Monday 23 November 2026, 09:00 in London is 09:00 UTC (winter time).
MONDAY_9 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def at(days=0, hours=0, minutes=0):
    return MONDAY_9 + timedelta(days=days, hours=hours, minutes=minutes)


@pytest.fixture
def weekly(topics):
    schedule = DigestScheduleFactory(topics=[topics["news"], topics["events"]])
    digests.digest_schedule_refresh(schedule=schedule, now=at(days=-1))
    return schedule


def sent(campaign):
    transition(campaign, Campaign.Status.SCHEDULED)
    transition(campaign, Campaign.Status.SENDING)
    transition(campaign, Campaign.Status.SENT)


def test_the_next_run_is_the_next_weekday_and_time_in_the_schedules_zone(topics):
    schedule = DigestScheduleFactory(weekday=DigestSchedule.Weekday.MONDAY, time_of_day=time(9))
    assert digests.next_run(schedule, at(days=-3)) == MONDAY_9
    assert digests.next_run(schedule, MONDAY_9) == at(days=7)
    summer = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)  # a Monday, London on BST
    assert digests.next_run(schedule, summer) == datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
    schedule.weekday = None  # every day
    assert digests.next_run(schedule, MONDAY_9) == at(days=1)


def test_a_digest_holds_what_was_published_for_its_topics_in_the_window(topics):
    inside = PostFactory(topic=topics["news"], published_at=at(days=-2))
    PostFactory(topic=topics["news"], published_at=at(days=-10))  # before the window
    PostFactory(topic=topics["news"], published_at=at(days=1))  # after it
    PostFactory(topic=topics["education"], published_at=at(days=-2))  # other topic
    PostFactory(topic=topics["news"], published_at=at(days=-2), status=Post.Status.DRAFT)
    event = PostFactory(topic=topics["events"], published_at=at(days=-1))
    campaign = digests.compose_digest(
        topics=[topics["news"], topics["events"]],
        since=at(days=-7),
        until=MONDAY_9,
        subject="Digest {date}",
        intro="Hello",
    )
    assert campaign.status == Campaign.Status.DRAFT
    assert campaign.subject == "Digest 23 November 2026"
    assert campaign.preheader == f"{inside.title} · {event.title}"
    assert {item.post for item in campaign.items.all()} == {inside, event}
    assert set(campaign.topics.all()) == {topics["news"], topics["events"]}


def test_a_digest_picks_up_where_the_last_sent_digest_of_its_schedule_stopped(weekly, topics):
    old = PostFactory(topic=topics["news"], published_at=at(days=-8))
    first = digests.compose_digest(
        topics=weekly.topics.all(),
        since=None,
        until=at(days=-7),
        subject="First",
        intro="",
        schedule=weekly,
    )
    assert [item.post for item in first.items.all()] == [old]
    sent(first)
    new = PostFactory(topic=topics["news"], published_at=at(days=-3))
    second = digests.compose_digest(
        topics=weekly.topics.all(),
        since=None,
        until=MONDAY_9,
        subject="Second",
        intro="",
        schedule=weekly,
    )
    assert [item.post for item in second.items.all()] == [new]


def test_an_unsent_previous_digest_does_not_move_the_window(weekly, topics):
    post = PostFactory(topic=topics["news"], published_at=at(days=-3))
    cancelled = digests.compose_digest(
        topics=weekly.topics.all(),
        since=None,
        until=MONDAY_9,
        subject="x",
        intro="",
        schedule=weekly,
    )
    transition(cancelled, Campaign.Status.CANCELLED)
    again = digests.compose_digest(
        topics=weekly.topics.all(),
        since=None,
        until=MONDAY_9,
        subject="x",
        intro="",
        schedule=weekly,
    )
    assert [item.post for item in again.items.all()] == [post]


def test_a_digest_without_a_schedule_follows_the_last_sent_digest_of_the_same_topics(topics):
    earlier = CampaignFactory(
        topics=[topics["news"]],
        posts=[PostFactory(topic=topics["news"], published_at=at(days=-5))],
        digest_schedule=DigestScheduleFactory(),
    )
    sent(earlier)
    newer = PostFactory(topic=topics["news"], published_at=at(days=-4))
    campaign = digests.compose_digest(
        topics=[topics["news"]], since=None, until=MONDAY_9, subject="s", intro=""
    )
    assert [item.post for item in campaign.items.all()] == [newer]


def test_nothing_new_composes_nothing(topics):
    PostFactory(topic=topics["news"], published_at=at(days=-30))
    assert (
        digests.compose_digest(
            topics=[topics["news"]], since=None, until=MONDAY_9, subject="s", intro=""
        )
        is None
    )
    assert not Campaign.objects.exists()


def test_a_due_schedule_composes_and_schedules_a_digest_for_now(weekly, topics):
    post = PostFactory(topic=topics["news"], published_at=at(days=-2))
    with time_machine.travel(at(minutes=0, hours=0), tick=False):
        assert digests.run_due_schedules() == 1
    campaign = Campaign.objects.get()
    assert campaign.status == Campaign.Status.SCHEDULED
    assert campaign.scheduled_at == MONDAY_9
    assert campaign.digest_schedule == weekly
    assert [item.post for item in campaign.items.all()] == [post]
    weekly.refresh_from_db()
    assert weekly.next_run_at == at(days=7)
    assert weekly.last_run_at == MONDAY_9
    assert "Scheduled" in weekly.last_outcome and "1 posts" in weekly.last_outcome


def test_a_run_with_nothing_new_skips_and_records_why(weekly, topics):
    PostFactory(topic=topics["education"], published_at=at(days=-1))  # not its topic
    assert digests.run_due_schedules(now=MONDAY_9) == 1
    assert not Campaign.objects.exists()
    weekly.refresh_from_db()
    assert weekly.last_outcome == "Skipped: nothing new published for News, Events."
    assert weekly.next_run_at == at(days=7)


def test_a_schedule_that_is_not_due_does_not_run(weekly, topics):
    PostFactory(topic=topics["news"], published_at=at(days=-1))
    assert digests.run_due_schedules(now=at(minutes=-1)) == 0
    assert not Campaign.objects.exists()


def test_a_missed_tick_runs_once_not_once_per_missed_minute(weekly, topics):
    PostFactory(topic=topics["news"], published_at=at(days=-1))
    # The beat was down from 08:30 to 10:00; it then ticks every minute.
    ran = sum(digests.run_due_schedules(now=at(hours=1, minutes=m)) for m in range(5))
    assert ran == 1
    assert Campaign.objects.count() == 1
    weekly.refresh_from_db()
    assert weekly.next_run_at == at(days=7)


def test_a_schedule_changed_in_admin_takes_effect_at_the_next_tick(weekly, topics):
    PostFactory(topic=topics["news"], published_at=at(days=-1))
    weekly.weekday = DigestSchedule.Weekday.WEDNESDAY
    weekly.time_of_day = time(17, 30)
    weekly.save()
    digests.digest_schedule_refresh(schedule=weekly, now=at(hours=-1))
    assert digests.run_due_schedules(now=MONDAY_9) == 0
    wednesday = at(days=2, hours=8, minutes=30)
    assert DigestSchedule.objects.get(pk=weekly.pk).next_run_at == wednesday
    assert digests.run_due_schedules(now=wednesday) == 1
    assert Campaign.objects.get().scheduled_at == wednesday


def test_a_paused_schedule_does_not_run(weekly, topics):
    PostFactory(topic=topics["news"], published_at=at(days=-1))
    weekly.is_active = False
    weekly.save()
    digests.digest_schedule_refresh(schedule=weekly, now=at(hours=-1))
    assert digests.run_due_schedules(now=at(days=1)) == 0


def test_a_claim_made_meanwhile_by_another_beat_wins(weekly, topics):
    PostFactory(topic=topics["news"], published_at=at(days=-1))
    seen = weekly.next_run_at
    assert digests.run_one_due_schedule(schedule_id=weekly.pk, seen_next_run_at=seen, now=MONDAY_9)
    assert not digests.run_one_due_schedule(
        schedule_id=weekly.pk, seen_next_run_at=seen, now=MONDAY_9
    )
    assert Campaign.objects.count() == 1


def test_a_new_schedule_gets_its_next_run_on_the_first_tick(topics):
    schedule = DigestScheduleFactory(topics=[topics["news"]])
    assert schedule.next_run_at is None
    assert digests.run_due_schedules(now=at(days=-1)) == 0
    schedule.refresh_from_db()
    assert schedule.next_run_at == MONDAY_9


def test_without_a_time_machine_now_is_the_default(weekly):
    assert digests.run_due_schedules() == 1  # its next run, 23 November 2026, has passed
    assert DigestSchedule.objects.get(pk=weekly.pk).next_run_at > timezone.now()


def test_a_broken_schedule_records_why_and_does_not_stop_the_others(weekly, topics):
    PostFactory(topic=topics["news"], published_at=at(days=-1))
    broken = DigestScheduleFactory(topics=[topics["news"]], timezone="Nowhere/Atlantis")
    DigestSchedule.objects.filter(pk=broken.pk).update(next_run_at=at(hours=-1))
    assert digests.run_due_schedules(now=MONDAY_9) == 1
    broken.refresh_from_db()
    assert broken.last_outcome.startswith("Failed: ")
    assert Campaign.objects.get().digest_schedule == weekly


def test_a_manual_digest_starts_where_the_previous_manual_digest_of_its_topics_stopped(topics):
    old = PostFactory(topic=topics["news"], published_at=at(days=-3))
    first = digests.compose_digest(
        topics=[topics["news"]], since=None, until=at(days=-1), subject="s", intro=""
    )
    assert [item.post for item in first.items.all()] == [old]
    sent(first)
    new = PostFactory(topic=topics["news"], published_at=at(days=-1, hours=1))
    second = digests.compose_digest(
        topics=[topics["news"]], since=None, until=MONDAY_9, subject="s", intro=""
    )
    assert [item.post for item in second.items.all()] == [new]


def test_a_scheduled_digest_follows_a_manual_digest_of_the_same_topics(weekly, topics):
    old = PostFactory(topic=topics["news"], published_at=at(days=-3))
    manual = digests.compose_digest(
        topics=weekly.topics.all(), since=None, until=at(days=-2), subject="s", intro=""
    )
    assert [item.post for item in manual.items.all()] == [old]
    transition(manual, Campaign.Status.SCHEDULED)  # scheduled is enough: it will go out
    new = PostFactory(topic=topics["events"], published_at=at(days=-1))
    composed = digests.compose_digest(
        topics=weekly.topics.all(),
        since=None,
        until=MONDAY_9,
        subject="s",
        intro="",
        schedule=weekly,
    )
    assert [item.post for item in composed.items.all()] == [new]


def test_a_campaign_that_is_not_a_digest_does_not_move_the_window(topics):
    post = PostFactory(topic=topics["news"], published_at=at(days=-3))
    sent(CampaignFactory(topics=[topics["news"]], posts=[post]))
    again = digests.compose_digest(
        topics=[topics["news"]], since=None, until=MONDAY_9, subject="s", intro=""
    )
    assert [item.post for item in again.items.all()] == [post]
