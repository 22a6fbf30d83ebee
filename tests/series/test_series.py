"""The welcome series through real Celery workers, Redis, PostgreSQL and an SMTP server on
loopback. The test process plays beat: it runs the series tick at a moment it names (the delays
are days long; the tick takes `now`), and the delivery tick (sweeper) when a test needs it."""

import collections
import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from newsletter import delivery, series, tasks
from newsletter.models import Campaign, Delivery, Enrolment, SignupRequest, Subscriber
from newsletter.subscribers.tokens import confirm_url
from tests.campaign_runs import audience, due_campaign, per_recipient, tick_until_sent
from tests.factories import PostFactory, SubscriberFactory
from tests.series_runs import enrol, step_emails, welcome_series
from tests.support import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True), pytest.mark.timeout(240)]

LEASE_SECONDS = 10
WORKER_ENV = {"DELIVERY_LEASE_SECONDS": str(LEASE_SECONDS), "SEND_BATCH_SIZE": "50"}
DAY = timedelta(days=1)
MINUTE = timedelta(minutes=1)


@pytest.fixture(autouse=True)
def _short_leases(settings):
    # The sweeper runs here, in the test process, with the workers' lease.
    settings.DELIVERY_LEASE_SECONDS = LEASE_SECONDS
    settings.SEND_BATCH_SIZE = 50


def three_steps(**first):
    return welcome_series(
        {"subject": "Welcome to the charity", "preheader": "Glad you are here", **first},
        {"subject": "How we support people with ALS", "delay": 2, "delay_unit": "days"},
        {"subject": "Ways to get involved", "delay": 3, "delay_unit": "days"},
    )


def sign_up_and_confirm(client, topics, email: str) -> Subscriber:
    """A signup stored as the join form stores it, confirmed by opening and posting its link.
    (Not through the worker: a worker caches content type ids, which a transactional test's flush
    renumbers, so only a session's first worker-side signup could be audited.)"""
    SubscriberFactory(email=email, topics=[topics["news"]])
    signup = SignupRequest.objects.create(
        email=email, first_name="Wendy", topics=["news"], source="/join/", consent_version="x"
    )
    link = confirm_url(signup.pk).removeprefix(settings.SITE_URL)
    assert client.get(link).status_code == 200
    assert client.post(link).status_code == 200
    return Subscriber.objects.get(email=email, status=Subscriber.Status.ACTIVE)


def test_a_confirmed_signup_gets_step_one_once_step_two_after_its_delay_and_nothing_after_leaving(
    client, topics, celery_worker, sink
):
    welcome = three_steps()
    reader = sign_up_and_confirm(client, topics, "walker@example.org")
    now = timezone.now()

    assert series.run_due_steps(now) == 1
    [first] = step_emails(sink.wait_for(1), "Welcome to the charity")
    assert first.rcpt_tos == ["walker@example.org"]
    assert "This is step 1 of our welcome." in first.message.get_body(("plain",)).get_content()
    # The next ticks, the same minute and a day later, send nothing: step two is two days on.
    assert series.run_due_steps(now) == 0
    assert series.run_due_steps(now + DAY) == 0

    assert series.run_due_steps(now + 2 * DAY + MINUTE) == 1
    [second] = step_emails(sink.wait_for(2), "How we support people with ALS")
    assert second.rcpt_tos == ["walker@example.org"]

    # One click on the List-Unsubscribe link of step two.
    unsubscribe = re.search(r"<(https?://[^>]+)>", str(second.message["List-Unsubscribe"]))
    url = unsubscribe.group(1).removeprefix(settings.SITE_URL)
    assert client.post(url).status_code == 200

    assert series.run_due_steps(now + 10 * DAY) == 0
    enrolment = Enrolment.objects.get(series=welcome, subscriber=reader)
    assert (enrolment.status, enrolment.stopped_reason) == ("stopped", "unsubscribed")
    assert not Delivery.objects.filter(campaign__series_step__position=3).exists()
    assert per_recipient(sink.received) == {"walker@example.org": 2}


def test_each_step_email_carries_the_same_headers_as_a_campaign(topics, celery_worker, sink):
    [reader] = audience(topics, 1)
    post = PostFactory(topic=topics["education"], title="ALS and benign fasciculations")
    welcome_series({"subject": "Welcome", "posts": [post]})
    enrol([reader], timezone.now())
    series.run_due_steps()
    [step] = sink.wait_for(1)
    campaign = due_campaign(topics)
    tick_until_sent(campaign)
    [issue] = step_emails(sink.wait_for(2), campaign.subject)

    step, issue = step.message, issue.message
    assert sorted(step.keys()) == sorted(issue.keys())
    for name in ("List-Unsubscribe", "List-Unsubscribe-Post", "List-Id", "From", "To"):
        assert step[name] == issue[name], name
    assert step.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in step.iter_parts()] == ["text/plain", "text/html"]
    row = Delivery.objects.get(campaign__series_step__series__name="Welcome")
    assert (row.status, row.message_id) == ("sent", step["Message-ID"])
    # Its post is shown whatever topics the reader chose (they chose news).
    assert "ALS and benign fasciculations" in step.get_body(("plain",)).get_content()
    assert "ALS and benign fasciculations" in step.get_body(("html",)).get_content()


