import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from newsletter.campaigns import scheduling, states
from newsletter.campaigns.audience import audience_count
from newsletter.campaigns.states import IllegalTransition, transition
from newsletter.delivery import lifecycle
from newsletter.models import Campaign
from tests.factories import CampaignFactory, PostFactory, SubscriberFactory

Status = Campaign.Status
pytestmark = pytest.mark.django_db

ILLEGAL = [
    (start, to)
    for start in Status
    for to in Status
    if to not in Campaign.TRANSITIONS[start] and to != start
]


@pytest.fixture
def ready(topics):
    return CampaignFactory(topics=[topics["news"]], posts=[PostFactory(topic=topics["news"])])


@pytest.mark.parametrize(("start", "to"), ILLEGAL)
def test_every_illegal_transition_is_refused_and_changes_nothing(start, to):
    campaign = CampaignFactory(status=start)
    with pytest.raises(IllegalTransition, match="cannot become"):
        transition(campaign, to)
    campaign.refresh_from_db()
    assert campaign.status == start


def test_a_sent_campaign_can_never_change_again():
    campaign = CampaignFactory(status=Status.SENT)
    for service in (
        states.campaign_pause,
        lifecycle.campaign_resume,
        states.campaign_cancel,
        states.campaign_unschedule,
        scheduling.campaign_schedule,
    ):
        with pytest.raises(IllegalTransition):
            service(campaign=campaign)
    campaign.refresh_from_db()
    assert campaign.status == Status.SENT


def test_a_ready_draft_is_scheduled_for_the_chosen_time(ready):
    at = timezone.now() + timedelta(days=1)
    scheduling.campaign_schedule(campaign=ready, at=at)
    ready.refresh_from_db()
    assert (ready.status, ready.scheduled_at) == (Status.SCHEDULED, at)


def test_a_campaign_without_posts_or_audience_cannot_be_scheduled(topics):
    campaign = CampaignFactory()
    with pytest.raises(IllegalTransition, match="no posts.*no audience topics"):
        scheduling.campaign_schedule(campaign=campaign)
    campaign.refresh_from_db()
    assert campaign.status == Status.DRAFT


def test_a_campaign_with_an_unpublished_post_cannot_be_scheduled(ready, topics):
    draft = PostFactory(topic=topics["news"], status="draft")
    ready.items.create(post=draft, position=5)
    with pytest.raises(IllegalTransition, match="not published yet"):
        scheduling.campaign_schedule(campaign=ready)
    assert Campaign.objects.get(pk=ready.pk).status == Status.DRAFT


def test_pause_resume_and_cancel_follow_the_table(ready):
    scheduling.campaign_schedule(campaign=ready)
    with pytest.raises(IllegalTransition):
        states.campaign_pause(campaign=ready)  # not sending yet
    transition(ready, Status.SENDING)  # what the delivery beat does
    states.campaign_pause(campaign=ready)
    assert Campaign.objects.get(pk=ready.pk).status == Status.PAUSED
    lifecycle.campaign_resume(campaign=ready)
    assert Campaign.objects.get(pk=ready.pk).status == Status.SENDING
    states.campaign_cancel(campaign=ready)
    ready.refresh_from_db()
    assert ready.status == Status.CANCELLED and ready.finished_at is not None


def test_a_stale_copy_loses_to_the_move_that_happened_meanwhile(ready):
    scheduling.campaign_schedule(campaign=ready)
    stale = Campaign.objects.get(pk=ready.pk)
    transition(ready, Status.SENDING)
    with pytest.raises(IllegalTransition, match="changed meanwhile"):
        states.campaign_unschedule(campaign=stale)
    assert Campaign.objects.get(pk=ready.pk).status == Status.SENDING


@pytest.mark.django_db(transaction=True)
def test_two_processes_racing_for_the_same_move_cannot_both_win(topics):
    campaign = CampaignFactory(
        status=Status.SCHEDULED, topics=[topics["news"]], scheduled_at=timezone.now()
    )
    barrier = threading.Barrier(2)
    outcomes = []

    def race():
        mine = Campaign.objects.get(pk=campaign.pk)
        barrier.wait()
        try:
            transition(mine, Status.SENDING)
            outcomes.append("won")
        except IllegalTransition:
            outcomes.append("lost")
        finally:
            connection.close()

    threads = [threading.Thread(target=race) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["lost", "won"]
    assert Campaign.objects.get(pk=campaign.pk).status == Status.SENDING


def test_a_duplicate_is_a_new_draft_with_the_same_content_and_audience(ready, topics):
    ready.topics.add(topics["events"])
    transition(ready, Status.CANCELLED)
    copy = states.campaign_duplicate(campaign=ready)
    assert copy.pk != ready.pk and copy.status == Status.DRAFT
    assert copy.slug != ready.slug and copy.subject == ready.subject
    assert set(copy.topics.all()) == set(ready.topics.all())
    assert [i.post_id for i in copy.items.all()] == [i.post_id for i in ready.items.all()]
    assert copy.scheduled_at is None and copy.started_at is None


def test_the_audience_counts_active_subscribers_with_a_matching_topic_once(topics):
    campaign = CampaignFactory(topics=[topics["news"], topics["events"]])
    SubscriberFactory(active=True, topics=[topics["news"], topics["events"]])  # counted once
    SubscriberFactory(active=True, topics=[topics["events"]])
    SubscriberFactory(active=True, topics=[topics["education"]])  # other topic
    SubscriberFactory(topics=[topics["news"]])  # pending
    SubscriberFactory(unsubscribed=True, topics=[topics["news"]])
    SubscriberFactory(status="bounced", topics=[topics["news"]])
    SubscriberFactory(status="complained", topics=[topics["news"]])
    SubscriberFactory(active=True, suppressed_at=timezone.now(), topics=[topics["news"]])
    assert audience_count(campaign).in_topics == 2