def test_re_joining_does_not_restart_the_series(client, topics, celery_worker, sink):
    welcome = three_steps()
    reader = sign_up_and_confirm(client, topics, "again@example.org")
    now = timezone.now()
    series.run_due_steps(now)
    sink.wait_for(1)
    Subscriber.objects.filter(pk=reader.pk).update(
        status=Subscriber.Status.UNSUBSCRIBED, unsubscribed_at=now
    )
    series.run_due_steps(now)

    # Back again, by a new signup confirmed like the first.
    again = SignupRequest.objects.create(
        email=reader.email, topics=["news"], source="/join/", consent_version="x"
    )
    assert client.post(confirm_url(again.pk).removeprefix(settings.SITE_URL)).status_code == 200
    assert Subscriber.objects.get(pk=reader.pk).status == Subscriber.Status.ACTIVE
    for days in (0, 3, 6, 12):
        assert series.run_due_steps(now + 7 * DAY + days * DAY) == 0
    assert Enrolment.objects.get(series=welcome, subscriber=reader).status == "stopped"
    welcomes = step_emails(sink.received, "Welcome to the charity")
    assert len(welcomes) == 1 and len(sink.received) == 1


def test_a_paused_series_due_step_waits_and_goes_when_resumed(topics, celery_worker, sink):
    [reader] = audience(topics, 1)
    welcome = three_steps()
    now = timezone.now()
    enrol([reader], now)
    series.run_due_steps(now)
    sink.wait_for(1)

    series.series_pause(series=welcome)
    assert series.run_due_steps(now + 2 * DAY + MINUTE) == 0
    assert set(
        Campaign.objects.filter(series_step__series=welcome).values_list("status", flat=True)
    ) == {"paused"}
    assert len(sink.received) == 1

    series.series_activate(series=welcome)
    assert series.run_due_steps(now + 2 * DAY + 2 * MINUTE) == 1
    [second] = step_emails(sink.wait_for(2), "How we support people with ALS")
    assert second.rcpt_tos == [reader.email]


def test_rows_written_before_a_pause_are_held_and_sent_after_resuming(
    topics, celery_worker, sink, settings
):
    settings.DELIVERY_LEASE_SECONDS = 300  # so a hold (lease ended now) is seen
    readers = audience(topics, 3)
    welcome = three_steps()
    now = timezone.now()
    enrol(readers, now)
    # The rows are written and the series paused before their batch task is queued.
    with transaction.atomic():
        assert series.run_due_steps(now) == 3
        series.series_pause(series=welcome)
    wait_until(
        lambda: Delivery.objects.filter(lease_expires_at__lte=timezone.now()).count() == 3,
        60,
        message="the batch to hold its rows",
    )
    assert sink.received == []
    assert set(Delivery.objects.values_list("status", flat=True)) == {"queued"}

    series.series_activate(series=welcome)
    received = sink.wait_for(3)
    assert per_recipient(received) == {reader.email: 1 for reader in readers}
    delivery.finish_campaigns()  # a series' campaign never finishes
    assert not Campaign.objects.filter(status="sent").exists()


def test_a_worker_killed_mid_series_loses_nothing(topics, sink, start_worker):
    doomed = start_worker(extra_env=WORKER_ENV, concurrency=2)
    readers = audience(topics, 800)
    three_steps()
    now = timezone.now()
    enrol(readers, now)

    assert series.run_due_steps(now) == 800
    wait_until(lambda: len(sink.received) >= 100, 60, message="step one to be under way")
    doomed.kill()
    assert len(sink.received) < 800, "the kill came too late to prove anything"
    start_worker(extra_env=WORKER_ENV)

    def step_one_done():
        tasks.tick()  # the sweeper hands the dead worker's rows to new tasks
        return not Delivery.objects.filter(status__in=["queued", "sending"]).exists()

    wait_until(step_one_done, 120, interval=0.5, message="step one to be sent")
    first = per_recipient(step_emails(sink.received, "Welcome to the charity"))
    assert set(first) == {reader.email for reader in readers}
    assert sum(count - 1 for count in first.values()) <= doomed.concurrency

    before = len(sink.received)
    assert series.run_due_steps(now + 2 * DAY + MINUTE) == 800
    sink.wait_for(before + 800)
    second = per_recipient(step_emails(sink.received, "How we support people with ALS"))
    assert second == collections.Counter({reader.email: 1 for reader in readers})
